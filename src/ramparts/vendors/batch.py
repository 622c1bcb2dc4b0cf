"""Applying a batch of accepted vendor verdicts of one vendor: resolve the copies (approving tenants
only), merge, act (vendors.apply), store one VerdictRecord per (message, recipient as named), all in
one transaction; then publish the telemetry. A verdict already stored (same vendor, message,
recipient and vendorVerdictId) is a replay: its stored result is returned and nothing acts again.

Callers serialise batches (vendors.applier): two batches never act on the same copy at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ramparts.delivery.zap import (
    RemediationResult,
    deferred_sync,
    direction_of,
    mailbox_backend,
    preload,
    publish,
    write_preloaded,
)
from ramparts.services import Services
from ramparts.store.base import new_id, table_of
from ramparts.store.models import MessageCopy, MessageRecord, VerdictRecord
from ramparts.vendors import outbox
from ramparts.vendors.apply import CopyOutcome, apply_vendor_verdict
from ramparts.vendors.intake import VendorCaller, VerdictSubmission
from ramparts.vendors.writelock import write_lock


@dataclass(frozen=True, slots=True)
class Outcome:
    vendor_verdict_id: str
    id: str
    status: str
    """completed, or notFound (no such message among the tenants that approved the vendor)."""
    replayed: bool = False
    changed_outcome: bool = False
    results: tuple[dict[str, Any], ...] = ()
    network_message_ids: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.status != "notFound":
            body["verdictRecordId"] = self.id
            body["networkMessageIds"] = list(self.network_message_ids)
            body["changedOutcome"] = self.changed_outcome
            body["replayed"] = self.replayed
            body["results"] = list(self.results)
        return body


Finish = Callable[[Session, list[Outcome]], None]


@dataclass(slots=True)
class CopyRow:
    """A message copy as plain values (zap.CopyState): loading and writing back a batch's copies as
    rows costs a fraction of ORM objects. `saved` is what the database holds, to write only changes."""

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
    saved: tuple[Any, ...] = ()

    def changes(self) -> tuple[Any, ...]:
        return (
            self.verdict,
            self.latest_location,
            self.latest_action,
            self.quarantine_tag,
            self.mailbox_ref,
            self.delivered_at,
        )


@dataclass(frozen=True, slots=True)
class MessageRow:
    """The message fields acting on a copy reads (zap.MessageFacts)."""

    network_message_id: str
    tenant_id: str
    internet_message_id: str
    from_address: str
    mail_from: str
    blob_sha256: str


_COPIES = table_of(MessageCopy)
_MESSAGES = table_of(MessageRecord)
_COPY_COLUMNS = [
    _COPIES.c[name]
    for name in (
        "network_message_id",
        "recipient",
        "tenant_id",
        "received_at",
        "verdict",
        "latest_location",
        "latest_action",
        "policy_name",
        "quarantine_tag",
        "mailbox_ref",
        "delivered_at",
    )
]
_COPIES_BY_NMID = select(*_COPY_COLUMNS).where(_COPIES.c.network_message_id.in_(bindparam("nmids", expanding=True)))
_COPIES_BY_IMID = (
    select(*_COPY_COLUMNS, _MESSAGES.c.internet_message_id)
    .select_from(_COPIES.join(_MESSAGES, _MESSAGES.c.network_message_id == _COPIES.c.network_message_id))
    .where(_MESSAGES.c.internet_message_id.in_(bindparam("imids", expanding=True)))
)
_MESSAGES_BY_NMID = select(*(_MESSAGES.c[f] for f in MessageRow.__slots__)).where(
    _MESSAGES.c.network_message_id.in_(bindparam("nmids", expanding=True))
)
_SAVE_COPY = (
    update(_COPIES)
    .where(_COPIES.c.network_message_id == bindparam("k_nmid"), _COPIES.c.recipient == bindparam("k_recipient"))
    .values(
        verdict=bindparam("verdict"),
        latest_location=bindparam("latest_location"),
        latest_action=bindparam("latest_action"),
        quarantine_tag=bindparam("quarantine_tag"),
        mailbox_ref=bindparam("mailbox_ref"),
        delivered_at=bindparam("delivered_at"),
    )
)


def _copy_row(values: Any, seen: dict[tuple[str, str], CopyRow]) -> CopyRow:
    """One CopyRow per copy however often the batch names it, so later verdicts see earlier changes."""
    key = (values[0], values[1])
    copy = seen.get(key)
    if copy is None:
        copy = seen[key] = CopyRow(*values[:11])
        copy.saved = copy.changes()
    return copy


def _save_copies(session: Session, copies: list[CopyRow]) -> None:
    changed = list({id(c): c for c in copies if c.changes() != c.saved}.values())
    if changed:
        session.execute(
            _SAVE_COPY,
            [
                {
                    "k_nmid": c.network_message_id,
                    "k_recipient": c.recipient,
                    "verdict": c.verdict,
                    "latest_location": c.latest_location,
                    "latest_action": c.latest_action,
                    "quarantine_tag": c.quarantine_tag,
                    "mailbox_ref": c.mailbox_ref,
                    "delivered_at": c.delivered_at,
                }
                for c in changed
            ],
        )
        for c in changed:
            c.saved = c.changes()


@dataclass
class _Plan:
    item: VerdictSubmission
    targets: dict[tuple[str, str], list[CopyRow]] = field(default_factory=dict)
    """(network message id, recipient or "") -> the copies that verdict record covers."""


def apply_batch(
    services: Services,
    caller: VendorCaller,
    items: Sequence[VerdictSubmission],
    *,
    record_ids: Sequence[str] = (),
    finish: Finish | None = None,
    to_outbox: bool = False,
) -> list[Outcome]:
    """Apply the verdicts in one transaction; `finish` runs inside it with the outcomes (the applier
    marks its intake rows there, so a crash leaves both undone or both done). record_ids[i], when
    given, is the id of the first VerdictRecord item i creates. The telemetry goes to this process's
    writer after the commit, or with to_outbox into the transaction (vendors.outbox: for a process
    that does not own the telemetry store)."""
    now = services.clock()
    remediations: list[RemediationResult] = []
    outcomes: list[Outcome] = []
    backend = mailbox_backend(services)
    with services.sessions() as session, session.no_autoflush:  # closing without commit rolls back
        with deferred_sync(backend):  # moves first, then one sync per folder
            plans = _resolve(session, caller, items)
            targets = [c for plan in plans for copies in plan.targets.values() for c in copies]
            existing = _existing(session, caller, items, sorted({c.network_message_id for c in targets}))
            messages = _messages(session, sorted({c.network_message_id for c in targets}))
            preload(session, targets)
            directions: dict[str, str] = {}
            new_rows: list[dict[str, Any]] = []
            for index, plan in enumerate(plans):
                item = plan.item
                if not plan.targets:
                    outcomes.append(Outcome(item.vendorVerdictId, "", "notFound"))
                    continue
                records: list[_Stored] = []
                replayed = True
                for (nmid, recipient), copies in plan.targets.items():
                    key = (nmid, recipient, item.vendorVerdictId)
                    stored = existing.get(key)
                    if stored is None:
                        replayed = False
                        message = messages[nmid]
                        if nmid not in directions:
                            directions[nmid] = direction_of(session, message.tenant_id, message.from_address)
                        results: list[CopyOutcome] = []
                        record_id = record_ids[index] if index < len(record_ids) and not records else new_id()
                        for copy in copies:
                            result = apply_vendor_verdict(
                                services,
                                session,
                                copy=copy,
                                message=message,
                                verdict=item.verdict,
                                label=caller.label,
                                event_key=record_id,
                                actor=f"vendor:{caller.name}",
                                now=now,
                                direction=directions[nmid],
                            )
                            results.append(result)
                            if result.remediation is not None:
                                remediations.append(result.remediation)
                        row = _record(caller, item, message, recipient, record_id, results, now)
                        new_rows.append(row)
                        stored = existing[key] = _Stored(
                            record_id, message.network_message_id, row["changed_outcome"], row["details"]["results"]
                        )
                    records.append(stored)
                first = records[0]
                outcomes.append(
                    Outcome(
                        item.vendorVerdictId,
                        first.id,
                        "completed",
                        replayed,
                        any(r.changed_outcome for r in records),
                        tuple(res for r in records for res in r.results),
                        tuple(r.network_message_id for r in records),
                    )
                )
        # Only now the first write: the write lock is held from here to the commit, not during the
        # mailbox work and its directory syncs (accepting requests wait for that lock).
        payload = outbox.payload_of(remediations) if to_outbox else None
        with write_lock(services):
            _save_copies(session, targets)
            write_preloaded(session)
            if new_rows:
                session.execute(insert(table_of(VerdictRecord)), new_rows)  # Core: no ORM bulk overhead
            if finish is not None:
                finish(session, outcomes)
            outbox.write(session, payload, now)
            session.commit()
    if not to_outbox:
        publish(services, remediations)
    return outcomes


def _messages(session: Session, nmids: list[str]) -> dict[str, MessageRow]:
    found: dict[str, MessageRow] = {}
    for start in range(0, len(nmids), 500):
        for values in session.execute(_MESSAGES_BY_NMID, {"nmids": nmids[start : start + 500]}):
            found[values[0]] = MessageRow(*values)
    return found


@dataclass(frozen=True, slots=True)
class _Stored:
    """What a replay needs of a stored VerdictRecord."""

    id: str
    network_message_id: str
    changed_outcome: bool
    results: list[dict[str, Any]]


def _record(
    caller: VendorCaller,
    item: VerdictSubmission,
    message: MessageRow,
    recipient: str,
    record_id: str,
    results: list[CopyOutcome],
    now: dt.datetime,
) -> dict[str, Any]:
    """The VerdictRecord row (plain values: inserted with executemany, no ORM object per row)."""
    details = item.threatDetails
    return dict(
        id=record_id,
        tenant_id=message.tenant_id,
        network_message_id=message.network_message_id,
        recipient=recipient,
        source_kind="vendor",
        source=caller.vendor_id,
        source_verdict_id=item.vendorVerdictId,
        verdict=item.verdict.value,
        confidence=item.confidence,
        threat_names=list(details.threatNames),
        explanation=details.explanation,
        details={
            "vendor": caller.name,
            "detectionTechnology": caller.label,
            "clientId": caller.client_id,
            "internetMessageId": message.internet_message_id,
            "threatDetails": details.model_dump(),
            "results": [r.as_json() for r in results],
        },
        received_at=now,
        changed_outcome=any(r.changed for r in results),
    )


def _existing(
    session: Session, caller: VendorCaller, items: Sequence[VerdictSubmission], nmids: list[str]
) -> dict[tuple[str, str, str], _Stored]:
    """The caller's stored verdicts on these messages (read by message: the index SQLite has)."""
    ids = {i.vendorVerdictId for i in items}
    found: dict[tuple[str, str, str], _Stored] = {}
    for start in range(0, len(nmids), 500):
        rows = session.execute(
            select(
                VerdictRecord.id,
                VerdictRecord.network_message_id,
                VerdictRecord.recipient,
                VerdictRecord.source_verdict_id,
                VerdictRecord.changed_outcome,
                VerdictRecord.details,
            ).where(
                VerdictRecord.network_message_id.in_(nmids[start : start + 500]),
                VerdictRecord.source_kind == "vendor",
                VerdictRecord.source == caller.vendor_id,
            )
        )
        for record_id, nmid, recipient, verdict_id, changed, details in rows:
            if verdict_id in ids:
                found[(nmid, recipient, verdict_id)] = _Stored(
                    record_id, nmid, changed, (details or {}).get("results", [])
                )
    return found


