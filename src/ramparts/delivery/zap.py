"""Post-delivery remediation: zero-hour auto purge (ZAP) rules, and moving one delivered copy.

Two entry points:

    zap_plan(...)        pure: whether a new verdict may act on a copy, and with which action
    remediate_copy(...)  act on one copy now (admin/Graph remediation; vendor verdicts go through
                         vendors.apply, which checks zap_plan first and then calls execute())

ZAP rules (mdo-schema.md section 5): only copies delivered in the last 48 hours (by the injected
clock); malware and phishing act whether the copy was read or not, spam (and Junk/Deleted verdicts)
only while unread; each family obeys its policy switch (malware_zap, phish_zap, spam_zap) except
high-confidence phishing, which always acts; only the policy actions "move to Junk" and "quarantine"
act (and a vendor "Deleted" verdict soft-deletes); nothing happens when a same-or-stronger action
already applied (strength: Inbox < Junk < Deleted Items < Quarantine < hard delete). A sender or
domain on the tenant allow list (as it stands when the verdict arrives) stops ZAP for every verdict
but malware and high-confidence phishing ("can be overridden by safe senders ... other allows"): ZAP
takes no action, so no EmailPostDeliveryEvents row is written; the verdict's status shows the reason
allowedSenderByTenantAllowBlockList. Admin remediation ignores allow entries.

Every action that reached the mailbox adds one EmailPostDeliveryEvents row and moves EmailEvents'
Latest* columns. Choices (Defender documents no vocabulary for these columns):

    ActionType     "Malware ZAP" / "Phish ZAP" / "Spam ZAP" for verdict-driven moves, whoever gave the
                   verdict (so hunting queries counting ZAP see vendor moves too); "Manual remediation"
                   for admin and Graph remediation.
    ActionTrigger  "ThirdParty" (vendor verdict), "SpecialAction" (native re-evaluation),
                   "AdminAction" (admin, Graph remediate).
    Action         "Moved to quarantine", "Moved to junk folder", "Moved to deleted items",
                   "Soft delete", "Hard delete", "Moved to inbox".
    ActionResult   "Success", "MessageAlreadyDeleted" (the user deleted the copy: recorded, never
                   retried), "NotActionable" (e.g. hard-deleted, dropped, or quarantined mail for any
                   action but move-to-inbox), "NotSupported" (the mailbox backend cannot move mail),
                   "Failed" (the backend raised).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ramparts.delivery import safe_links
from ramparts.delivery.backends import backend_for
from ramparts.delivery.mailbox import Folder, MailboxBackend
from ramparts.detection.builtin.lists import domain_matches
from ramparts.domain.enums import DeliveryLocation, EmailDirection, LatestDeliveryAction, PostDeliveryActionType
from ramparts.domain.verdicts import Verdict
from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.audit import record
from ramparts.policy.decide import QUARANTINE_TYPES, Decision
from ramparts.policy.presets import ThreatPolicy
from ramparts.services import Services
from ramparts.store.base import table_of
from ramparts.store.models import AcceptedDomain, ListEntry, MessageCopy, MessageRecord, QuarantineRecord
from ramparts.telemetry.rows import Row, as_json, report_id
from ramparts.telemetry.writer import LatestUpdate

log = logging.getLogger(__name__)

RemediationAction = Literal["moveToJunk", "moveToInbox", "moveToDeletedItems", "softDelete", "hardDelete", "quarantine"]
REMEDIATION_ACTIONS: tuple[str, ...] = get_args(RemediationAction)
ZAP_WINDOW = dt.timedelta(hours=48)

TRIGGER_THIRD_PARTY = "ThirdParty"
TRIGGER_SPECIAL = "SpecialAction"
TRIGGER_ADMIN = "AdminAction"

SUCCESS = "Success"
ALREADY_DELETED = "MessageAlreadyDeleted"
NOT_ACTIONABLE = "NotActionable"
NOT_SUPPORTED = "NotSupported"
FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class _Spec:
    location: DeliveryLocation
    latest_action: str
    action_text: str
    strength: int
    folder: Folder | None


ACTIONS: dict[str, _Spec] = {
    "moveToInbox": _Spec(
        DeliveryLocation.INBOX, LatestDeliveryAction.MOVED_TO_INBOX, "Moved to inbox", 0, Folder.INBOX
    ),
    "moveToJunk": _Spec(
        DeliveryLocation.JUNK, LatestDeliveryAction.MOVED_TO_JUNK, "Moved to junk folder", 1, Folder.JUNK
    ),
    "moveToDeletedItems": _Spec(
        DeliveryLocation.DELETED_ITEMS,
        LatestDeliveryAction.MOVED_TO_DELETED,
        "Moved to deleted items",
        2,
        Folder.DELETED,
    ),
    "softDelete": _Spec(
        DeliveryLocation.DELETED_ITEMS, LatestDeliveryAction.SOFT_DELETE, "Soft delete", 2, Folder.DELETED
    ),
    "quarantine": _Spec(DeliveryLocation.QUARANTINE, LatestDeliveryAction.QUARANTINED, "Moved to quarantine", 3, None),
    "hardDelete": _Spec(DeliveryLocation.DROPPED, LatestDeliveryAction.HARD_DELETE, "Hard delete", 4, None),
}
LOCATION_STRENGTH: dict[str, int] = {
    DeliveryLocation.INBOX: 0,
    DeliveryLocation.JUNK: 1,
    DeliveryLocation.DELETED_ITEMS: 2,
    DeliveryLocation.QUARANTINE: 3,
    DeliveryLocation.DROPPED: 4,
    DeliveryLocation.FAILED: 4,
}
_ALLOW_CANNOT_OVERRIDE = {Verdict.MALWARE, Verdict.HIGH_CONFIDENCE_PHISH}
_ALLOWS = "zap.allow_entries"
ALLOWED_BY_TENANT = "allowedSenderByTenantAllowBlockList"
"""Graph's submission result detail for a sender on the Tenant Allow/Block List (mdo-schema.md)."""
_IN_MAILBOX = {DeliveryLocation.INBOX.value, DeliveryLocation.JUNK.value, DeliveryLocation.DELETED_ITEMS.value}
_ACTION_FOR_LOCATION = {
    DeliveryLocation.JUNK: "moveToJunk",
    DeliveryLocation.QUARANTINE: "quarantine",
    DeliveryLocation.DELETED_ITEMS: "softDelete",
}


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class ZapPlan:
    """What a new final verdict may do to a copy: an action, or the reason there is none."""

    action: str | None
    reason: str
    action_type: str
    only_if_unread: bool = False


