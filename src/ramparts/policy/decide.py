"""From a merged verdict and a recipient's policy to the delivery decision. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from ramparts.domain.enums import (
    DeliveryAction,
    DeliveryLocation,
    EmailAction,
    EmailActionPolicy,
    PolicyAction,
    QuarantinePolicyName,
)
from ramparts.domain.verdicts import Verdict
from ramparts.policy.presets import ThreatPolicy, VerdictAction

QUARANTINE_TYPES = {
    Verdict.MALWARE: "Malware",
    Verdict.HIGH_CONFIDENCE_PHISH: "HighConfPhish",
    Verdict.PHISH: "Phish",
    Verdict.HIGH_CONFIDENCE_SPAM: "Spam",
    Verdict.SPAM: "Spam",
}
POLICY_TYPES: dict[str, str] = {
    EmailActionPolicy.ANTIMALWARE: "AntiMalwarePolicy",
    EmailActionPolicy.SAFE_ATTACHMENTS: "SafeAttachmentPolicy",
    EmailActionPolicy.ANTIPHISH_SPOOF: "AntiPhishPolicy",
    EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION: "AntiPhishPolicy",
    EmailActionPolicy.ANTIPHISH_DOMAIN_IMPERSONATION: "AntiPhishPolicy",
    EmailActionPolicy.TRANSPORT_RULE: "ExchangeTransportRule",
}


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    action: PolicyAction
    quarantine_tag: str
    delivery_action: DeliveryAction
    delivery_location: DeliveryLocation
    email_action: EmailAction
    email_action_policy: str
    quarantine_type: str
    policy_type: str
    bulk: bool = False

    @property
    def quarantined(self) -> bool:
        return self.delivery_location is DeliveryLocation.QUARANTINE


DMARC_ENFORCING = ("quarantine", "reject")

_DELIVERED = (DeliveryAction.DELIVERED, DeliveryLocation.INBOX, EmailAction.NO_ACTION)
_OUTCOMES: dict[PolicyAction, tuple[DeliveryAction, DeliveryLocation, EmailAction]] = {
    PolicyAction.QUARANTINE: (DeliveryAction.BLOCKED, DeliveryLocation.QUARANTINE, EmailAction.SEND_TO_QUARANTINE),
    PolicyAction.MOVE_TO_JMF: (DeliveryAction.JUNKED, DeliveryLocation.JUNK, EmailAction.MOVE_TO_JUNK),
    PolicyAction.REJECT: (DeliveryAction.BLOCKED, DeliveryLocation.DROPPED, EmailAction.REJECT),
    PolicyAction.DELETE: (DeliveryAction.BLOCKED, DeliveryLocation.DROPPED, EmailAction.DELETE),
    PolicyAction.ADD_X_HEADER: (DeliveryAction.DELIVERED, DeliveryLocation.INBOX, EmailAction.ADD_X_HEADER),
    PolicyAction.MODIFY_SUBJECT: (DeliveryAction.DELIVERED, DeliveryLocation.INBOX, EmailAction.MODIFY_SUBJECT),
    PolicyAction.REDIRECT: (DeliveryAction.DELIVERED, DeliveryLocation.INBOX, EmailAction.REDIRECT),
}
"""Where each action leaves a copy: EmailEvents' DeliveryAction, DeliveryLocation and EmailAction."""


def _honored_dmarc(policy: ThreatPolicy, dmarc_policy: str) -> VerdictAction:
    action = policy.dmarc_reject_action if dmarc_policy == "reject" else policy.dmarc_quarantine_action
    if action is PolicyAction.QUARANTINE:
        return VerdictAction(action, policy.spoof.quarantine_tag or QuarantinePolicyName.FULL_ACCESS.value)
    return VerdictAction(action)


