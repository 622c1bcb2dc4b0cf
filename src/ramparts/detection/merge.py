"""Merging the native engines' verdicts on one message into the one that acts. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ramparts.detection.engine import EngineVerdict
from ramparts.domain.verdicts import Verdict, most_serious, threat_types

# An allow entry never lets these through, as in Defender.
_ALLOW_CANNOT_OVERRIDE = {Verdict.MALWARE, Verdict.HIGH_CONFIDENCE_PHISH}


@dataclass(frozen=True, slots=True)
class MergedVerdict:
    verdict: Verdict
    family: str
    """EmailActionPolicy value of the engine verdict that decided."""
    threat_types: str
    threat_names: tuple[str, ...]
    detection_methods: dict[str, list[str]]
    confidence_level: dict[str, str]
    bulk_complaint_level: int | None
    authentication: dict[str, str]
    org_level_action: str = ""
    org_level_policy: str = ""
    gaps: tuple[str, ...] = ()
    attachment_verdicts: dict[str, Verdict] = field(default_factory=dict)
    dmarc_policy: str = ""
    """The enforcing DMARC policy (quarantine/reject) an engine saw fail, for the policy's HonorDmarcPolicy."""


def merge(verdicts: Sequence[EngineVerdict]) -> MergedVerdict:
    judged = [v for v in verdicts if not v.error]
    gaps = tuple(f"{v.engine}: {v.error}" for v in verdicts if v.error)
    worst = most_serious(v.verdict for v in judged)
    deciding = next((v for v in judged if v.verdict is worst and worst is not Verdict.CLEAN), None)

    org_action = org_policy = ""
    if any(v.override == "allow" for v in judged) and worst not in _ALLOW_CANNOT_OVERRIDE:
        worst, deciding = Verdict.CLEAN, None
        org_action, org_policy = "Allow", "Tenant allow list"
    elif any(v.override == "block" for v in judged):
        org_action, org_policy = "Block", "Tenant block list"

    threatening = [v for v in judged if v.verdict.threat_type] if worst is not Verdict.CLEAN else []
    methods: dict[str, list[str]] = {}
    for v in threatening:
        for threat, technologies in v.detection_methods.items():
            bucket = methods.setdefault(threat, [])
            bucket.extend(t for t in technologies if t not in bucket)
    names: list[str] = []
    for v in threatening:
        names.extend(n for n in v.threat_names if n not in names)

    scl_values = [v.spam_confidence_level for v in judged if v.spam_confidence_level is not None]
    confidence: dict[str, str] = {}
    if any(v.verdict in (Verdict.PHISH, Verdict.HIGH_CONFIDENCE_PHISH) for v in threatening):
        confidence["Phish"] = "High" if worst is Verdict.HIGH_CONFIDENCE_PHISH else "Normal"
    if scl_values:
        confidence["Spam"] = str(max(scl_values))
    elif worst is not Verdict.CLEAN:
        confidence["Spam"] = {Verdict.HIGH_CONFIDENCE_SPAM: "9", Verdict.SPAM: "5"}.get(worst, "1")
    bcl_values = [v.bulk_complaint_level for v in judged if v.bulk_complaint_level is not None]
    auth: dict[str, str] = {}
    for v in judged:
        for key, value in v.authentication.items():
            auth.setdefault(key, value)
    attachments: dict[str, Verdict] = {}
    for v in judged:
        for digest, file_verdict in v.attachment_verdicts.items():
            attachments[digest] = most_serious((attachments.get(digest, Verdict.CLEAN), file_verdict))
    return MergedVerdict(
        verdict=worst,
        family=deciding.policy_family if deciding else "",
        threat_types=threat_types(v.verdict for v in threatening),
        threat_names=tuple(names),
        detection_methods=methods,
        confidence_level=confidence,
        bulk_complaint_level=max(bcl_values) if bcl_values else None,
        authentication=auth,
        org_level_action=org_action,
        org_level_policy=org_policy,
        gaps=gaps,
        attachment_verdicts=attachments,
        dmarc_policy=next((v.dmarc_policy for v in judged if v.dmarc_policy), ""),
    )