def action_type_for(verdict: Verdict) -> str:
    if verdict is Verdict.MALWARE:
        return PostDeliveryActionType.MALWARE_ZAP.value
    if verdict in (Verdict.HIGH_CONFIDENCE_PHISH, Verdict.PHISH):
        return PostDeliveryActionType.PHISH_ZAP.value
    return PostDeliveryActionType.SPAM_ZAP.value


def zap_plan(
    verdict: Verdict,
    decision: Decision,
    policy: ThreatPolicy,
    *,
    current_location: str,
    delivered_at: dt.datetime | None,
    now: dt.datetime,
) -> ZapPlan:
    """Pure: the ZAP rules of mdo-schema.md section 5 for one copy and its new final verdict."""
    action_type = action_type_for(verdict)
    if current_location not in _IN_MAILBOX or delivered_at is None:
        return ZapPlan(None, "notInMailbox", action_type)
    if now - delivered_at > ZAP_WINDOW:
        return ZapPlan(None, "outsideZapWindow", action_type)
    if verdict is Verdict.MALWARE:
        enabled = policy.malware_zap
    elif verdict is Verdict.HIGH_CONFIDENCE_PHISH:
        enabled = True
    elif verdict is Verdict.PHISH:
        enabled = policy.phish_zap
    else:
        enabled = policy.spam_zap
    if not enabled:
        return ZapPlan(None, "zapDisabled", action_type)
    action = _ACTION_FOR_LOCATION.get(decision.delivery_location)
    if action is None:
        return ZapPlan(None, "policyTakesNoAction", action_type)
    if LOCATION_STRENGTH.get(current_location, 0) >= ACTIONS[action].strength:
        return ZapPlan(None, "sameOrStrongerActionApplied", action_type)
    unread_only = verdict not in (Verdict.MALWARE, Verdict.HIGH_CONFIDENCE_PHISH, Verdict.PHISH)
    return ZapPlan(action, "", action_type, unread_only)


