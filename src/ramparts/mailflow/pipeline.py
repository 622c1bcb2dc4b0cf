"""The pipeline: parse, judge with every native engine, merge, apply each recipient's policy,
deliver or quarantine, record, and queue the hunting rows.

Exactly once: delivery is idempotent per (message, recipient), the control-plane rows of a message
are written in one transaction keyed by its NetworkMessageId, and the spool entry is released only
through `on_durable`, after the telemetry batch holding the message's rows is committed and the
disk synced. A message seen again after a crash is recognised by its NetworkMessageId: nothing is
delivered twice, and only what is missing (its telemetry) is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, insert, select, tuple_
from sqlalchemy.orm import Session

from ramparts.delivery import safe_links
from ramparts.delivery.backends import backend_for
from ramparts.delivery.mailbox import FOLDER_FOR_LOCATION, MailboxBackend
from ramparts.detection.engine import Engine, EngineVerdict
from ramparts.detection.merge import MergedVerdict, merge
from ramparts.domain.enums import DeliveryLocation, UrlLocation
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage
from ramparts.mailflow.parse import parse_message
from ramparts.mailflow.tenancy import TenantDirectory, TenantInfo
from ramparts.policy.decide import Decision, decide
from ramparts.services import Services
from ramparts.store.models import ContactPair, MessageCopy, MessageRecord, QuarantineRecord, VerdictRecord
from ramparts.telemetry.rows import CopyFacts, Row, build_rows

log = logging.getLogger(__name__)

OnDurable = Callable[[], None]
_PARSE_IN_THREAD_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class CopyOutcome:
    recipient: str
    decision: Decision
    mailbox_ref: str


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    network_message_id: str
    tenant_id: str
    internet_message_id: str
    verdict: Verdict
    copies: tuple[CopyOutcome, ...]
    engine_verdicts: tuple[EngineVerdict, ...]
    recovered: bool = False
    """True when the message had been handled before a restart and only its telemetry was completed."""


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


@dataclass
class _ControlRows:
    """Control-plane rows of a batch, inserted with one executemany per table."""

    messages: list[dict[str, object]] = field(default_factory=list)
    verdicts: list[dict[str, object]] = field(default_factory=list)
    copies: list[dict[str, object]] = field(default_factory=list)
    quarantine: list[dict[str, object]] = field(default_factory=list)

    def insert(self, session: Session) -> None:
        for model, rows in (
            (MessageRecord, self.messages),
            (VerdictRecord, self.verdicts),
            (MessageCopy, self.copies),
            (QuarantineRecord, self.quarantine),
        ):
            if rows:
                table = model.__table__
                assert isinstance(table, Table)
                session.connection().execute(table.insert(), rows)  # Core executemany: no ORM bookkeeping


@dataclass
class _Work:
    envelope: Envelope
    raw: bytes
    on_durable: OnDurable | None
    tenant_override: str | None = None
    parsed: ParsedMessage | None = None
    groups: list[tuple[TenantInfo, str, list[str]]] = field(default_factory=list)
    """(tenant, network message id for that tenant's copy, recipients)."""


def tenant_message_id(network_message_id: str, tenant_id: str, first: bool) -> str:
    """Each tenant gets its own copy of a message with its own id, as in Microsoft 365."""
    if first:
        return network_message_id
    return str(uuid.uuid5(uuid.UUID(network_message_id), tenant_id))


class Pipeline:
    def __init__(
        self,
        services: Services,
        *,
        engines: Sequence[Engine] | None = None,
        mailbox: MailboxBackend | None = None,
        directory: TenantDirectory | None = None,
    ) -> None:
        self.services = services
        if engines is None:
            from ramparts.detection.registry import build_engines

            engines = build_engines(services.settings)
        self.engines = list(engines)
        self.mailbox = mailbox or _default_mailbox(services)
        self.directory = directory or TenantDirectory(services.sessions)

    async def process(
        self,
        envelope: Envelope,
        raw: bytes,
        on_durable: OnDurable | None = None,
        *,
        tenant: str | None = None,
    ) -> list[MessageOutcome] | Skipped:
        """Handle one spooled message. `tenant` forces every recipient into that tenant (bulk ingest)."""
        return (await self.process_batch([(envelope, raw, on_durable)], tenant=tenant))[0]

    async def process_batch(
        self,
        items: Sequence[tuple[Envelope, bytes, OnDurable | None]],
        *,
        tenant: str | None = None,
    ) -> list[list[MessageOutcome] | Skipped]:
        work = [_Work(env, raw, cb, tenant) for env, raw, cb in items]
        results: list[list[MessageOutcome] | Skipped] = [Skipped("")] * len(work)
        for item in work:
            item.parsed = await self._parse(item.raw)
        live: list[tuple[int, _Work]] = []
        for index, item in enumerate(work):
            reason = self._route(item)
            if reason:
                results[index] = Skipped(reason)
                if item.on_durable:
                    item.on_durable()
            else:
                live.append((index, item))
        if not live:
            return results
        known = self._already_handled([nmid for _, item in live for _, nmid, _ in item.groups])
        judged = await asyncio.gather(*(self._judge(item) for _, item in live))
        control = _ControlRows()
        with self.services.sessions.begin() as session:
            first_contacts = self._first_contacts(session, [item for _, item in live], known)
            outcomes: list[list[MessageOutcome]] = []
            telemetry: list[dict[str, list[Row]]] = []
            for (_, item), engine_sets in zip(live, judged, strict=True):
                message_outcomes = []
                message_rows: dict[str, list[Row]] = {}
                for (tenant_info, nmid, recipients), verdicts in zip(item.groups, engine_sets, strict=True):
                    outcome, rows = self._handle_copy_set(
                        session, control, item, tenant_info, nmid, recipients, verdicts, nmid in known, first_contacts
                    )
                    message_outcomes.append(outcome)
                    for table, table_rows in rows.items():
                        message_rows.setdefault(table, []).extend(table_rows)
                outcomes.append(message_outcomes)
                telemetry.append(message_rows)
            control.insert(session)
        for (index, item), message_outcomes, rows in zip(live, outcomes, telemetry, strict=True):
            results[index] = message_outcomes
            self.services.writer.add(rows, on_commit=item.on_durable)
        return results

    async def _parse(self, raw: bytes) -> ParsedMessage:
        if len(raw) > _PARSE_IN_THREAD_BYTES:
            parsed: ParsedMessage = await asyncio.to_thread(parse_message, raw)
            return parsed
        return parse_message(raw)

    def _route(self, item: _Work) -> str:
        """Split recipients by tenant; returns a reason when none is ours."""
        by_tenant: dict[str, tuple[TenantInfo, list[str]]] = {}
        forced = self.directory.by_name_or_id(item.tenant_override) if item.tenant_override else None
        if item.tenant_override and forced is None:
            return f"unknown tenant {item.tenant_override!r}"
        for recipient in dict.fromkeys(r.strip().lower() for r in item.envelope.rcpt_tos if r.strip()):
            tenant_info = forced or self.directory.for_address(recipient)
            if tenant_info is not None:
                by_tenant.setdefault(tenant_info.id, (tenant_info, []))[1].append(recipient)
        if not by_tenant:
            return "no recipient in an accepted domain"
        for position, tenant_id in enumerate(sorted(by_tenant)):
            tenant_info, recipients = by_tenant[tenant_id]
            nmid = tenant_message_id(item.envelope.network_message_id, tenant_id, position == 0)
            item.groups.append((tenant_info, nmid, recipients))
        return ""

    def _already_handled(self, nmids: list[str]) -> set[str]:
        with self.services.sessions() as session:
            found = session.scalars(
                select(MessageRecord.network_message_id).where(MessageRecord.network_message_id.in_(nmids))
            ).all()
        return set(found)

    async def _judge(self, item: _Work) -> list[list[EngineVerdict]]:
        assert item.parsed is not None
        per_tenant = []
        for tenant_info, _, _ in item.groups:
            per_tenant.append(self._run_engines(item.parsed, item.envelope, tenant_info))
        return list(await asyncio.gather(*per_tenant))

    async def _run_engines(self, parsed: ParsedMessage, envelope: Envelope, tenant: TenantInfo) -> list[EngineVerdict]:
        results = await asyncio.gather(
            *(engine.evaluate(parsed, envelope, tenant.context) for engine in self.engines), return_exceptions=True
        )
        verdicts: list[EngineVerdict] = []
        for engine, result in zip(self.engines, results, strict=True):
            if isinstance(result, BaseException):
                log.error("engine %s failed on %s: %r", engine.name, envelope.network_message_id, result)
                verdicts.append(EngineVerdict(engine.name, Verdict.CLEAN, 0.0, error=f"engine failed: {result!r}"))
            else:
                verdicts.append(result)
        return verdicts

    def _first_contacts(self, session: Session, items: list[_Work], known: set[str]) -> set[tuple[str, str, str]]:
        """(tenant, sender, recipient) triples seen for the first time in this batch; recorded as seen."""
        wanted: set[tuple[str, str, str]] = set()
        for item in items:
            assert item.parsed is not None
            sender = (item.parsed.from_.address if item.parsed.from_ else item.envelope.mail_from).lower()
            for tenant_info, nmid, recipients in item.groups:
                if nmid not in known and sender:
                    wanted.update((tenant_info.id, sender, r) for r in recipients)
        if not wanted:
            return set()
        existing: set[tuple[str, str, str]] = set()
        keys = sorted(wanted)
        for start in range(0, len(keys), 300):
            chunk = keys[start : start + 300]
            rows = session.execute(
                select(ContactPair.tenant_id, ContactPair.sender, ContactPair.recipient).where(
                    tuple_(ContactPair.tenant_id, ContactPair.sender, ContactPair.recipient).in_(chunk)
                )
            ).all()
            existing.update((r[0], r[1], r[2]) for r in rows)
        new = wanted - existing
        if new:
            session.execute(
                insert(ContactPair), [{"tenant_id": t, "sender": s, "recipient": r} for t, s, r in sorted(new)]
            )
        return new

    def _handle_copy_set(
        self,
        session: Session,
        control: _ControlRows,
        item: _Work,
        tenant: TenantInfo,
        nmid: str,
        recipients: list[str],
        verdicts: list[EngineVerdict],
        recovered: bool,
        first_contacts: set[tuple[str, str, str]],
    ) -> tuple[MessageOutcome, dict[str, list[Row]]]:
        parsed = item.parsed
        assert parsed is not None
        envelope = item.envelope
        merged = merge(verdicts)
        sender = (parsed.from_.address if parsed.from_ else envelope.mail_from).lower()
        decisions: list[tuple[str, Decision, str]] = []
        for recipient in recipients:
            policy = tenant.policy_for(recipient)
            decision = decide(
                merged.verdict,
                policy,
                family=merged.family,
                bulk_complaint_level=merged.bulk_complaint_level,
                dmarc_policy=merged.dmarc_policy,
            )
            decisions.append((recipient, decision, policy.guid))

        copies: list[CopyOutcome] = []
        if recovered:
            existing = {
                c.recipient: c
                for c in session.scalars(select(MessageCopy).where(MessageCopy.network_message_id == nmid)).all()
            }
            copies = [CopyOutcome(r, d, existing[r].mailbox_ref if r in existing else "") for r, d, _ in decisions]
        else:
            blob = self.services.blobs.put(item.raw, sync=False)
            links = any(url.location == UrlLocation.BODY for url in parsed.urls)
            received = envelope.received_at.timestamp()
            copies = [
                CopyOutcome(r, d, self._deliver(r, nmid, item.raw, d, received, tenant.id, links))
                for r, d, _ in decisions
            ]
            self._record(control, tenant, nmid, envelope, parsed, blob, merged, verdicts, copies)

        facts = [
            CopyFacts(
                recipient=r,
                recipient_object_id=tenant.mailboxes[r].id if r in tenant.mailboxes else "",
                decision=d,
                policy_guid=guid,
                first_contact=(tenant.id, sender, r) in first_contacts,
                priority_account=r in tenant.mailboxes and tenant.mailboxes[r].priority_account,
            )
            for r, d, guid in decisions
        ]
        rows: dict[str, list[Row]] = {}
        if not (recovered and self.services.telemetry.has_rows("EmailEvents", nmid)):
            sender_box = tenant.mailboxes.get(sender)
            rows = build_rows(
                tenant_id=tenant.id,
                network_message_id=nmid,
                envelope=envelope,
                parsed=parsed,
                merged=merged,
                copies=facts,
                sender_internal=tenant.is_internal(sender),
                sender_object_id=sender_box.id if sender_box else "",
                additional={"EngineGaps": list(merged.gaps)} if merged.gaps else None,
            )
        outcome = MessageOutcome(
            nmid, tenant.id, parsed.internet_message_id, merged.verdict, tuple(copies), tuple(verdicts), recovered
        )
        return outcome, rows

    def _deliver(
        self, recipient: str, nmid: str, raw: bytes, decision: Decision, received: float, tenant_id: str, links: bool
    ) -> str:
        folder = FOLDER_FOR_LOCATION.get(decision.delivery_location)
        if folder is None:
            return ""
        raw = safe_links.for_mailbox(
            self.services.settings, raw, network_message_id=nmid, recipient=recipient, tenant_id=tenant_id,
            has_links=links,
        )  # fmt: skip
        return self.mailbox.deliver(recipient, nmid, raw, folder, received=received)

    def _record(
        self,
        control: _ControlRows,
        tenant: TenantInfo,
        nmid: str,
        envelope: Envelope,
        parsed: ParsedMessage,
        blob: str,
        merged: MergedVerdict,
        verdicts: list[EngineVerdict],
        copies: list[CopyOutcome],
    ) -> None:
        received = envelope.received_at
        control.messages.append(
            {
                "network_message_id": nmid,
                "tenant_id": tenant.id,
                "internet_message_id": parsed.internet_message_id[:998],
                "received_at": received,
                "mail_from": envelope.mail_from[:320],
                "from_address": (parsed.from_.address if parsed.from_ else "")[:320],
                "subject": parsed.subject[:998],
                "size": parsed.size,
                "blob_sha256": blob,
                "source": envelope.source,
                "defects": list(parsed.defects[:50]),
                "engine_gaps": list(merged.gaps),
            }
        )
        for verdict in verdicts:
            control.verdicts.append(
                {
                    "id": str(uuid.uuid4()),
                    "tenant_id": tenant.id,
                    "network_message_id": nmid,
                    "recipient": "",
                    "source_kind": "engine",
                    "source": verdict.engine,
                    "source_verdict_id": "",
                    "verdict": verdict.verdict.value,
                    "confidence": verdict.confidence,
                    "threat_names": list(verdict.threat_names),
                    "explanation": verdict.explanation,
                    "details": {
                        "detection_methods": {k: list(v) for k, v in verdict.detection_methods.items()},
                        "bulk_complaint_level": verdict.bulk_complaint_level,
                        "spam_confidence_level": verdict.spam_confidence_level,
                        "authentication": verdict.authentication,
                        "policy_family": verdict.policy_family,
                        "error": verdict.error,
                    },
                    "received_at": received,
                    "changed_outcome": verdict.verdict is merged.verdict and verdict.verdict is not Verdict.CLEAN,
                }
            )
        for copy in copies:
            decision = copy.decision
            policy = tenant.policy_for(copy.recipient)
            control.copies.append(
                {
                    "network_message_id": nmid,
                    "recipient": copy.recipient,
                    "tenant_id": tenant.id,
                    "received_at": received,
                    "original_verdict": decision.verdict.value,
                    "verdict": decision.verdict.value,
                    "delivery_action": decision.delivery_action.value,
                    "delivery_location": decision.delivery_location.value,
                    "latest_location": decision.delivery_location.value,
                    "latest_action": decision.delivery_action.value,
                    "policy_name": policy.name,
                    "quarantine_tag": decision.quarantine_tag,
                    "mailbox_ref": copy.mailbox_ref,
                    "delivered_at": received if copy.mailbox_ref else None,
                }
            )
            if decision.delivery_location is DeliveryLocation.QUARANTINE:
                retention = _retention_days(decision, policy.quarantine_retention_days)
                control.quarantine.append(
                    {
                        "id": f"{uuid.uuid4()}\\{uuid.uuid4()}",
                        "tenant_id": tenant.id,
                        "network_message_id": nmid,
                        "recipient": copy.recipient,
                        "received_at": received,
                        "quarantined_at": received,
                        "quarantine_type": decision.quarantine_type,
                        "policy_type": decision.policy_type,
                        "policy_name": policy.name,
                        "tag_name": decision.quarantine_tag,
                        "expires_at": received + dt.timedelta(days=retention),
                        "release_status": "NotReleased",
                        "released_by": "",
                        "deleted": False,
                        "reported": False,
                    }
                )


def _retention_days(decision: Decision, policy_days: int) -> int:
    """Malware stays 30 days whatever the policy says; anti-spam verdicts follow the policy."""
    return 30 if decision.verdict is Verdict.MALWARE else policy_days


def _default_mailbox(services: Services) -> MailboxBackend:
    return backend_for(services.settings)
