"""The verdict vocabulary and the one precedence rule that turns many verdicts into one."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Verdict(enum.StrEnum):
    """A verdict on one message copy, as Defender names them; declared most serious first."""

    MALWARE = "Malware"
    HIGH_CONFIDENCE_PHISH = "High confidence phishing"
    PHISH = "Phishing"
    HIGH_CONFIDENCE_SPAM = "High confidence spam"
    SPAM = "Spam"
    DELETED = "Deleted"
    JUNK = "Junk"
    CLEAN = "Clean"

    @property
    def severity(self) -> int:
        """Higher is more serious; Clean is 0."""
        return _SEVERITY[self]

    @property
    def threat_type(self) -> str:
        """The ThreatTypes token this verdict contributes ("" for none)."""
        return _THREAT_TYPE[self]

    @classmethod
    def parse(cls, text: str) -> Verdict:
        """Accept the display name or the member name, any case ("phishing", "HIGH_CONFIDENCE_PHISH")."""
        key = text.strip().casefold().replace("_", " ").replace("-", " ")
        for verdict in cls:
            if key in (verdict.value.casefold(), verdict.name.casefold().replace("_", " ")):
                return verdict
        raise ValueError(f"unknown verdict {text!r}; expected one of: {', '.join(v.value for v in cls)}")


VERDICT_ORDER: tuple[Verdict, ...] = tuple(Verdict)
_SEVERITY = {verdict: len(VERDICT_ORDER) - 1 - rank for rank, verdict in enumerate(VERDICT_ORDER)}
_THREAT_TYPE = {
    Verdict.MALWARE: "Malware",
    Verdict.HIGH_CONFIDENCE_PHISH: "Phish",
    Verdict.PHISH: "Phish",
    Verdict.HIGH_CONFIDENCE_SPAM: "Spam",
    Verdict.SPAM: "Spam",
    Verdict.DELETED: "",
    Verdict.JUNK: "",
    Verdict.CLEAN: "",
}


def most_serious(verdicts: Iterable[Verdict]) -> Verdict:
    """The most serious verdict of those given; Clean when there are none."""
    return max(verdicts, key=lambda v: v.severity, default=Verdict.CLEAN)


def threat_types(verdicts: Iterable[Verdict]) -> str:
    """Defender's ThreatTypes string: distinct threat families, most serious first, comma separated."""
    seen: list[str] = []
    for verdict in sorted(verdicts, key=lambda v: -v.severity):
        token = verdict.threat_type
        if token and token not in seen:
            seen.append(token)
    return ", ".join(seen)