def allow_override(
    verdict: Verdict, senders: tuple[str, ...], allowed_senders: frozenset[str], allowed_domains: tuple[str, ...]
) -> str:
    """Pure: the reason a tenant allow entry keeps ZAP off this copy, or "" (mdo-schema.md section 5:
    allows override ZAP, but never for malware or high confidence phishing, as at delivery)."""
    if verdict in _ALLOW_CANNOT_OVERRIDE:
        return ""
    addresses = {a.lower() for a in senders if a}
    if addresses & allowed_senders or any(
        domain_matches(a.rpartition("@")[2], entry) for a in addresses if "@" in a for entry in allowed_domains
    ):
        return ALLOWED_BY_TENANT
    return ""


def _allow_entries(session: Session, tenant_id: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The tenant's sender and domain allow entries, read once per session (they are current: an entry
    added after delivery still stops ZAP)."""
    cache: dict[str, tuple[frozenset[str], tuple[str, ...]]] = session.info.setdefault(_ALLOWS, {})
    if tenant_id not in cache:
        rows = session.execute(
            select(ListEntry.kind, ListEntry.value).where(
                ListEntry.tenant_id == tenant_id, ListEntry.action == "allow", ListEntry.kind.in_(("sender", "domain"))
            )
        ).all()
        cache[tenant_id] = (
            frozenset(v.lower() for k, v in rows if k == "sender"),
            tuple(v.lower() for k, v in rows if k == "domain"),
        )
    return cache[tenant_id]


# ------------------------------------------------------------------------------------------- backends

_MAILBOX = "delivery.mailbox"


def mailbox_backend(services: Services) -> MailboxBackend:
    """The backend that holds delivered copies: services.extras["delivery.mailbox"] when set (tests set
    theirs), else the one the settings choose (the relay cannot move mail: ActionResult NotSupported)."""
    found = services.extras.get(_MAILBOX)
    if found is None:
        found = services.extras[_MAILBOX] = backend_for(services.settings)
        close = getattr(found, "close", None)
        if close is not None:  # IMAP keeps logged-in connections
            services.on_close.append(close)
    return found  # type: ignore[return-value]


def deferred_sync(backend: MailboxBackend) -> contextlib.AbstractContextManager[None]:
    """The backend's batch-sync context (Maildir), or nothing for backends without one."""
    method = getattr(backend, "deferred_sync", None)
    return method() if method is not None else contextlib.nullcontext()


def use_mailbox(services: Services, backend: MailboxBackend) -> None:
    services.extras[_MAILBOX] = backend


def _can_move(backend: MailboxBackend) -> bool:
    return bool(getattr(backend, "supports_moves", backend.name != "relay"))


# ------------------------------------------------------------------------------------------ execution


class CopyState(Protocol):
    """What acting on a message copy reads and changes: a MessageCopy, or the plain row the vendor
    batch path loads (vendors.batch.CopyRow) and writes back in one statement."""

    network_message_id: str
    recipient: str
    tenant_id: str
    received_at: dt.datetime
    verdict: str
    latest_location: str
    latest_action: str
    policy_name: str
    quarantine_tag: str
    mailbox_ref: str
    delivered_at: dt.datetime | None


