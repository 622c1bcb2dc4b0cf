"""Verdict intake: the vendor's submission shape, who may submit, and accepting verdicts.

A submission names a message by networkMessageId (optionally with its recipient: without one it
applies to every recipient's copy), or by internetMessageId plus recipient. Accepting checks that the
message exists among the tenants that approved the vendor, stores the verdict as a pending
VerdictIntake row (one transaction per request) and answers 202 with a status URL; the applier
(vendors.applier) applies pending rows in batches in the background. Idempotency: one intake row per
(vendor, message as named, recipient, vendorVerdictId): a replay returns the stored row and changes
nothing; applying is idempotent again per VerdictRecord (vendors.batch).

Messages of tenants that have not approved the vendor are invisible to it: "not found", exactly as
for messages that do not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import Connection, Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ramparts.domain.times import iso_utc
from ramparts.domain.verdicts import Verdict
from ramparts.errors import Forbidden, NotFound
from ramparts.identity.tokens import Principal
from ramparts.services import Services
from ramparts.store.base import new_id, table_of
from ramparts.store.models import MessageCopy, MessageRecord
from ramparts.vendors.models import COMPLETED, NOT_FOUND, PENDING, SUSPENDED, Vendor, VendorApproval, VerdictIntake
from ramparts.vendors.names import parse_verdict
from ramparts.vendors.writelock import write_lock

MAX_BATCH = 1000
CALLER_TTL = dt.timedelta(seconds=5)
"""How long a request may use a vendor's remembered status and approvals (one query pair per request
otherwise). A suspension or a revoked approval still stops the vendor's verdicts at once: the applier
reads both again before it acts."""
_CALLERS = "vendors.callers"


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
    key = (principal.vendor_id, principal.client_id)
    now = services.clock()
    cache: dict[tuple[str, str], tuple[dt.datetime, VendorCaller]] = services.extras.setdefault(_CALLERS, {})  # type: ignore[assignment]
    hit = cache.get(key)
    if hit is not None and dt.timedelta(0) <= now - hit[0] < CALLER_TTL:
        return hit[1]
    with services.sessions() as session:
        caller = load_caller(session, principal.vendor_id, principal.client_id)
    cache[key] = (now, caller)
    return caller


def load_caller(session: Session, vendor_id: str, client_id: str) -> VendorCaller:
    """The vendor and the tenants that approve it now; Forbidden when unknown or suspended."""
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise Forbidden("this app's vendor is no longer registered")
    if vendor.status == SUSPENDED:
        raise Forbidden(f"vendor {vendor.name!r} is suspended; its verdicts are refused until an admin reactivates it")
    tenants = session.scalars(
        select(VendorApproval.tenant_id).where(
            VendorApproval.vendor_id == vendor.id, VendorApproval.revoked_at.is_(None)
        )
    ).all()
    return VendorCaller(vendor.id, vendor.name, vendor.detection_technology, client_id, frozenset(tenants))


# ------------------------------------------------------------------------------------------- accept

Key = tuple[str, str, str, str]
"""(network message id, internet message id, recipient, vendorVerdictId), as the vendor named them."""


def intake_key(item: VerdictSubmission) -> Key:
    nmid = item.networkMessageId or ""
    return (
        nmid,
        "" if nmid else item.internetMessageId or "",
        (item.recipient or "").strip().lower(),
        item.vendorVerdictId,
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    """The answer for one submitted verdict: its status URL id, or notFound (id "")."""

    vendor_verdict_id: str
    id: str
    status: str
    replayed: bool = False
    outcome: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "vendorVerdictId": self.vendor_verdict_id, "status": self.status}
        if self.status != NOT_FOUND:
            body["replayed"] = self.replayed
            if self.outcome:
                body["changedOutcome"] = bool(self.outcome.get("changedOutcome"))
                body["results"] = list(self.outcome.get("results", []))
        return body


def accept(services: Services, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[Accepted]:
    """Store the verdicts that name a message the caller may judge, as pending; one transaction."""
    try:
        return _accept(services, caller, items)
    except IntegrityError:  # the same verdict was stored by a concurrent request: now it is a replay
        return _accept(services, caller, items)


_COPIES = table_of(MessageCopy)
_MESSAGES = table_of(MessageRecord)
_INTAKE = table_of(VerdictIntake)
# Prebuilt Core statements on a plain connection: this path runs once per request, and building ORM
# statements and sessions per call cost more than the queries themselves.
_COPIES_BY_NMID = select(_COPIES.c.network_message_id, _COPIES.c.recipient, _COPIES.c.tenant_id).where(
    _COPIES.c.network_message_id.in_(bindparam("nmids", expanding=True))
)
_COPIES_BY_IMID = (
    select(_MESSAGES.c.internet_message_id, _COPIES.c.recipient, _COPIES.c.tenant_id)
    .select_from(_COPIES.join(_MESSAGES, _MESSAGES.c.network_message_id == _COPIES.c.network_message_id))
    .where(_MESSAGES.c.internet_message_id.in_(bindparam("imids", expanding=True)))
)
_STORED_BY_VERDICT_ID = select(
    _INTAKE.c.network_message_id,
    _INTAKE.c.internet_message_id,
    _INTAKE.c.recipient,
    _INTAKE.c.vendor_verdict_id,
    _INTAKE.c.id,
    _INTAKE.c.status,
    _INTAKE.c.outcome,
).where(
    _INTAKE.c.vendor_id == bindparam("vendor_id"), _INTAKE.c.vendor_verdict_id.in_(bindparam("ids", expanding=True))
)
_ADD_INTAKE = insert(_INTAKE)


def _accept(services: Services, caller: VendorCaller, items: Sequence[VerdictSubmission]) -> list[Accepted]:
    now = services.clock()
    answers: list[Accepted] = []
    engine: Engine = services.sessions.kw["bind"]
    with engine.connect() as connection:
        found = _known_targets(connection, caller, items)
        stored = _stored(connection, caller, items)
        rows: list[dict[str, Any]] = []
        for item in items:
            key = intake_key(item)
            if key in stored:
                row = stored[key]
                answers.append(Accepted(item.vendorVerdictId, row[0], row[1], True, row[2] or None))
                continue
            if not _names_known(item, key, found):
                answers.append(Accepted(item.vendorVerdictId, "", NOT_FOUND))
                continue
            intake_id = new_id()
            rows.append(
                {
                    "id": intake_id,
                    "vendor_id": caller.vendor_id,
                    "client_id": caller.client_id,
                    "vendor_verdict_id": key[3],
                    "network_message_id": key[0],
                    "internet_message_id": key[1],
                    "recipient": key[2],
                    "submission": item.model_dump(mode="json"),
                    "received_at": now,
                    "status": PENDING,
                    "outcome": {},
                }
            )
            stored[key] = (intake_id, PENDING, {})
            answers.append(Accepted(item.vendorVerdictId, intake_id, PENDING))
        connection.rollback()  # end the read transaction: the write below takes the lock afresh
        if rows:
            with write_lock(services), connection.begin():
                connection.execute(_ADD_INTAKE, rows)
    return answers


def _names_known(item: VerdictSubmission, key: Key, found: set[tuple[str, str]]) -> bool:
    nmid, imid, recipient, _ = key
    if nmid:
        return (nmid, recipient) in found or (not recipient and (nmid, "*") in found)
    return (imid, recipient) in found


def _known_targets(
    connection: Connection, caller: VendorCaller, items: Sequence[VerdictSubmission]
) -> set[tuple[str, str]]:
    """(nmid, recipient), (nmid, "*") and (internet message id, recipient) of copies the caller may judge."""
    found: set[tuple[str, str]] = set()
    if not caller.tenants:
        return found
    nmids = sorted({i.networkMessageId for i in items if i.networkMessageId})
    for start in range(0, len(nmids), 500):
        # the tenant is checked here, not in SQL: given both IN lists, SQLite may pick the tenant index
        # and read every copy of the tenant instead of a few by primary key
        for nmid, recipient, tenant in connection.execute(_COPIES_BY_NMID, {"nmids": nmids[start : start + 500]}):
            if tenant in caller.tenants:
                found.add((nmid, recipient))
                found.add((nmid, "*"))
    imids = sorted({i.internetMessageId for i in items if i.internetMessageId and not i.networkMessageId})
    for start in range(0, len(imids), 500):
        for imid, recipient, tenant in connection.execute(_COPIES_BY_IMID, {"imids": imids[start : start + 500]}):
            if tenant in caller.tenants:
                found.add((imid, recipient))
    return found


def _stored(
    connection: Connection, caller: VendorCaller, items: Sequence[VerdictSubmission]
) -> dict[Key, tuple[str, str, dict[str, Any]]]:
    ids = sorted({i.vendorVerdictId for i in items})
    found: dict[Key, tuple[str, str, dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        for row in connection.execute(
            _STORED_BY_VERDICT_ID, {"vendor_id": caller.vendor_id, "ids": ids[start : start + 500]}
        ):
            found[(row[0], row[1], row[2], row[3])] = (row[4], row[5], row[6] or {})
    return found


# ------------------------------------------------------------------------------------------- status


def status_json(row: VerdictIntake) -> dict[str, Any]:
    """The status view of one accepted verdict: pending, or completed with what it did."""
    item = row.submission
    outcome = row.outcome or {}
    body: dict[str, Any] = {
        "id": row.id,
        "vendorVerdictId": row.vendor_verdict_id,
        "status": row.status,
        "networkMessageId": row.network_message_id or next(iter(outcome.get("networkMessageIds", [])), ""),
        "internetMessageId": row.internet_message_id or outcome.get("internetMessageId", ""),
        "recipient": row.recipient,
        "verdict": Verdict(parse_verdict(item["verdict"])).value,
        "confidence": item["confidence"],
        "receivedDateTime": iso_utc(row.received_at),
        "threatDetails": item.get("threatDetails", {}),
    }
    if row.status == COMPLETED:
        body["appliedDateTime"] = iso_utc(row.applied_at) if row.applied_at else None
        body["changedOutcome"] = bool(outcome.get("changedOutcome"))
        body["replayed"] = bool(outcome.get("replayed"))
        body["results"] = list(outcome.get("results", []))
    return body


def verdict_status(services: Services, caller: VendorCaller, verdict_id: str) -> dict[str, Any]:
    """An accepted verdict and (once applied) what it did; NotFound unless the caller submitted it."""
    with services.sessions() as session:
        row = session.scalar(select(VerdictIntake).where(VerdictIntake.id == verdict_id))
        if row is None or row.vendor_id != caller.vendor_id:
            raise NotFound(f"no verdict {verdict_id!r}")
        return status_json(row)