def _resolve(session: Session, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[_Plan]:
    """The copies each submission covers, among the tenants that approved the caller only."""
    plans = [_Plan(item) for item in items]
    if not caller.tenants:
        return plans
    seen: dict[tuple[str, str], CopyRow] = {}
    by_nmid: dict[str, list[CopyRow]] = {}
    nmids = sorted({i.networkMessageId for i in items if i.networkMessageId})
    for start in range(0, len(nmids), 500):
        # the tenant is checked here, not in SQL: see intake._known_targets
        for values in session.execute(_COPIES_BY_NMID, {"nmids": nmids[start : start + 500]}):
            copy = _copy_row(values, seen)
            if copy.tenant_id in caller.tenants:
                by_nmid.setdefault(copy.network_message_id, []).append(copy)
    by_imid: dict[tuple[str, str], list[CopyRow]] = {}
    imids = sorted({i.internetMessageId for i in items if i.internetMessageId and not i.networkMessageId})
    for start in range(0, len(imids), 500):
        for values in session.execute(_COPIES_BY_IMID, {"imids": imids[start : start + 500]}):
            copy = _copy_row(values, seen)
            if copy.tenant_id in caller.tenants:
                by_imid.setdefault((values[-1], copy.recipient), []).append(copy)
    for plan in plans:
        item = plan.item
        recipient = (item.recipient or "").strip().lower()
        if item.networkMessageId:
            copies = [c for c in by_nmid.get(item.networkMessageId, []) if not recipient or c.recipient == recipient]
            if copies:
                plan.targets[(item.networkMessageId, recipient)] = sorted(copies, key=lambda c: c.recipient)
        else:
            assert item.internetMessageId is not None
            for copy in by_imid.get((item.internetMessageId, recipient), []):
                plan.targets.setdefault((copy.network_message_id, recipient), []).append(copy)
    return plans
