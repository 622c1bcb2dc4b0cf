from __future__ import annotations

import pytest

from ramparts.domain.verdicts import VERDICT_ORDER, Verdict, most_serious, threat_types


def test_order_is_the_documented_one() -> None:
    assert [v.value for v in VERDICT_ORDER] == [
        "Malware",
        "High confidence phishing",
        "Phishing",
        "High confidence spam",
        "Spam",
        "Deleted",
        "Junk",
        "Clean",
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([Verdict.CLEAN, Verdict.SPAM], Verdict.SPAM),
        ([Verdict.JUNK, Verdict.DELETED], Verdict.DELETED),
        ([Verdict.PHISH, Verdict.HIGH_CONFIDENCE_SPAM], Verdict.PHISH),
        ([Verdict.HIGH_CONFIDENCE_PHISH, Verdict.MALWARE, Verdict.CLEAN], Verdict.MALWARE),
        ([], Verdict.CLEAN),
    ],
)
def test_most_serious_wins(given: list[Verdict], expected: Verdict) -> None:
    assert most_serious(given) is expected


def test_threat_types_in_defender_form() -> None:
    assert threat_types([Verdict.SPAM, Verdict.PHISH, Verdict.CLEAN]) == "Phish, Spam"
    assert threat_types([Verdict.HIGH_CONFIDENCE_PHISH, Verdict.PHISH]) == "Phish"
    assert threat_types([Verdict.JUNK]) == ""


@pytest.mark.parametrize("text", ["phishing", "Phishing", "PHISH", "phish", " Phishing "])
def test_parse_accepts_names_and_values(text: str) -> None:
    assert Verdict.parse(text) is Verdict.PHISH


def test_parse_rejects_unknown_with_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of: Malware"):
        Verdict.parse("dangerous")