class MessageFacts(Protocol):
    """The message fields acting on a copy reads: a MessageRecord or a plain row."""

    @property
    def network_message_id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def internet_message_id(self) -> str: ...
    @property
    def from_address(self) -> str: ...
    @property
    def mail_from(self) -> str: ...
    @property
    def blob_sha256(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RemediationResult:
    network_message_id: str
    recipient: str
    action: str
    action_result: str
    source_location: str
    delivery_location: str
    row: Row | None = None
    """The EmailPostDeliveryEvents row (already queued on the writer by remediate_copy)."""
    received_at: dt.datetime | None = None
    """The copy's received time, which is its EmailEvents Timestamp."""

    def __str__(self) -> str:
        return self.action_result

    def as_json(self) -> dict[str, Any]:
        return {
            "networkMessageId": self.network_message_id,
            "recipient": self.recipient,
            "action": self.action,
            "actionResult": self.action_result,
            "sourceLocation": self.source_location,
            "deliveryLocation": self.delivery_location,
        }


@dataclass(frozen=True, slots=True)
class Context:
    """Who acts and why, as the EmailPostDeliveryEvents row names it."""

    action_type: str
    trigger: str
    threat_types: str = ""
    detection_methods: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    event_key: str = ""
    """Makes the row's ReportId stable (the vendor verdict id); empty = a fresh id."""
    only_if_unread: bool = False
    decision: Decision | None = None
    policy: ThreatPolicy | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


def execute(
    services: Services,
    session: Session,
    copy: CopyState,
    message: MessageFacts,
    action: str,
    context: Context,
    *,
    actor: str,
    now: dt.datetime,
    direction: str,
) -> RemediationResult | Skipped:
    """Act on one copy in the mailbox and in the control plane (the caller commits). Returns the result
    with its telemetry row (not queued), or Skipped when the copy was read spam (ZAP leaves it)."""
    spec = ACTIONS[action]
    if context.trigger != TRIGGER_ADMIN:
        entries = _allow_entries(session, copy.tenant_id)
        allowed = allow_override(Verdict(copy.verdict), (message.from_address, message.mail_from), *entries)
        if allowed:
            return Skipped(allowed)
    backend = mailbox_backend(services)
    source = copy.latest_location
    result = SUCCESS
    if source == spec.location.value and action != "softDelete":
        return _result(copy, message, action, NOT_ACTIONABLE, source, source, context, now, direction)
    if source == DeliveryLocation.QUARANTINE.value:
        result = _from_quarantine(services, session, copy, message, action, actor, now)
    elif source not in _IN_MAILBOX:
        result = NOT_ACTIONABLE
    elif not _can_move(backend):
        result = NOT_SUPPORTED
    else:
        try:
            stored = (
                backend.locate(copy.recipient, copy.network_message_id, ref=copy.mailbox_ref)
                if context.only_if_unread
                else None
            )
            if context.only_if_unread and stored is None:
                result = ALREADY_DELETED
            elif stored is not None and stored.read:
                return Skipped("spamAlreadyRead")
            elif spec.folder is not None:
                moved = backend.move(copy.recipient, copy.network_message_id, spec.folder, ref=copy.mailbox_ref)
                result = SUCCESS if moved is not None else ALREADY_DELETED
                if moved is not None:
                    copy.mailbox_ref = moved.ref
            else:
                result = (
                    SUCCESS
                    if backend.remove(copy.recipient, copy.network_message_id, ref=copy.mailbox_ref)
                    else ALREADY_DELETED
                )
                if result == SUCCESS:
                    copy.mailbox_ref = ""
        except Exception:  # a mailbox that fails must leave a recorded result, not a half-done request
            log.exception("remediation %s of %s for %s failed", action, copy.network_message_id, copy.recipient)
            result = FAILED
        if result == SUCCESS and action == "quarantine":
            _quarantine_record(session, copy, context, now)
    after = spec.location.value if result == SUCCESS else source
    if result == SUCCESS:
        copy.latest_location = after
        copy.latest_action = spec.latest_action
    return _result(copy, message, action, result, source, after, context, now, direction)


def _from_quarantine(
    services: Services,
    session: Session,
    copy: CopyState,
    message: MessageFacts,
    action: str,
    actor: str,
    now: dt.datetime,
) -> str:
    """Quarantined mail can be released into the Inbox or purged; nothing else (as in Defender)."""
    held = quarantine_record_of(session, copy)
    if action == "hardDelete":
        if held is not None:
            held.deleted = True
        return SUCCESS
    if action != "moveToInbox":
        return NOT_ACTIONABLE
    if held is not None and not _claim_release(session, held, actor, now):
        return NOT_ACTIONABLE  # released already, by a request that committed first
    backend = mailbox_backend(services)
    try:
        raw = safe_links.for_mailbox(
            services.settings,
            services.blobs.get(message.blob_sha256),
            network_message_id=copy.network_message_id,
            recipient=copy.recipient,
            tenant_id=copy.tenant_id,
        )
        copy.mailbox_ref = backend.deliver(
            copy.recipient, copy.network_message_id, raw, Folder.INBOX, received=copy.received_at.timestamp()
        )
    except Exception:
        log.exception("release of %s for %s failed", copy.network_message_id, copy.recipient)
        if held is not None:
            _set_release(session, held, "NotReleased", "", None)
        return FAILED
    copy.delivered_at = copy.delivered_at or now
    return SUCCESS


def _claim_release(session: Session, held: QuarantineRecord, actor: str, now: dt.datetime) -> bool:
    """Mark the record released if nobody has, in one conditional UPDATE: of two releases at the same moment
    (two admins, the quarantine API and Graph's remediate, two nodes) the second waits for the first's
    commit, then matches nothing and delivers nothing."""
    claimed = session.execute(
        update(QuarantineRecord)
        .where(QuarantineRecord.id == held.id, QuarantineRecord.release_status == "NotReleased")
        .values(release_status="Released", released_by=actor, released_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    held.release_status, held.released_by, held.released_at = "Released", actor, now
    return True


def _set_release(session: Session, held: QuarantineRecord, status: str, actor: str, at: dt.datetime | None) -> None:
    session.execute(
        update(QuarantineRecord)
        .where(QuarantineRecord.id == held.id)
        .values(release_status=status, released_by=actor, released_at=at)
        .execution_options(synchronize_session=False)
    )
    held.release_status, held.released_by, held.released_at = status, actor, at


_HELD = "zap.quarantine_records"
_NEW_HELD = "zap.new_quarantine_rows"
"""After preload: quarantine records to insert, as plain rows, in one statement (write_preloaded)."""
_DOMAINS = "zap.accepted_domains"


def preload(session: Session, copies: Sequence[CopyState]) -> None:
    """Read the quarantine records of many copies and the accepted domains at once, so that acting on
    a batch of copies costs no query per copy (kept in session.info for this session)."""
    held: dict[tuple[str, str], QuarantineRecord] = session.info.setdefault(_HELD, {})
    nmids = sorted({c.network_message_id for c in copies})
    for start in range(0, len(nmids), 500):
        for row in session.scalars(
            select(QuarantineRecord).where(QuarantineRecord.network_message_id.in_(nmids[start : start + 500]))
        ):
            held[(row.network_message_id, row.recipient)] = row
    session.info.setdefault("zap.preloaded", set()).update(nmids)
    session.info.setdefault(_NEW_HELD, {})
    if _DOMAINS not in session.info:
        session.info[_DOMAINS] = {d.domain: d.tenant_id for d in session.scalars(select(AcceptedDomain))}


def quarantine_record_of(session: Session, copy: CopyState) -> QuarantineRecord | None:
    key = (copy.network_message_id, copy.recipient)
    if key in session.info.get(_NEW_HELD, ()):
        write_preloaded(session)  # rare: a second action on a copy quarantined in this batch
    elif copy.network_message_id in session.info.get("zap.preloaded", ()):
        found: QuarantineRecord | None = session.info[_HELD].get(key)
        return found
    return session.scalar(
        select(QuarantineRecord).where(
            QuarantineRecord.network_message_id == copy.network_message_id, QuarantineRecord.recipient == copy.recipient
        )
    )


def write_preloaded(session: Session) -> None:
    """Insert the quarantine records a preloaded batch created (call before the commit)."""
    pending: dict[tuple[str, str], dict[str, Any]] = session.info.get(_NEW_HELD, {})
    if pending:
        session.execute(insert(table_of(QuarantineRecord)), list(pending.values()))
        for key in pending:
            session.info["zap.preloaded"].discard(key[0])
        pending.clear()


def _quarantine_record(session: Session, copy: CopyState, context: Context, now: dt.datetime) -> None:
    verdict = Verdict(copy.verdict)
    decision, policy = context.decision, context.policy
    retention = 30 if verdict is Verdict.MALWARE or policy is None else policy.quarantine_retention_days
    values: dict[str, Any] = {
        "quarantined_at": now,
        "quarantine_type": decision.quarantine_type if decision else QUARANTINE_TYPES.get(verdict, "Spam"),
        "policy_type": (decision.policy_type if decision else "") or "HostedContentFilterPolicy",
        "policy_name": policy.name if policy else copy.policy_name,
        "tag_name": (decision.quarantine_tag if decision else "") or "AdminOnlyAccessPolicy",
        "expires_at": now + dt.timedelta(days=retention),
        "release_status": "NotReleased",
        "released_by": "",
        "released_at": None,
        "deleted": False,
    }
    held = quarantine_record_of(session, copy)
    if held is None:
        row = {
            "id": f"{uuid.uuid4()}\\{uuid.uuid4()}",
            "tenant_id": copy.tenant_id,
            "network_message_id": copy.network_message_id,
            "recipient": copy.recipient,
            "received_at": copy.received_at,
            "reported": False,
            **values,
        }
        pending: dict[tuple[str, str], dict[str, Any]] | None = session.info.get(_NEW_HELD)
        if pending is not None:  # a batch: one insert for all its new records
            pending[(copy.network_message_id, copy.recipient)] = row
        else:
            session.add(QuarantineRecord(**row))
    else:
        for key, value in values.items():
            setattr(held, key, value)
    copy.quarantine_tag = values["tag_name"]


def _result(
    copy: CopyState,
    message: MessageFacts,
    action: str,
    result: str,
    source: str,
    after: str,
    context: Context,
    now: dt.datetime,
    direction: str,
) -> RemediationResult:
    key = context.event_key or str(uuid.uuid4())
    row: Row = {
        "Timestamp": now,
        "NetworkMessageId": copy.network_message_id,
        "InternetMessageId": message.internet_message_id,
        "Action": ACTIONS[action].action_text,
        "ActionType": context.action_type,
        "ActionTrigger": context.trigger,
        "ActionResult": result,
        "RecipientEmailAddress": copy.recipient,
        "DeliveryLocation": after,
        "ThreatTypes": context.threat_types,
        "DetectionMethods": as_json(context.detection_methods),
        "ReportId": report_id(copy.network_message_id, "pde", copy.recipient, key),
        "SenderFromAddress": message.from_address,
        "EmailDirection": direction,
        "SourceLocation": source,
        "TenantId": copy.tenant_id,
    }
    return RemediationResult(
        copy.network_message_id, copy.recipient, action, result, source, after, row, copy.received_at
    )


def direction_of(session: Session, tenant_id: str, sender: str) -> str:
    """Intra-org when the sender's domain is one of the tenant's accepted domains, else Inbound."""
    domain = sender.rpartition("@")[2].lower()
    known: dict[str, str] | None = session.info.get(_DOMAINS)
    if known is not None:
        internal = bool(domain) and known.get(domain) == tenant_id
    else:
        owner = session.get(AcceptedDomain, domain) if domain else None
        internal = owner is not None and owner.tenant_id == tenant_id
    return EmailDirection.INTRA_ORG.value if internal else EmailDirection.INBOUND.value


def telemetry_of(results: Sequence[RemediationResult]) -> tuple[list[Row], list[LatestUpdate]]:
    """The EmailPostDeliveryEvents rows and the Latest* changes of these results."""
    latest: list[LatestUpdate] = [
        (r.network_message_id, r.recipient, r.delivery_location, ACTIONS[r.action].latest_action, r.received_at)
        for r in results
        if r.action_result == SUCCESS
    ]
    return [r.row for r in results if r.row is not None], latest


def publish(services: Services, results: list[RemediationResult]) -> None:
    """Queue the moves of EmailEvents' Latest* columns and the EmailPostDeliveryEvents rows on the
    telemetry writer; its next flush (the server flushes twice a second) writes both, the Latest*
    changes after the rows waiting with them, so a delivery row not yet written is updated as well."""
    rows, latest = telemetry_of(results)
    if latest:
        services.writer.update_latest(latest)
    if rows:
        services.writer.add({"EmailPostDeliveryEvents": rows})


def remediate_copy(
    services: Services,
    *,
    network_message_id: str,
    recipient: str,
    action: str,
    trigger: str = TRIGGER_ADMIN,
    actor: str,
    tenant_id: str | None = None,
) -> RemediationResult:
    """Act on one copy now, as an admin (Graph remediate, portal take-action): no ZAP rules apply.

    `tenant_id` confines the call to one tenant (NotFound for another tenant's copy). The action is
    audited; the EmailPostDeliveryEvents row is queued on the writer (ActionType "Manual remediation")."""
    if action not in ACTIONS:
        raise InvalidInput(
            f"unknown action {action!r}; expected one of: {', '.join(REMEDIATION_ACTIONS)}", field="action"
        )
    now = services.clock()
    with services.sessions.begin() as session:
        copy = session.get(MessageCopy, (network_message_id, recipient.lower()))
        if copy is None or (tenant_id and copy.tenant_id != tenant_id):
            raise NotFound(f"no message {network_message_id!r} for {recipient!r}")
        message = session.get(MessageRecord, network_message_id)
        assert message is not None
        context = Context(
            PostDeliveryActionType.MANUAL_REMEDIATION.value, trigger, threat_types=Verdict(copy.verdict).threat_type
        )
        outcome = execute(
            services,
            session,
            copy,
            message,
            action,
            context,
            actor=actor,
            now=now,
            direction=direction_of(session, copy.tenant_id, message.from_address),
        )
        assert isinstance(outcome, RemediationResult)
        record(
            session,
            actor=actor,
            action=f"remediate.{action}",
            target=f"{network_message_id}/{copy.recipient}",
            tenant_id=copy.tenant_id,
            details={"result": outcome.action_result, "trigger": trigger},
        )
    publish(services, [outcome])
    return outcome
