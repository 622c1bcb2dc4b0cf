"""Verdict intake: the vendor's submission shape, who may submit, and storing + applying verdicts.

A submission names a message by networkMessageId (optionally with its recipient: without one it
applies to every recipient's copy), or by internetMessageId plus recipient. Idempotency: one stored
VerdictRecord per (vendor, network message id, recipient or "", vendorVerdictId), enforced by the
table's unique constraint; a replay finds the stored record and returns its stored result, acting
zero more times. The work is done before the answer (202 + a status URL that stays readable).

Messages of tenants that have not approved the vendor are invisible to it: "not found", exactly as
for messages that do not exist.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ramparts.delivery.zap import RemediationResult, deferred_sync, direction_of, mailbox_backend, preload, publish
from ramparts.domain.verdicts import Verdict
from ramparts.errors import Forbidden, NotFound
from ramparts.identity.tokens import Principal
from ramparts.services import Services
from ramparts.store.base import new_id
from ramparts.store.models import MessageCopy, MessageRecord, VerdictRecord
from ramparts.vendors.apply import CopyOutcome, apply_vendor_verdict
from ramparts.vendors.models import SUSPENDED, Vendor, VendorApproval
from ramparts.vendors.names import parse_verdict

MAX_BATCH = 1000


def _verdict(value: object) -> Verdict:
    if isinstance(value, Verdict):
        return value
    if not isinstance(value, str):
        raise ValueError("verdict must be a string")
    return parse_verdict(value)


VerdictName = Annotated[Verdict, BeforeValidator(_verdict)]


class AttachmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fileName: str = Field(default="", max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class ThreatDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threatNames: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    urls: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=100)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)
    explanation: str = Field(default="", max_length=4000)


class VerdictSubmission(BaseModel):
    """One vendor verdict. Verdict names: see vendors.names (display, member or camelCase names)."""

    model_config = ConfigDict(extra="forbid")
    vendorVerdictId: str = Field(min_length=1, max_length=200, description="The vendor's own id; makes retries safe")
    networkMessageId: str | None = Field(default=None, min_length=1, max_length=64)
    internetMessageId: str | None = Field(default=None, min_length=1, max_length=998)
    recipient: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    verdict: VerdictName
    confidence: float = Field(ge=0.0, le=1.0)
    threatDetails: ThreatDetails = Field(default_factory=ThreatDetails)

    @model_validator(mode="after")
    def _names_a_message(self) -> VerdictSubmission:
        if not self.networkMessageId and not (self.internetMessageId and self.recipient):
            raise ValueError("name the message by networkMessageId, or by internetMessageId and recipient")
        return self


class VerdictBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdicts: list[VerdictSubmission] = Field(min_length=1, max_length=MAX_BATCH)


# ------------------------------------------------------------------------------------------- callers


@dataclass(frozen=True, slots=True)
class VendorCaller:
    vendor_id: str
    name: str
    label: str
    client_id: str
    tenants: frozenset[str]


def vendor_caller(services: Services, principal: Principal) -> VendorCaller:
    """The vendor behind a token, with the tenants that approve it; Forbidden when suspended."""
    if principal.kind != "vendor" or not principal.vendor_id:
        raise Forbidden("the ICES API is for vendor apps; this app is not a vendor's")
    with services.sessions() as session:
        vendor = session.get(Vendor, principal.vendor_id)
        if vendor is None:
            raise Forbidden("this app's vendor is no longer registered")
        if vendor.status == SUSPENDED:
            raise Forbidden(
                f"vendor {vendor.name!r} is suspended; its verdicts are refused until an admin reactivates it"
            )
        tenants = session.scalars(
            select(VendorApproval.tenant_id).where(
                VendorApproval.vendor_id == vendor.id, VendorApproval.revoked_at.is_(None)
            )
        ).all()
        return VendorCaller(
            vendor.id, vendor.name, vendor.detection_technology, principal.client_id, frozenset(tenants)
        )


# ------------------------------------------------------------------------------------------ outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    vendor_verdict_id: str
    id: str
    status: str
    """completed, or notFound (no such message among the tenants that approved the vendor)."""
    replayed: bool = False
    changed_outcome: bool = False
    results: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "vendorVerdictId": self.vendor_verdict_id, "status": self.status}
        if self.status != "notFound":
            body["changedOutcome"] = self.changed_outcome
            body["replayed"] = self.replayed
            body["results"] = list(self.results)
        return body


def record_json(record: VerdictRecord) -> dict[str, Any]:
    """The status view of one stored vendor verdict."""
    details = record.details or {}
    return {
        "id": record.id,
        "vendorVerdictId": record.source_verdict_id,
        "status": "completed",
        "networkMessageId": record.network_message_id,
        "internetMessageId": details.get("internetMessageId", ""),
        "recipient": record.recipient,
        "verdict": record.verdict,
        "confidence": record.confidence,
        "receivedDateTime": record.received_at.isoformat().replace("+00:00", "Z"),
        "changedOutcome": record.changed_outcome,
        "threatDetails": details.get("threatDetails", {}),
        "results": details.get("results", []),
    }


# ------------------------------------------------------------------------------------------- submit

_LOCK = threading.Lock()
"""One submission at a time per process: two batches never act on the same copy at once."""


@dataclass
class _Plan:
    item: VerdictSubmission
    targets: dict[tuple[str, str], list[MessageCopy]] = field(default_factory=dict)
    """(network message id, recipient or "") -> the copies that verdict record covers."""


def submit(services: Services, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[Outcome]:
    """Store and apply verdicts; replays return the stored result. One transaction per call; the
    mailbox's directory syncs are done once per call, before the transaction commits."""
    with _LOCK:
        try:
            return _submit(services, caller, items)
        except IntegrityError:  # another process stored the same verdict first: now it is a replay
            return _submit(services, caller, items)


