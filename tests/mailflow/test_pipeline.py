from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from ramparts.mailflow.pipeline import MessageOutcome, Pipeline, Skipped
from ramparts.services import Services
from ramparts.store.models import MessageCopy, MessageRecord, QuarantineRecord, VerdictRecord
from tests.mailflow.conftest import ScriptedEngine, envelope_for, make_message


def run(pipeline: Pipeline, envelope, raw, on_durable=None, **kw):  # type: ignore[no-untyped-def]
    return asyncio.run(pipeline.process(envelope, raw, on_durable, **kw))


def events(services: Services, nmid: str) -> list[dict[str, object]]:
    columns, rows = services.telemetry.query('SELECT * FROM "EmailEvents" WHERE "NetworkMessageId" = ?', [nmid])
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_clean_mail_lands_in_the_inbox_with_its_rows(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    durable: list[str] = []
    envelope = envelope_for("Megan@Contoso.com")
    result = run(pipeline, envelope, make_message(), lambda: durable.append("done"))
    assert isinstance(result, list)
    [outcome] = result
    assert outcome.copies[0].decision.delivery_location.value == "Inbox/folder"
    assert outcome.network_message_id == envelope.network_message_id
    inbox = services.settings.mail_dir / "megan@contoso.com" / "new"
    assert len(list(inbox.iterdir())) == 1
    assert durable == []
    services.writer.flush()
    assert durable == ["done"]
    [row] = events(services, envelope.network_message_id)
    assert row["RecipientEmailAddress"] == "megan@contoso.com"
    assert row["DeliveryAction"] == "Delivered" and row["DeliveryLocation"] == "Inbox/folder"
    assert row["ThreatTypes"] == "" and row["EmailDirection"] == "Inbound"
    assert row["SenderFromAddress"] == "adele@partner.example" and row["SenderFromDomain"] == "partner.example"
    assert row["SenderMailFromDomain"] == "partner.example" and row["SenderIPv4"] == "203.0.113.9"
    assert row["AttachmentCount"] == 1 and row["UrlCount"] == 1
    assert json.loads(str(row["AuthenticationDetails"]))["SPF"] == "pass"
    assert row["IsFirstContact"] == 1
    assert row["TenantId"] == outcome.tenant_id
    _, urls = services.telemetry.query('SELECT "Url", "UrlDomain" FROM "EmailUrlInfo"')
    assert urls == [("https://portal.partner.example/q3", "portal.partner.example")]
    _, files = services.telemetry.query(
        'SELECT "FileName", "RecipientEmailAddress", "FileSize" FROM "EmailAttachmentInfo"'
    )
    assert files == [("q3.pdf", "megan@contoso.com", 13)]


def test_policy_is_chosen_per_recipient(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    envelope = envelope_for("megan@contoso.com", "lidia@contoso.com")
    [outcome] = run(pipeline, envelope, make_message(verdict="Spam"))
    places = {c.recipient: c.decision.delivery_location.value for c in outcome.copies}
    assert places == {"megan@contoso.com": "Junk folder", "lidia@contoso.com": "Quarantine"}
    assert len(list((services.settings.mail_dir / "megan@contoso.com" / ".Junk" / "new").iterdir())) == 1
    assert not (services.settings.mail_dir / "lidia@contoso.com").exists()
    with services.sessions() as session:
        [held] = session.scalars(select(QuarantineRecord)).all()
        assert held.recipient == "lidia@contoso.com"
        assert held.tag_name == "DefaultFullAccessWithNotificationPolicy"
        assert held.quarantine_type == "Spam" and held.policy_name == "Strict Preset Security Policy"
    services.writer.flush()
    rows = {r["RecipientEmailAddress"]: r for r in events(services, envelope.network_message_id)}
    assert rows["lidia@contoso.com"]["EmailAction"] == "Send to quarantine"
    assert rows["megan@contoso.com"]["EmailAction"] == "Moved to Junk folder"
    assert rows["megan@contoso.com"]["ThreatTypes"] == "Spam"
    assert json.loads(str(rows["megan@contoso.com"]["DetectionMethods"])) == {"Spam": ["Advanced filter"]}


def test_malware_is_quarantined_admin_only_for_thirty_days(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    [outcome] = run(pipeline, envelope_for("megan@contoso.com"), make_message(verdict="Malware"))
    assert outcome.verdict.value == "Malware"
    with services.sessions() as session:
        [held] = session.scalars(select(QuarantineRecord)).all()
        assert held.tag_name == "AdminOnlyAccessPolicy"
        assert (held.expires_at - held.received_at).days == 30
        assert held.policy_type == "AntiMalwarePolicy"


def test_recipients_of_two_tenants_get_separate_copies(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    envelope = envelope_for("megan@contoso.com", "dana@fabrikam.com", "stranger@elsewhere.org")
    outcomes = run(pipeline, envelope, make_message(bcl=5))
    assert isinstance(outcomes, list) and len(outcomes) == 2
    by_tenant = {o.tenant_id: o for o in outcomes}
    assert len({o.network_message_id for o in outcomes}) == 2
    assert envelope.network_message_id in {o.network_message_id for o in outcomes}
    locations = sorted(c.decision.delivery_location.value for o in outcomes for c in o.copies)
    assert locations == ["Inbox/folder", "Quarantine"]  # BCL 5: Standard delivers, Strict (fabrikam) quarantines
    services.writer.flush()
    _, tenants = services.telemetry.query('SELECT DISTINCT "TenantId" FROM "EmailEvents"')
    assert {t for (t,) in tenants} == set(by_tenant)


def test_processing_the_same_message_again_changes_nothing(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    envelope = envelope_for("megan@contoso.com")
    raw = make_message(verdict="Phishing")
    run(pipeline, envelope, raw)
    services.writer.flush()
    calls: list[int] = []
    [again] = run(pipeline, envelope, raw, lambda: calls.append(1))
    services.writer.flush()
    assert again.recovered
    assert calls == [1]
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MessageCopy)) == 1
        assert session.scalar(select(func.count()).select_from(QuarantineRecord)) == 1
        assert session.scalar(select(func.count()).select_from(VerdictRecord)) == 1
    assert len(events(services, envelope.network_message_id)) == 1


def test_telemetry_lost_in_a_crash_is_written_on_recovery(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    envelope = envelope_for("megan@contoso.com")
    raw = make_message()
    run(pipeline, envelope, raw)
    services.writer._pending = {name: [] for name in services.writer._pending}  # the crash: rows never flushed
    services.writer._count = 0
    [again] = run(pipeline, envelope, raw)
    services.writer.flush()
    assert again.recovered
    assert len(events(services, envelope.network_message_id)) == 1
    assert len(list((services.settings.mail_dir / "megan@contoso.com" / "new").iterdir())) == 1


def test_a_crashing_engine_is_a_gap_and_mail_still_flows(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    envelope = envelope_for("megan@contoso.com")
    [outcome] = run(pipeline, envelope, make_message(verdict="explode"))
    assert outcome.copies[0].decision.delivery_location.value == "Inbox/folder"
    with services.sessions() as session:
        record = session.get(MessageRecord, envelope.network_message_id)
        assert record is not None and record.engine_gaps and "engine crashed" in record.engine_gaps[0]
    services.writer.flush()
    [row] = events(services, envelope.network_message_id)
    assert "engine crashed" in json.loads(str(row["AdditionalFields"]))["EngineGaps"][0]


def test_mail_for_nobody_of_ours_is_skipped(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    called: list[int] = []
    result = run(pipeline, envelope_for("x@elsewhere.org"), make_message(), lambda: called.append(1))
    assert isinstance(result, Skipped) and "accepted domain" in result.reason
    assert called == [1]
    forced = run(pipeline, envelope_for("x@elsewhere.org"), make_message(), tenant="contoso")
    assert isinstance(forced, list) and isinstance(forced[0], MessageOutcome)
    unknown = run(pipeline, envelope_for("x@elsewhere.org"), make_message(), tenant="nope")
    assert isinstance(unknown, Skipped) and "unknown tenant" in unknown.reason


def test_first_contact_only_once_per_pair(services: Services) -> None:
    pipeline = Pipeline(services, engines=[ScriptedEngine()])
    first, second = envelope_for("megan@contoso.com"), envelope_for("megan@contoso.com")
    run(pipeline, first, make_message())
    run(pipeline, second, make_message())
    services.writer.flush()
    assert events(services, first.network_message_id)[0]["IsFirstContact"] == 1
    assert events(services, second.network_message_id)[0]["IsFirstContact"] == 0
