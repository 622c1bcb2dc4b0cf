from __future__ import annotations

import pytest

from ramparts.domain.verdicts import Verdict
from ramparts.vendors.names import parse_verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("High confidence phishing", Verdict.HIGH_CONFIDENCE_PHISH),
        ("highConfidencePhish", Verdict.HIGH_CONFIDENCE_PHISH),
        ("HIGH_CONFIDENCE_PHISH", Verdict.HIGH_CONFIDENCE_PHISH),
        ("phish", Verdict.PHISH),
        ("Phishing", Verdict.PHISH),
        ("highConfidenceSpam", Verdict.HIGH_CONFIDENCE_SPAM),
        ("malware", Verdict.MALWARE),
        ("notSpam", Verdict.CLEAN),
        ("clean", Verdict.CLEAN),
        ("junk", Verdict.JUNK),
        ("Deleted", Verdict.DELETED),
    ],
)
def test_display_member_and_camel_case_names(text: str, verdict: Verdict) -> None:
    assert parse_verdict(text) is verdict


def test_unknown_names_list_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown verdict 'bad'; allowed: Malware, High confidence phishing, .*Clean"):
        parse_verdict("bad")
