"""The preset threat policies, with the values Defender documents for Standard, Strict and default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ramparts.domain.enums import PolicyAction, QuarantinePolicyName
from ramparts.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class VerdictAction:
    action: PolicyAction
    quarantine_tag: str = ""


def _move() -> VerdictAction:
    return VerdictAction(PolicyAction.MOVE_TO_JMF)


def _quarantine(tag: QuarantinePolicyName) -> VerdictAction:
    return VerdictAction(PolicyAction.QUARANTINE, tag.value)


_ADMIN = QuarantinePolicyName.ADMIN_ONLY
_FULL = QuarantinePolicyName.FULL_ACCESS
_NOTIFY = QuarantinePolicyName.FULL_ACCESS_WITH_NOTIFICATION


@dataclass(frozen=True, slots=True)
class ThreatPolicy:
    """One recipient's effective settings across anti-spam, anti-phishing and anti-malware."""

    name: str
    guid: str
    kind: str
    """preset, custom or default."""
    spam: VerdictAction
    high_confidence_spam: VerdictAction
    phish: VerdictAction
    high_confidence_phish: VerdictAction
    bulk: VerdictAction
    spoof: VerdictAction
    user_impersonation: VerdictAction
    domain_impersonation: VerdictAction
    malware: VerdictAction
    bulk_threshold: int
    quarantine_retention_days: int
    phish_zap: bool = True
    spam_zap: bool = True
    malware_zap: bool = True
    honor_dmarc_policy: bool = True
    """A spoof whose From domain publishes DMARC p=quarantine or p=reject gets the two actions below instead of
    the spoof action (Defender's HonorDmarcPolicy, on in every preset and the default policy)."""
    dmarc_quarantine_action: PolicyAction = PolicyAction.QUARANTINE
    """Quarantine or MoveToJmf; a quarantine uses the spoof action's quarantine tag."""
    dmarc_reject_action: PolicyAction = PolicyAction.REJECT
    """Reject or Quarantine."""

    def to_settings(self) -> dict[str, Any]:
        """Flat, JSON-ready view used by the configuration analyzer and the admin API."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, VerdictAction):
                out[f"{field.name}_action"] = value.action.value
                out[f"{field.name}_quarantine_tag"] = value.quarantine_tag
            elif isinstance(value, PolicyAction):
                out[field.name] = value.value
            elif field.name not in ("name", "guid", "kind"):
                out[field.name] = value
        return out


STANDARD = ThreatPolicy(
    name="Standard Preset Security Policy",
    guid="6f2b4f4e-0c8a-4f6a-9a6e-5d4a1d7c0001",
    kind="preset",
    spam=_move(),
    high_confidence_spam=_quarantine(_NOTIFY),
    phish=_quarantine(_NOTIFY),
    high_confidence_phish=_quarantine(_ADMIN),
    bulk=_move(),
    spoof=_move(),
    user_impersonation=_quarantine(_NOTIFY),
    domain_impersonation=_quarantine(_NOTIFY),
    malware=_quarantine(_ADMIN),
    bulk_threshold=6,
    quarantine_retention_days=30,
)

STRICT = dataclasses.replace(
    STANDARD,
    name="Strict Preset Security Policy",
    guid="6f2b4f4e-0c8a-4f6a-9a6e-5d4a1d7c0002",
    spam=_quarantine(_NOTIFY),
    bulk=_quarantine(_NOTIFY),
    spoof=_quarantine(_NOTIFY),
    bulk_threshold=5,
)

DEFAULT = ThreatPolicy(
    name="Default",
    guid="6f2b4f4e-0c8a-4f6a-9a6e-5d4a1d7c0000",
    kind="default",
    spam=_move(),
    high_confidence_spam=_move(),
    phish=_move(),
    high_confidence_phish=_quarantine(_ADMIN),
    bulk=_move(),
    spoof=_move(),
    user_impersonation=VerdictAction(PolicyAction.NO_ACTION),
    domain_impersonation=VerdictAction(PolicyAction.NO_ACTION),
    malware=_quarantine(_ADMIN),
    bulk_threshold=7,
    quarantine_retention_days=15,
)

PRESETS: dict[str, ThreatPolicy] = {"Standard": STANDARD, "Strict": STRICT, "Default": DEFAULT}

_ACTION_FIELDS = {f.name for f in dataclasses.fields(ThreatPolicy) if f.type in ("VerdictAction", VerdictAction)}
_ALWAYS_QUARANTINED = {"malware", "high_confidence_phish"}
_DMARC_ACTIONS = {
    "dmarc_quarantine_action": (PolicyAction.QUARANTINE, PolicyAction.MOVE_TO_JMF),
    "dmarc_reject_action": (PolicyAction.REJECT, PolicyAction.QUARANTINE),
}


def custom_policy(name: str, guid: str, settings: dict[str, Any], base: ThreatPolicy = STANDARD) -> ThreatPolicy:
    """A custom policy: the base preset with the given settings replaced.

    Settings use the flat names of ThreatPolicy.to_settings(), e.g. {"spam_action": "Quarantine",
    "spam_quarantine_tag": "DefaultFullAccessPolicy", "bulk_threshold": 5}. Malware and high confidence
    phishing stay quarantined whatever a custom policy says, as in Defender.
    """
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key.endswith("_action") and key.removesuffix("_action") in _ACTION_FIELDS:
            field = key.removesuffix("_action")
            if field in _ALWAYS_QUARANTINED and value != PolicyAction.QUARANTINE.value:
                raise InvalidInput(f"{field} messages are always quarantined", field=key)
            try:
                action = PolicyAction(value)
            except ValueError:
                choices = ", ".join(a.value for a in PolicyAction)
                raise InvalidInput(f"unknown action {value!r}; expected one of {choices}", field=key) from None
            current = changes.get(field, getattr(base, field))
            tag = current.quarantine_tag or (_FULL.value if action is PolicyAction.QUARANTINE else "")
            changes[field] = VerdictAction(action, tag)
        elif key.endswith("_quarantine_tag") and key.removesuffix("_quarantine_tag") in _ACTION_FIELDS:
            field = key.removesuffix("_quarantine_tag")
            if value not in {q.value for q in QuarantinePolicyName}:
                raise InvalidInput(f"unknown quarantine policy {value!r}", field=key)
            current = changes.get(field, getattr(base, field))
            changes[field] = VerdictAction(current.action, value)
        elif key == "bulk_threshold":
            if not isinstance(value, int) or not 1 <= value <= 9:
                raise InvalidInput("bulk_threshold must be an integer from 1 to 9", field=key)
            changes[key] = value
        elif key == "quarantine_retention_days":
            if not isinstance(value, int) or not 1 <= value <= 30:
                raise InvalidInput("quarantine_retention_days must be an integer from 1 to 30", field=key)
            changes[key] = value
        elif key in ("phish_zap", "spam_zap", "malware_zap", "honor_dmarc_policy"):
            if not isinstance(value, bool):
                raise InvalidInput(f"{key} must be true or false", field=key)
            changes[key] = value
        elif key in _DMARC_ACTIONS:
            allowed = _DMARC_ACTIONS[key]
            if value not in {a.value for a in allowed}:
                choices = " or ".join(a.value for a in allowed)
                raise InvalidInput(f"{key} must be {choices}", field=key)
            changes[key] = PolicyAction(value)
        else:
            raise InvalidInput(f"unknown policy setting {key!r}", field=key)
    return dataclasses.replace(base, name=name, guid=guid, kind="custom", **changes)
