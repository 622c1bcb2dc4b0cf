"""What one vendor verdict does to one message copy: merge, then (maybe) a post-delivery action.

The copy's `verdict` column is the running merge of every verdict on it (engines at delivery, vendors
and admins after), so the new final verdict is most_serious(copy.verdict, vendor verdict): equal to
most_serious over all stored verdicts of the copy, without reading them back. Only a final verdict
more serious than the current one changes anything; then the recipient's policy decides where the
copy belongs (policy.decide), and the ZAP rules (delivery.zap.zap_plan) decide whether it may move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ramparts.delivery.zap import (
    TRIGGER_THIRD_PARTY,
    Context,
    CopyState,
    MessageFacts,
    RemediationResult,
    Skipped,
    execute,
    zap_plan,
)
from ramparts.domain.verdicts import Verdict, most_serious
from ramparts.mailflow.tenancy import TenantDirectory, TenantInfo
from ramparts.policy.decide import decide
from ramparts.services import Services

_DIRECTORY = "vendors.directory"


def tenant_directory(services: Services) -> TenantDirectory:
    found = services.extras.get(_DIRECTORY)
    if found is None:
        found = services.extras[_DIRECTORY] = TenantDirectory(services.sessions)
    assert isinstance(found, TenantDirectory)
    return found


def tenant_info(services: Services, tenant_id: str) -> TenantInfo:
    directory = tenant_directory(services)
    info = directory.by_name_or_id(tenant_id)
    if info is None:  # a tenant created since the directory was loaded
        directory.invalidate()
        info = directory.by_name_or_id(tenant_id)
    assert info is not None, f"tenant {tenant_id} of a stored message is unknown"
    return info


@dataclass(frozen=True, slots=True)
class CopyOutcome:
    """The result of one verdict on one copy, as the status route shows it."""

    recipient: str
    previous_verdict: str
    final_verdict: str
    changed: bool
    action: str
    action_result: str
    reason: str
    source_location: str
    delivery_location: str
    remediation: RemediationResult | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "previousVerdict": self.previous_verdict,
            "finalVerdict": self.final_verdict,
            "changedVerdict": self.changed,
            "action": self.action,
            "actionResult": self.action_result,
            "reason": self.reason,
            "sourceLocation": self.source_location,
            "deliveryLocation": self.delivery_location,
        }


def apply_vendor_verdict(
    services: Services,
    session: Session,
    *,
    copy: CopyState,
    message: MessageFacts,
    verdict: Verdict,
    label: str,
    event_key: str,
    actor: str,
    now: dt.datetime,
    direction: str,
) -> CopyOutcome:
    previous = Verdict(copy.verdict)
    final = most_serious([previous, verdict])
    location = copy.latest_location
    if final.severity <= previous.severity:
        return CopyOutcome(copy.recipient, previous, final, False, "", "", "verdictNotMoreSerious", location, location)
    copy.verdict = final.value
    tenant = tenant_info(services, copy.tenant_id)
    policy = tenant.policy_for(copy.recipient)
    decision = decide(final, policy)
    plan = zap_plan(final, decision, policy, current_location=location, delivered_at=copy.delivered_at, now=now)
    if plan.action is None:
        return CopyOutcome(copy.recipient, previous, final, True, "", "", plan.reason, location, location)
    threat = final.threat_type or "Spam"
    context = Context(
        action_type=plan.action_type,
        trigger=TRIGGER_THIRD_PARTY,
        threat_types=threat,
        detection_methods={threat: [label]},
        event_key=event_key,
        only_if_unread=plan.only_if_unread,
        decision=decision,
        policy=policy,
    )
    outcome = execute(services, session, copy, message, plan.action, context, actor=actor, now=now, direction=direction)
    if isinstance(outcome, Skipped):
        return CopyOutcome(copy.recipient, previous, final, True, plan.action, "", outcome.reason, location, location)
    return CopyOutcome(
        copy.recipient,
        previous,
        final,
        True,
        plan.action,
        outcome.action_result,
        "",
        outcome.source_location,
        outcome.delivery_location,
        outcome,
    )
