"""The quarantine as administrators work it: search, details, a safe preview, release, delete and report.

Each record is one recipient's quarantined copy, named by Defender's `GUID1\\GUID2` identity, with the
properties Get-QuarantineMessage shows. Release and delete go through the same remediation path as
Graph's remediate (delivery.zap.remediate_copy), so the mailbox, the EmailPostDeliveryEvents row, the
Latest* columns and the audit log all follow. Expired and deleted records are gone from every view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from sqlalchemy import ColumnElement, Select, String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from ramparts.domain.times import iso_utc
from ramparts.domain.verdicts import Verdict
from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.audit import record
from ramparts.mailflow.parse import parse_message
from ramparts.services import Services
from ramparts.store.models import MessageRecord, QuarantineRecord, VerdictRecord
from ramparts.vendors.models import Vendor

QUARANTINE_TYPES = ("Bulk", "FileTypeBlock", "HighConfPhish", "Malware", "Phish", "Spam", "TransportRule")
POLICY_TYPES = (
    "AntiMalwarePolicy",
    "AntiPhishPolicy",
    "ExchangeTransportRule",
    "HostedContentFilterPolicy",
    "SafeAttachmentPolicy",
)
RELEASE_STATUSES = ("NotReleased", "Released")
DEFAULT_DAYS = 16
"""Get-QuarantineMessage looks back 16 days unless told otherwise (and never more than 30)."""
MAX_PAGE_SIZE = 1000

PREVIEW_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "dd", "div", "dl", "dt", "em",
        "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small",
        "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
"""What a preview keeps of the HTML: text structure only. Images, styles, forms, frames, scripts and every
attribute (href, src, style, on*) are dropped, so nothing in a preview can load, run or be clicked."""


@dataclass(frozen=True, slots=True)
class QuarantineQuery:
    """Get-QuarantineMessage's filters; an empty tuple or string filters nothing."""

    tenant_id: str | None = None
    quarantine_types: tuple[str, ...] = ()
    policy_types: tuple[str, ...] = ()
    release_statuses: tuple[str, ...] = ()
    recipient: str = ""
    sender: str = ""
    subject: str = ""
    """Case-insensitive substring of the subject."""
    message_id: str = ""
    """Internet Message-ID, with or without angle brackets."""
    network_message_id: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    reported: bool | None = None
    engine: str = ""
    """Only messages this engine or vendor (its name, any case) judged worse than Clean."""
    threat: str = ""
    """Only messages one of whose verdicts names this threat or rule (e.g. an rspamd symbol), any case."""
    page: int = 1
    page_size: int = 100

    def checked(self) -> QuarantineQuery:
        _check_all("quarantine_types", self.quarantine_types, QUARANTINE_TYPES)
        _check_all("policy_types", self.policy_types, POLICY_TYPES)
        _check_all("release_statuses", self.release_statuses, RELEASE_STATUSES)
        if not 1 <= self.page <= 1000:
            raise InvalidInput("page must be from 1 to 1000", field="page")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page_size must be from 1 to {MAX_PAGE_SIZE}", field="page_size")
        if self.start and self.end and self.start > self.end:
            raise InvalidInput("start is after end", field="start")
        return self


def _check_all(field: str, given: Sequence[str], allowed: Sequence[str]) -> None:
    unknown = [value for value in given if value not in allowed]
    if unknown:
        raise InvalidInput(f"unknown {field} {', '.join(unknown)}; expected any of {', '.join(allowed)}", field=field)


