from __future__ import annotations

from ramparts.detection.engine import EngineVerdict
from ramparts.detection.merge import merge
from ramparts.domain.verdicts import Verdict


def verdict(engine: str, v: Verdict, **kw: object) -> EngineVerdict:
    return EngineVerdict(engine, v, 0.9, **kw)  # type: ignore[arg-type]


def test_most_serious_engine_decides_and_methods_are_merged() -> None:
    merged = merge(
        [
            verdict(
                "builtin",
                Verdict.SPAM,
                detection_methods={"Spam": ("Mixed analysis detection",)},
                spam_confidence_level=5,
                policy_family="Antispam",
            ),
            verdict(
                "rspamd",
                Verdict.PHISH,
                detection_methods={"Phish": ("URL malicious reputation",)},
                threat_names=("PHISHING",),
                policy_family="Antispam phishing",
            ),
        ]
    )
    assert merged.verdict is Verdict.PHISH
    assert merged.family == "Antispam phishing"
    assert merged.threat_types == "Phish, Spam"
    assert merged.detection_methods == {"Spam": ["Mixed analysis detection"], "Phish": ["URL malicious reputation"]}
    assert merged.confidence_level == {"Phish": "Normal", "Spam": "5"}
    assert merged.threat_names == ("PHISHING",)


def test_allow_list_cannot_release_malware_but_can_release_spam() -> None:
    spam = merge([verdict("builtin", Verdict.SPAM, override="allow")])
    assert spam.verdict is Verdict.CLEAN
    assert spam.org_level_action == "Allow"
    assert spam.threat_types == ""
    malware = merge([verdict("builtin", Verdict.MALWARE, override="allow")])
    assert malware.verdict is Verdict.MALWARE


def test_engine_errors_are_gaps_not_verdicts() -> None:
    merged = merge(
        [
            verdict("builtin", Verdict.CLEAN, bulk_complaint_level=2),
            EngineVerdict("rspamd", Verdict.CLEAN, 0.0, error="unreachable"),
        ]
    )
    assert merged.verdict is Verdict.CLEAN
    assert merged.gaps == ("rspamd: unreachable",)
    assert merged.bulk_complaint_level == 2
    assert merged.detection_methods == {}


def test_attachment_verdicts_keep_the_worst() -> None:
    merged = merge(
        [
            verdict("a", Verdict.SPAM, attachment_verdicts={"abc": Verdict.SPAM}),
            verdict("b", Verdict.MALWARE, attachment_verdicts={"abc": Verdict.MALWARE}),
        ]
    )
    assert merged.attachment_verdicts == {"abc": Verdict.MALWARE}
    assert merged.confidence_level["Spam"] == "1"


def test_enforcing_dmarc_policy_comes_from_an_engine_that_judged() -> None:
    failed = verdict("rspamd", Verdict.CLEAN, error="timed out", dmarc_policy="quarantine")
    builtin = verdict("builtin", Verdict.PHISH, policy_family="Anti-phishing spoof", dmarc_policy="reject")
    assert merge([failed, builtin]).dmarc_policy == "reject"
    assert merge([failed, verdict("builtin", Verdict.CLEAN)]).dmarc_policy == ""
