from __future__ import annotations

import pytest

from ramparts.domain.enums import PolicyAction
from ramparts.errors import InvalidInput
from ramparts.policy.presets import STANDARD, STRICT, custom_policy


def test_standard_and_strict_differ_where_documented() -> None:
    differences = {key for key, value in STANDARD.to_settings().items() if STRICT.to_settings()[key] != value}
    assert differences == {
        "spam_action",
        "spam_quarantine_tag",
        "bulk_action",
        "bulk_quarantine_tag",
        "spoof_action",
        "spoof_quarantine_tag",
        "bulk_threshold",
    }
    assert (STANDARD.bulk_threshold, STRICT.bulk_threshold) == (6, 5)


def test_custom_policy_overrides_by_name() -> None:
    policy = custom_policy("Finance", "guid-1", {"spam_action": "Quarantine", "bulk_threshold": 4})
    assert policy.kind == "custom"
    assert policy.spam.action is PolicyAction.QUARANTINE
    assert policy.spam.quarantine_tag == "DefaultFullAccessPolicy"
    assert policy.bulk_threshold == 4
    assert policy.phish == STANDARD.phish


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"malware_action": "MoveToJmf"}, "malware_action"),
        ({"high_confidence_phish_action": "NoAction"}, "high_confidence_phish_action"),
        ({"spam_action": "Explode"}, "spam_action"),
        ({"spam_quarantine_tag": "Nope"}, "spam_quarantine_tag"),
        ({"bulk_threshold": 12}, "bulk_threshold"),
        ({"colour": "blue"}, "colour"),
        ({"dmarc_reject_action": "MoveToJmf"}, "dmarc_reject_action"),
        ({"dmarc_quarantine_action": "Reject"}, "dmarc_quarantine_action"),
        ({"honor_dmarc_policy": "no"}, "honor_dmarc_policy"),
        ({"spam_zap": "false"}, "spam_zap"),
    ],
)
def test_custom_policy_rejects_bad_settings_naming_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        custom_policy("x", "g", settings)
    assert caught.value.field == field


def test_dmarc_settings_are_in_the_flat_view_and_alike_in_every_preset() -> None:
    for preset in (STANDARD, STRICT):
        settings = preset.to_settings()
        assert settings["honor_dmarc_policy"] is True
        assert (settings["dmarc_quarantine_action"], settings["dmarc_reject_action"]) == ("Quarantine", "Reject")
    custom = custom_policy("x", "g", {"dmarc_reject_action": "Quarantine", "honor_dmarc_policy": False})
    assert custom.dmarc_reject_action is PolicyAction.QUARANTINE
    assert custom.honor_dmarc_policy is False