def _live(now: dt.datetime) -> Select[QuarantineRecord, MessageRecord]:
    return (
        select(QuarantineRecord, MessageRecord)
        .join(MessageRecord, MessageRecord.network_message_id == QuarantineRecord.network_message_id)
        .where(QuarantineRecord.deleted.is_(False), QuarantineRecord.expires_at > _aware(now))
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """A time without a zone is taken as UTC (the control plane's columns want aware datetimes)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def search(session: Session, query: QuarantineQuery, now: dt.datetime) -> list[dict[str, Any]]:
    """One page of live records, newest first."""
    query = query.checked()
    start = query.start or now - dt.timedelta(days=DEFAULT_DAYS)
    statement = _live(now).where(QuarantineRecord.received_at >= _aware(start))
    if query.end is not None:
        statement = statement.where(QuarantineRecord.received_at <= _aware(query.end))
    if query.tenant_id:
        statement = statement.where(QuarantineRecord.tenant_id == query.tenant_id)
    if query.quarantine_types:
        statement = statement.where(QuarantineRecord.quarantine_type.in_(query.quarantine_types))
    if query.policy_types:
        statement = statement.where(QuarantineRecord.policy_type.in_(query.policy_types))
    if query.release_statuses:
        statement = statement.where(QuarantineRecord.release_status.in_(query.release_statuses))
    if query.recipient:
        statement = statement.where(QuarantineRecord.recipient == query.recipient.lower())
    if query.sender:
        statement = statement.where(func.lower(MessageRecord.from_address) == query.sender.lower())
    if query.subject:
        statement = statement.where(func.lower(MessageRecord.subject).contains(query.subject.lower(), autoescape=True))
    if query.message_id:
        wanted = query.message_id.strip().strip("<>")
        statement = statement.where(MessageRecord.internet_message_id.in_((wanted, f"<{wanted}>")))
    if query.network_message_id:
        statement = statement.where(QuarantineRecord.network_message_id == query.network_message_id)
    if query.reported is not None:
        statement = statement.where(QuarantineRecord.reported.is_(query.reported))
    if query.engine or query.threat:
        statement = statement.where(_judged_by(query.engine, query.threat))
    statement = (
        statement.order_by(QuarantineRecord.received_at.desc(), QuarantineRecord.id)
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    )
    return [describe(held, message) for held, message in session.execute(statement)]


def _judged_by(engine: str, threat: str) -> ColumnElement[bool]:
    """A verdict on this copy (or on every recipient of its message) that is not Clean, from `engine` (an
    engine's name, a vendor's name or id) and naming `threat` when given."""
    conditions = [
        VerdictRecord.network_message_id == QuarantineRecord.network_message_id,
        VerdictRecord.recipient.in_(("", QuarantineRecord.recipient)),
        VerdictRecord.verdict != Verdict.CLEAN.value,
    ]
    if engine:
        vendor_ids = select(Vendor.id).where(func.lower(Vendor.name) == engine.lower())
        conditions.append(or_(func.lower(VerdictRecord.source) == engine.lower(), VerdictRecord.source.in_(vendor_ids)))
    if threat:
        names = func.lower(cast(VerdictRecord.threat_names, String))
        conditions.append(names.contains(threat.lower(), autoescape=True))
    return exists().where(*conditions)


def verdicts_of(session: Session, held: QuarantineRecord) -> list[dict[str, Any]]:
    """Every verdict on the copy, oldest first: which engines and vendors caught it, and how surely."""
    found = session.scalars(
        select(VerdictRecord)
        .where(
            VerdictRecord.network_message_id == held.network_message_id,
            VerdictRecord.recipient.in_(("", held.recipient)),
        )
        .order_by(VerdictRecord.received_at, VerdictRecord.source)
    )
    return [
        {
            "source": str(v.details.get("vendor", v.source)) if v.source_kind == "vendor" else v.source,
            "sourceId": v.source,
            "sourceKind": v.source_kind,
            "verdict": v.verdict,
            "confidence": v.confidence,
            "threatNames": list(v.threat_names),
            "explanation": v.explanation,
            "receivedTime": iso_utc(v.received_at),
        }
        for v in found
    ]


def describe(held: QuarantineRecord, message: MessageRecord) -> dict[str, Any]:
    """Get-QuarantineMessage's properties of one record."""
    return {
        "Identity": held.id,
        "Organization": held.tenant_id,
        "ReceivedTime": iso_utc(held.received_at),
        "MessageId": message.internet_message_id,
        "NetworkMessageId": held.network_message_id,
        "SenderAddress": message.from_address or message.mail_from,
        "RecipientAddress": held.recipient,
        "Subject": message.subject,
        "Size": message.size,
        "Type": held.quarantine_type,
        "PolicyType": held.policy_type,
        "PolicyName": held.policy_name,
        "TagName": held.tag_name,
        "QuarantinedTime": iso_utc(held.quarantined_at),
        "Expires": iso_utc(held.expires_at),
        "ReleaseStatus": held.release_status,
        "Released": held.release_status == "Released",
        "ReleasedBy": held.released_by,
        "ReleasedTime": iso_utc(held.released_at) if held.released_at else None,
        "Reported": held.reported,
        "Direction": "Inbound",
    }


def find(
    session: Session, identity: str, tenant_id: str | None, now: dt.datetime
) -> tuple[QuarantineRecord, MessageRecord]:
    """A live record, confined to one tenant when tenant_id is given (another tenant's record is not found)."""
    row = session.execute(_live(now).where(QuarantineRecord.id == identity)).first()
    if row is None or (tenant_id and row[0].tenant_id != tenant_id):
        raise NotFound(f"no quarantined message {identity!r}")
    return row


def details(services: Services, identity: str, tenant_id: str | None) -> dict[str, Any]:
    """The record with every verdict on it (engines and vendors)."""
    with services.sessions() as session:
        held, message = find(session, identity, tenant_id, services.clock())
        return {**describe(held, message), "Verdicts": verdicts_of(session, held)}


def preview(services: Services, identity: str, tenant_id: str | None, actor: str) -> dict[str, Any]:
    """Headers, text and defused HTML of a quarantined message (audited, as Preview-QuarantineMessage is).

    The HTML keeps only text structure (PREVIEW_TAGS, no attributes): no link can be followed, no image or
    style fetched, no script run, whatever the message holds. URLs and attachments are listed as text."""
    with services.sessions.begin() as session:
        held, message = find(session, identity, tenant_id, services.clock())
        raw = services.blobs.get(message.blob_sha256)
        record(session, actor=actor, action="quarantine.preview", target=identity, tenant_id=held.tenant_id)
        described = {**describe(held, message), "Verdicts": verdicts_of(session, held)}
    parsed = parse_message(raw)
    html = nh3.clean(parsed.html_body, tags=set(PREVIEW_TAGS), attributes={}, url_schemes=set(), link_rel=None)
    text = parsed.text_body or nh3.clean(parsed.html_body, tags=set())
    return {
        **described,
        "Headers": [{"name": name, "value": value} for name, value in parsed.headers],
        "Text": text,
        "Html": html,
        "Urls": [{"url": u.url, "domain": u.domain, "location": u.location} for u in parsed.urls],
        "Attachments": [
            {"fileName": a.file_name, "fileType": a.file_type, "size": a.size, "sha256": a.sha256}
            for a in parsed.attachments
        ],
        "Defects": list(parsed.defects),
    }


def release(services: Services, identity: str, tenant_id: str | None, actor: str) -> dict[str, Any]:
    """Deliver the recipient's copy to the Inbox (Release-QuarantineMessage -User); never twice (the
    remediation path claims the record in one conditional UPDATE, whoever else releases it at once)."""
    from ramparts.delivery.zap import NOT_ACTIONABLE, remediate_copy

    with services.sessions() as session:
        held, _ = find(session, identity, tenant_id, services.clock())
        if held.release_status == "Released":
            raise InvalidInput(f"already released to {held.recipient} by {held.released_by or 'an admin'}")
        nmid, recipient, owner = held.network_message_id, held.recipient, held.tenant_id
    outcome = remediate_copy(
        services, network_message_id=nmid, recipient=recipient, action="moveToInbox", actor=actor, tenant_id=owner
    )
    if outcome.action_result == NOT_ACTIONABLE:  # another release committed in between
        with services.sessions() as session:
            held, _ = find(session, identity, tenant_id, services.clock())
            raise InvalidInput(f"already released to {recipient} by {held.released_by or 'an admin'}")
    if outcome.action_result != "Success":
        raise InvalidInput(f"the release of {identity!r} did not succeed: {outcome.action_result}")
    return details(services, identity, tenant_id)


def delete(services: Services, identity: str, tenant_id: str | None, actor: str) -> None:
    """Delete the recipient's quarantined copy for good (Delete-QuarantineMessage). A released record only
    leaves the quarantine: the copy already in the recipient's mailbox is theirs and stays."""
    from ramparts.delivery.zap import remediate_copy

    with services.sessions.begin() as session:
        held, _ = find(session, identity, tenant_id, services.clock())
        nmid, recipient, owner = held.network_message_id, held.recipient, held.tenant_id
        if held.release_status == "Released":
            held.deleted = True
            record(session, actor=actor, action="quarantine.delete", target=identity, tenant_id=owner)
            return
    outcome = remediate_copy(
        services, network_message_id=nmid, recipient=recipient, action="hardDelete", actor=actor, tenant_id=owner
    )
    if outcome.action_result != "Success":
        raise InvalidInput(f"the deletion of {identity!r} did not succeed: {outcome.action_result}")


def report(services: Services, identity: str, tenant_id: str | None, actor: str) -> dict[str, Any]:
    """Mark the message as reported clean (a false positive), for the detection reports."""
    with services.sessions.begin() as session:
        held, message = find(session, identity, tenant_id, services.clock())
        if not held.reported:
            held.reported, held.reported_at = True, services.clock()
        record(session, actor=actor, action="quarantine.report", target=identity, tenant_id=held.tenant_id)
        return describe(held, message)


BULK_ACTIONS = ("release", "delete", "report")
MAX_BULK = 100


def bulk(
    services: Services, action: str, identities: Sequence[str], tenant_id: str | None, actor: str
) -> list[dict[str, str]]:
    """One action on up to MAX_BULK records, each on its own: a record that is gone or already released is
    reported as such and the others go on."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; expected one of {', '.join(BULK_ACTIONS)}", field="action")
    if not 1 <= len(identities) <= MAX_BULK:
        raise InvalidInput(f"name 1 to {MAX_BULK} records", field="identities")
    act = {"release": release, "delete": delete, "report": report}[action]
    results = []
    for identity in dict.fromkeys(identities):
        try:
            act(services, identity, tenant_id, actor)
            results.append({"identity": identity, "result": "Success", "message": ""})
        except NotFound as exc:
            results.append({"identity": identity, "result": "NotFound", "message": str(exc)})
        except InvalidInput as exc:
            results.append({"identity": identity, "result": "NotActionable", "message": str(exc)})
    return results
