"""What each builtin check reports: findings, and the Defender vocabulary they are written in."""

from __future__ import annotations

from dataclasses import dataclass

from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict


class Technology:
    """Detection technology labels, spelled as Threat Explorer and DetectionMethods spell them."""

    ADVANCED_FILTER = "Advanced filter"
    ANTIMALWARE = "Antimalware protection"
    BULK = "Bulk"
    DOMAIN_REPUTATION = "Domain reputation"
    FILE_REPUTATION = "File reputation"
    GENERAL_FILTER = "General filter"
    IMPERSONATION_DOMAIN = "Impersonation domain"
    IMPERSONATION_USER = "Impersonation user"
    MIXED_ANALYSIS = "Mixed analysis detection"
    SPOOF_DMARC = "Spoof DMARC"
    SPOOF_EXTERNAL = "Spoof external domain"
    SPOOF_INTRA_ORG = "Spoof intra-org"
    URL_MALICIOUS_REPUTATION = "URL malicious reputation"


@dataclass(frozen=True, slots=True)
class Finding:
    """One signal that fired, with the verdict it argues for."""

    verdict: Verdict
    technology: str
    policy_family: EmailActionPolicy
    reason: str
    """A readable sentence for the explanation."""
    threat_name: str = ""
    confidence: float = 0.8
    override: str = ""
    """'allow' or 'block' for tenant list entries."""
    scl: int | None = None


def allow(reason: str, family: EmailActionPolicy = EmailActionPolicy.ANTISPAM) -> Finding:
    """A tenant allow entry: no verdict of its own, only the override."""
    return Finding(Verdict.CLEAN, "", family, reason, override="allow", confidence=1.0)