def _family_action(verdict: Verdict, family: str, policy: ThreatPolicy, bulk: bool) -> VerdictAction:
    if verdict is Verdict.MALWARE:
        return policy.malware
    if verdict is Verdict.HIGH_CONFIDENCE_PHISH:
        return policy.high_confidence_phish
    if verdict is Verdict.PHISH:
        by_family = {
            EmailActionPolicy.ANTIPHISH_SPOOF.value: policy.spoof,
            EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION.value: policy.user_impersonation,
            EmailActionPolicy.ANTIPHISH_DOMAIN_IMPERSONATION.value: policy.domain_impersonation,
        }
        return by_family.get(family, policy.phish)
    if verdict is Verdict.HIGH_CONFIDENCE_SPAM:
        return policy.high_confidence_spam
    if verdict is Verdict.SPAM:
        return policy.bulk if bulk else policy.spam
    if verdict is Verdict.JUNK:
        return VerdictAction(PolicyAction.MOVE_TO_JMF)
    if verdict is Verdict.DELETED:
        return VerdictAction(PolicyAction.DELETE)
    return VerdictAction(PolicyAction.NO_ACTION)


def _default_family(verdict: Verdict, bulk: bool) -> str:
    return {
        Verdict.MALWARE: EmailActionPolicy.ANTIMALWARE,
        Verdict.HIGH_CONFIDENCE_PHISH: EmailActionPolicy.ANTISPAM_PHISH,
        Verdict.PHISH: EmailActionPolicy.ANTISPAM_PHISH,
        Verdict.HIGH_CONFIDENCE_SPAM: EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE,
        Verdict.SPAM: EmailActionPolicy.ANTISPAM_BULK if bulk else EmailActionPolicy.ANTISPAM,
        Verdict.JUNK: EmailActionPolicy.ANTISPAM,
        Verdict.DELETED: EmailActionPolicy.ANTISPAM,
    }.get(verdict, EmailActionPolicy.ANTISPAM).value


def decide(
    verdict: Verdict,
    policy: ThreatPolicy,
    *,
    family: str = "",
    bulk_complaint_level: int | None = None,
    dmarc_policy: str = "",
) -> Decision:
    """The action for one recipient's copy.

    A Clean message whose bulk complaint level reaches the policy's threshold is handled as bulk spam,
    which is how the same BCL lands in the Junk folder under Standard and in quarantine under Strict.
    A spoof verdict (family Anti-phishing spoof) for a From domain whose failed DMARC record says
    p=quarantine or p=reject (`dmarc_policy`) takes the policy's DMARC actions when it honours DMARC.
    """
    bulk = False
    if verdict is Verdict.CLEAN and bulk_complaint_level is not None and bulk_complaint_level >= policy.bulk_threshold:
        verdict, bulk = Verdict.SPAM, True
    if verdict is Verdict.SPAM and family == EmailActionPolicy.ANTISPAM_BULK.value:
        bulk = True
    if verdict is Verdict.CLEAN:
        return Decision(
            verdict,
            PolicyAction.NO_ACTION,
            "",
            DeliveryAction.DELIVERED,
            DeliveryLocation.INBOX,
            EmailAction.NO_ACTION,
            "",
            "",
            "",
        )
    chosen = _family_action(verdict, family, policy, bulk)
    honored = (
        family == EmailActionPolicy.ANTIPHISH_SPOOF.value
        and policy.honor_dmarc_policy
        and dmarc_policy in DMARC_ENFORCING
        and verdict in (Verdict.PHISH, Verdict.HIGH_CONFIDENCE_SPAM, Verdict.SPAM, Verdict.JUNK)
    )
    if honored:
        chosen = _honored_dmarc(policy, dmarc_policy)
    family = family or _default_family(verdict, bulk)
    if bulk:
        family = EmailActionPolicy.ANTISPAM_BULK.value
    quarantine_type = "Bulk" if bulk else QUARANTINE_TYPES.get(verdict, "Spam")
    policy_type = POLICY_TYPES.get(family, "HostedContentFilterPolicy")
    delivery_action, location, email_action = _OUTCOMES.get(chosen.action, _DELIVERED)
    if chosen.action is PolicyAction.DELETE and verdict is Verdict.DELETED:
        delivery_action, location = DeliveryAction.JUNKED, DeliveryLocation.DELETED_ITEMS
    tag = chosen.quarantine_tag if chosen.action is PolicyAction.QUARANTINE else ""
    return Decision(
        verdict,
        chosen.action,
        tag,
        delivery_action,
        location,
        email_action,
        family,
        quarantine_type,
        policy_type,
        bulk,
    )
