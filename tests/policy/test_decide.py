from __future__ import annotations

import pytest

from ramparts.domain.enums import DeliveryAction, DeliveryLocation, EmailAction, EmailActionPolicy, PolicyAction
from ramparts.domain.verdicts import Verdict
from ramparts.policy.decide import decide
from ramparts.policy.presets import DEFAULT, STANDARD, STRICT, ThreatPolicy, custom_policy

Q = DeliveryLocation.QUARANTINE
J = DeliveryLocation.JUNK
N = DeliveryLocation.INBOX


@pytest.mark.parametrize(
    ("verdict", "standard", "strict"),
    [
        (Verdict.MALWARE, Q, Q),
        (Verdict.HIGH_CONFIDENCE_PHISH, Q, Q),
        (Verdict.PHISH, Q, Q),
        (Verdict.HIGH_CONFIDENCE_SPAM, Q, Q),
        (Verdict.SPAM, J, Q),
        (Verdict.JUNK, J, J),
        (Verdict.DELETED, DeliveryLocation.DELETED_ITEMS, DeliveryLocation.DELETED_ITEMS),
        (Verdict.CLEAN, N, N),
    ],
)
def test_preset_locations_follow_the_documented_table(
    verdict: Verdict, standard: DeliveryLocation, strict: DeliveryLocation
) -> None:
    assert decide(verdict, STANDARD).delivery_location is standard
    assert decide(verdict, STRICT).delivery_location is strict


def test_quarantine_policy_names_per_preset() -> None:
    assert decide(Verdict.HIGH_CONFIDENCE_PHISH, STANDARD).quarantine_tag == "AdminOnlyAccessPolicy"
    assert decide(Verdict.MALWARE, STRICT).quarantine_tag == "AdminOnlyAccessPolicy"
    assert decide(Verdict.PHISH, STANDARD).quarantine_tag == "DefaultFullAccessWithNotificationPolicy"
    assert decide(Verdict.HIGH_CONFIDENCE_SPAM, STANDARD).quarantine_tag == "DefaultFullAccessWithNotificationPolicy"
    assert decide(Verdict.SPAM, STRICT).quarantine_tag == "DefaultFullAccessWithNotificationPolicy"
    assert decide(Verdict.SPAM, STANDARD).quarantine_tag == ""


def test_bulk_threshold_differs_between_presets() -> None:
    standard = decide(Verdict.CLEAN, STANDARD, bulk_complaint_level=6)
    strict_five = decide(Verdict.CLEAN, STRICT, bulk_complaint_level=5)
    standard_five = decide(Verdict.CLEAN, STANDARD, bulk_complaint_level=5)
    assert standard.bulk and standard.delivery_location is J
    assert standard.email_action_policy == EmailActionPolicy.ANTISPAM_BULK.value
    assert standard.quarantine_type == "Bulk"
    assert strict_five.bulk and strict_five.delivery_location is Q
    assert not standard_five.bulk and standard_five.delivery_location is N
    assert decide(Verdict.CLEAN, DEFAULT, bulk_complaint_level=6).delivery_location is N


def test_spoof_and_impersonation_use_their_own_actions() -> None:
    spoof = EmailActionPolicy.ANTIPHISH_SPOOF.value
    assert decide(Verdict.PHISH, STANDARD, family=spoof).delivery_location is J
    assert decide(Verdict.PHISH, STRICT, family=spoof).delivery_location is Q
    user = EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION.value
    assert decide(Verdict.PHISH, STANDARD, family=user).delivery_location is Q
    assert decide(Verdict.PHISH, DEFAULT, family=user).delivery_location is N


def test_delivery_fields_are_consistent() -> None:
    quarantined = decide(Verdict.MALWARE, STANDARD)
    assert quarantined.delivery_action is DeliveryAction.BLOCKED
    assert quarantined.email_action.value == "Send to quarantine"
    assert quarantined.email_action_policy == "Antimalware"
    assert quarantined.policy_type == "AntiMalwarePolicy"
    assert quarantined.quarantine_type == "Malware"
    junked = decide(Verdict.SPAM, STANDARD)
    assert junked.delivery_action is DeliveryAction.JUNKED
    assert junked.action is PolicyAction.MOVE_TO_JMF
    assert junked.email_action.value == "Moved to Junk folder"
    clean = decide(Verdict.CLEAN, STANDARD)
    assert clean.delivery_action is DeliveryAction.DELIVERED
    assert clean.email_action.value == "No action taken"


SPOOF = EmailActionPolicy.ANTIPHISH_SPOOF.value


@pytest.mark.parametrize("policy", [STANDARD, STRICT, DEFAULT], ids=["standard", "strict", "default"])
def test_honoured_dmarc_reject_blocks_and_quarantine_quarantines(policy: ThreatPolicy) -> None:
    rejected = decide(Verdict.PHISH, policy, family=SPOOF, dmarc_policy="reject")
    assert rejected.action is PolicyAction.REJECT
    assert (rejected.delivery_action, rejected.delivery_location) == (DeliveryAction.BLOCKED, DeliveryLocation.DROPPED)
    assert rejected.email_action is EmailAction.REJECT
    assert rejected.email_action_policy == SPOOF
    quarantined = decide(Verdict.PHISH, policy, family=SPOOF, dmarc_policy="quarantine")
    assert quarantined.delivery_location is Q
    assert quarantined.quarantine_tag == (policy.spoof.quarantine_tag or "DefaultFullAccessPolicy")
    # rspamd calls a p=quarantine failure spam: honoured all the same
    assert decide(Verdict.SPAM, policy, family=SPOOF, dmarc_policy="quarantine").delivery_location is Q


def test_dmarc_policy_is_honoured_only_for_spoofs_with_an_enforcing_record() -> None:
    assert decide(Verdict.PHISH, STANDARD, family=SPOOF, dmarc_policy="none").delivery_location is J
    assert decide(Verdict.PHISH, STANDARD, family=SPOOF).delivery_location is J
    user = EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION.value
    assert decide(Verdict.PHISH, STANDARD, family=user, dmarc_policy="reject").delivery_location is Q
    assert decide(Verdict.MALWARE, STANDARD, family=SPOOF, dmarc_policy="reject").delivery_location is Q


def test_custom_policy_can_stop_honouring_dmarc_or_soften_its_actions() -> None:
    ignoring = custom_policy("Lenient", "g1", {"honor_dmarc_policy": False})
    assert decide(Verdict.PHISH, ignoring, family=SPOOF, dmarc_policy="reject").delivery_location is J
    softer = custom_policy(
        "Softer", "g2", {"dmarc_reject_action": "Quarantine", "dmarc_quarantine_action": "MoveToJmf"}
    )
    assert decide(Verdict.PHISH, softer, family=SPOOF, dmarc_policy="reject").delivery_location is Q
    assert decide(Verdict.PHISH, softer, family=SPOOF, dmarc_policy="quarantine").delivery_location is J
