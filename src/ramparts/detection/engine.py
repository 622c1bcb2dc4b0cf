"""The interface every detection engine implements, and the verdict it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage


@dataclass(frozen=True, slots=True)
class TenantContext:
    """What an engine may know about the receiving tenant, read once per message."""

    tenant_id: str
    accepted_domains: tuple[str, ...]
    users: tuple[tuple[str, str], ...] = ()
    """(display name, address) of the tenant's own users, for impersonation checks."""
    allowed_senders: tuple[str, ...] = ()
    blocked_senders: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    blocked_urls: tuple[str, ...] = ()
    allowed_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EngineVerdict:
    """One engine's judgement of one message (all recipients alike)."""

    engine: str
    verdict: Verdict
    confidence: float
    """0.0 to 1.0."""
    threat_names: tuple[str, ...] = ()
    explanation: str = ""
    detection_methods: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Threat type ("Phish", "Malware", "Spam") -> Defender technology labels."""
    bulk_complaint_level: int | None = None
    spam_confidence_level: int | None = None
    """SCL: -1 skipped, 0-1 not spam, 5-6 spam, 9 high-confidence spam."""
    authentication: dict[str, str] = field(default_factory=dict)
    """SPF / DKIM / DMARC / CompAuth -> result word, when the engine checked them."""
    policy_family: str = ""
    """EmailActionPolicy value that this verdict belongs to (Antimalware, Antispam phishing, ...)."""
    dmarc_policy: str = ""
    """"quarantine" or "reject" when the engine saw DMARC fail for a From domain whose record asks for that."""
    attachment_verdicts: dict[str, Verdict] = field(default_factory=dict)
    """sha256 -> verdict for attachments the engine judged."""
    override: str = ""
    """Set when a tenant allow list decided: 'allow' or 'block'."""
    error: str = ""
    """Non-empty when the engine could not judge (unreachable, timed out); verdict is then Clean."""


class Engine(Protocol):
    """A detection engine. Engines must not raise for bad input; they return a verdict with error set."""

    name: str

    async def evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict: ...