def _submit(services: Services, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[Outcome]:
    now = services.clock()
    remediations: list[RemediationResult] = []
    outcomes: list[Outcome] = []
    backend = mailbox_backend(services)
    with services.sessions.begin() as session, session.no_autoflush, deferred_sync(backend):
        plans = _resolve(session, caller, items)
        existing = _existing(session, caller, items)
        targets = [c for plan in plans for copies in plan.targets.values() for c in copies]
        messages = _messages(session, sorted({c.network_message_id for c in targets}))
        preload(session, targets)
        directions: dict[str, str] = {}
        new_rows: list[dict[str, Any]] = []
        for plan in plans:
            item = plan.item
            if not plan.targets:
                outcomes.append(Outcome(item.vendorVerdictId, "", "notFound"))
                continue
            records: list[VerdictRecord] = []
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
                    record_id = new_id()
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
                    stored = _record(caller, item, message, recipient, record_id, results, now)
                    new_rows.append(_columns(stored))
                    existing[key] = stored
                records.append(stored)
            first = records[0]
            outcomes.append(
                Outcome(
                    item.vendorVerdictId,
                    first.id,
                    "completed",
                    replayed,
                    any(r.changed_outcome for r in records),
                    tuple(res for r in records for res in (r.details or {}).get("results", [])),
                )
            )
        if new_rows:
            session.execute(insert(VerdictRecord), new_rows)
    publish(services, remediations)
    return outcomes


def _messages(session: Session, nmids: list[str]) -> dict[str, MessageRecord]:
    found: dict[str, MessageRecord] = {}
    for start in range(0, len(nmids), 500):
        for message in session.scalars(
            select(MessageRecord).where(MessageRecord.network_message_id.in_(nmids[start : start + 500]))
        ):
            found[message.network_message_id] = message
    return found


_COLUMNS = tuple(c.key for c in VerdictRecord.__table__.columns)


def _columns(record: VerdictRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _COLUMNS}


def _record(
    caller: VendorCaller,
    item: VerdictSubmission,
    message: MessageRecord,
    recipient: str,
    record_id: str,
    results: list[CopyOutcome],
    now: dt.datetime,
) -> VerdictRecord:
    details = item.threatDetails
    record = VerdictRecord(
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
    return record


def _existing(
    session: Session, caller: VendorCaller, items: Sequence[VerdictSubmission]
) -> dict[tuple[str, str, str], VerdictRecord]:
    ids = sorted({i.vendorVerdictId for i in items})
    found: dict[tuple[str, str, str], VerdictRecord] = {}
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(VerdictRecord).where(
                VerdictRecord.source == caller.vendor_id, VerdictRecord.source_verdict_id.in_(ids[start : start + 500])
            )
        )
        for row in rows:
            found[(row.network_message_id, row.recipient, row.source_verdict_id)] = row
    return found


def _resolve(session: Session, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[_Plan]:
    """The copies each submission covers, among the tenants that approved the caller only."""
    plans = [_Plan(item) for item in items]
    if not caller.tenants:
        return plans
    tenants = sorted(caller.tenants)
    by_nmid: dict[str, list[MessageCopy]] = {}
    nmids = sorted({i.networkMessageId for i in items if i.networkMessageId})
    for start in range(0, len(nmids), 500):
        for copy in session.scalars(
            select(MessageCopy).where(
                MessageCopy.network_message_id.in_(nmids[start : start + 500]), MessageCopy.tenant_id.in_(tenants)
            )
        ):
            by_nmid.setdefault(copy.network_message_id, []).append(copy)
    by_imid: dict[tuple[str, str], list[MessageCopy]] = {}
    imids = sorted({i.internetMessageId for i in items if i.internetMessageId and not i.networkMessageId})
    for start in range(0, len(imids), 500):
        rows = session.execute(
            select(MessageCopy, MessageRecord.internet_message_id)
            .join(MessageRecord, MessageRecord.network_message_id == MessageCopy.network_message_id)
            .where(
                MessageRecord.internet_message_id.in_(imids[start : start + 500]), MessageCopy.tenant_id.in_(tenants)
            )
        ).all()
        for copy, imid in rows:
            by_imid.setdefault((imid, copy.recipient), []).append(copy)
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


def verdict_status(services: Services, caller: VendorCaller, verdict_id: str) -> dict[str, Any]:
    """The stored verdict and what it did; NotFound unless the caller submitted it."""
    with services.sessions() as session:
        record = session.get(VerdictRecord, verdict_id)
        if record is None or record.source_kind != "vendor" or record.source != caller.vendor_id:
            raise NotFound(f"no verdict {verdict_id!r}")
        return record_json(record)
