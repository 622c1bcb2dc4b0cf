"""Permission names an app can hold; tokens carry them in the "roles" claim as Graph app tokens do."""

from __future__ import annotations

from typing import Final, Literal

THREAT_HUNTING_READ: Final = "ThreatHunting.Read.All"
ANALYZED_MESSAGE_READ: Final = "SecurityAnalyzedMessage.Read.All"
ANALYZED_MESSAGE_READ_WRITE: Final = "SecurityAnalyzedMessage.ReadWrite.All"
VERDICT_SUBMIT: Final = "Ices.Verdict.Submit"
QUARANTINE_READ_WRITE: Final = "Ramparts.Quarantine.ReadWrite"
"""Search, preview, release, delete and report quarantined mail of the app's tenant (Defender has no Graph
API for the quarantine; this is ramparts' own)."""
RISK_READ: Final = "Ramparts.Risk.Read"
"""Read the human-risk scores of the app's tenant's people (individual scores: grant it sparingly)."""
ADMIN: Final = "Ramparts.Admin"
"""The admin API behind the portal and the command line; never given to vendor apps."""

ALL_SCOPES: Final = frozenset(
    {
        THREAT_HUNTING_READ,
        ANALYZED_MESSAGE_READ,
        ANALYZED_MESSAGE_READ_WRITE,
        VERDICT_SUBMIT,
        QUARANTINE_READ_WRITE,
        RISK_READ,
        ADMIN,
    }
)

TENANT_APP_ONLY: Final = frozenset({QUARANTINE_READ_WRITE, RISK_READ})
"""Permissions that act within one tenant: only a tenant's apps may hold them (a vendor app has no tenant)."""

AppKind = Literal["tenant_app", "vendor", "admin"]
"""tenant_app: acts for one tenant; vendor: an ICES vendor serving many tenants; admin: the built-in
local administrator app (no tenant, Ramparts.Admin)."""

APP_KINDS: Final[tuple[AppKind, ...]] = ("tenant_app", "vendor", "admin")
