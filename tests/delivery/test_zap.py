"""Post-delivery remediation on real Maildir mailboxes: ZAP rules, quarantine, telemetry rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ramparts.delivery.mailbox import Folder
from ramparts.delivery.zap import ALLOWED_BY_TENANT, allow_override, remediate_copy, zap_plan
from ramparts.domain.enums import DeliveryLocation
from ramparts.domain.verdicts import Verdict
from ramparts.errors import NotFound
from ramparts.policy.decide import decide
from ramparts.policy.presets import STANDARD, STRICT
from ramparts.store.models import ListEntry, MessageCopy, QuarantineRecord
from tests.vendors.support import World, make_world, submission

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ALICE = "alice@contoso.example"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    yield made
    made.services.close()


def plan(verdict: Verdict, location: str = DeliveryLocation.INBOX, age_hours: float = 1, policy: object = STANDARD):
    assert policy is STANDARD or policy is STRICT or dataclasses.is_dataclass(policy)
    return zap_plan(
        verdict,
        decide(verdict, policy),  # type: ignore[arg-type]
        policy,  # type: ignore[arg-type]
        current_location=location,
        delivered_at=NOW - dt.timedelta(hours=age_hours),
        now=NOW,
    )


def test_zap_rules_are_defenders() -> None:
    assert plan(Verdict.PHISH).action == "quarantine"
    assert plan(Verdict.MALWARE).action == "quarantine"
    assert plan(Verdict.SPAM).action == "moveToJunk"
    assert plan(Verdict.SPAM).only_if_unread and not plan(Verdict.PHISH).only_if_unread
    assert plan(Verdict.SPAM, policy=STRICT).action == "quarantine"
    assert plan(Verdict.DELETED).action == "softDelete"
    assert plan(Verdict.PHISH, age_hours=47.9).action == "quarantine"
    assert plan(Verdict.PHISH, age_hours=48.1).reason == "outsideZapWindow"
    assert plan(Verdict.SPAM, location=DeliveryLocation.JUNK).reason == "sameOrStrongerActionApplied"
    assert plan(Verdict.PHISH, location=DeliveryLocation.JUNK).action == "quarantine"
    assert plan(Verdict.PHISH, location=DeliveryLocation.QUARANTINE).reason == "notInMailbox"
    no_phish_zap = dataclasses.replace(STANDARD, phish_zap=False, spam_zap=False, malware_zap=False)
    assert plan(Verdict.PHISH, policy=no_phish_zap).reason == "zapDisabled"
    assert plan(Verdict.SPAM, policy=no_phish_zap).reason == "zapDisabled"
    assert plan(Verdict.MALWARE, policy=no_phish_zap).reason == "zapDisabled"
    assert plan(Verdict.HIGH_CONFIDENCE_PHISH, policy=no_phish_zap).action == "quarantine"
    assert plan(Verdict.PHISH).action_type == "Phish ZAP"
    assert plan(Verdict.MALWARE).action_type == "Malware ZAP"
    assert plan(Verdict.SPAM).action_type == "Spam ZAP"


def _inbox_files(world: World, recipient: str, folder: Folder = Folder.INBOX) -> list[Path]:
    base = world.mailbox.folder_path(recipient, folder)
    return [p for sub in ("new", "cur") if (base / sub).is_dir() for p in (base / sub).iterdir()]


def _submit(world: World, *items: dict[str, object]) -> dict[str, object]:
    world.add_vendor("Acme", "contoso") if "Acme" not in world.vendors else None
    token = world.token("Acme")
    response = world.call("POST", "/ices/v1/verdicts:batch", token, json={"verdicts": list(items)})
    answered = response.json()["value"]
    applied = world.outcomes(token, response)  # the verdicts are applied in the background: wait for them
    value = [
        {**status, "location": a.get("location"), "replayed": a.get("replayed")}
        for a, status in zip(answered, applied, strict=True)
    ]
    return {"value": value}


def test_phish_verdict_takes_the_file_out_of_the_maildir_into_quarantine(world: World) -> None:
    nmid = world.deliver("Quarterly numbers", ALICE)
    assert len(_inbox_files(world, ALICE)) == 1
    _submit(world, submission(nmid, "Phishing"))
    assert _inbox_files(world, ALICE) == []
    with world.services.sessions() as session:
        held = session.scalar(select(QuarantineRecord).where(QuarantineRecord.network_message_id == nmid))
        copy = session.get(MessageCopy, (nmid, ALICE))
    assert (
        held is not None
        and held.quarantine_type == "Phish"
        and held.tag_name == "DefaultFullAccessWithNotificationPolicy"
    )
    assert copy is not None and copy.verdict == "Phishing" and copy.original_verdict == "Clean"
    assert copy.latest_location == "Quarantine" and copy.delivery_location == "Inbox/folder"
    rows = world.sql(
        'SELECT "Action", "ActionType", "ActionTrigger", "ActionResult", "DeliveryLocation", "SourceLocation", '
        '"ThreatTypes", "DetectionMethods", "RecipientEmailAddress", "SenderFromAddress", "TenantId" '
        'FROM "EmailPostDeliveryEvents"'
    )
    assert rows == [
        (
            "Moved to quarantine",
            "Phish ZAP",
            "ThirdParty",
            "Success",
            "Quarantine",
            "Inbox/folder",
            "Phish",
            '{"Phish":["Thirdparty: Acme"]}',
            ALICE,
            "adele@partner.example",
            world.tenants["contoso"],
        )
    ]
    events = world.sql(
        'SELECT "DeliveryLocation", "DeliveryAction", "LatestDeliveryLocation", "LatestDeliveryAction", "ThreatTypes" '
        'FROM "EmailEvents" WHERE "NetworkMessageId" = ?',
        nmid,
    )
    assert events == [("Inbox/folder", "Delivered", "Quarantine", "Quarantined", "")]


def test_spam_verdict_moves_the_file_to_junk(world: World) -> None:
    nmid = world.deliver("Great offer", ALICE)
    _submit(world, submission(nmid, "Spam"))
    assert _inbox_files(world, ALICE) == []
    junk = _inbox_files(world, ALICE, Folder.JUNK)
    assert len(junk) == 1 and nmid in junk[0].name
    assert world.sql('SELECT "Action", "ActionType", "DeliveryLocation" FROM "EmailPostDeliveryEvents"') == [
        ("Moved to junk folder", "Spam ZAP", "Junk folder")
    ]
    assert world.sql('SELECT "LatestDeliveryLocation", "LatestDeliveryAction" FROM "EmailEvents"') == [
        ("Junk folder", "Moved to junk folder")
    ]


def _mark_read(world: World, recipient: str) -> None:
    (path,) = _inbox_files(world, recipient)
    os.replace(path, path.parent.parent / "cur" / (path.name + ":2,S"))


def test_read_spam_stays_but_read_phish_moves(world: World) -> None:
    spam = world.deliver("Cheap watches", ALICE)
    phish = world.deliver("Reset your password", "bob@contoso.example")
    _mark_read(world, ALICE)
    _mark_read(world, "bob@contoso.example")
    body = _submit(world, submission(spam, "Spam", "s-1"), submission(phish, "Phishing", "p-1"))
    assert [v["changedOutcome"] for v in body["value"]] == [True, True]  # type: ignore[index]
    assert len(_inbox_files(world, ALICE)) == 1
    assert _inbox_files(world, "bob@contoso.example") == []
    assert world.sql('SELECT "NetworkMessageId", "ActionResult" FROM "EmailPostDeliveryEvents"') == [(phish, "Success")]
    status = world.call("GET", body["value"][0]["location"], world.token("Acme")).json()  # type: ignore[index]
    assert status["results"][0]["reason"] == "spamAlreadyRead" and status["results"][0]["actionResult"] == ""


def test_only_mail_delivered_in_the_last_48_hours_is_purged(world: World) -> None:
    old = world.deliver("Old mail", ALICE)
    world.clock.advance(hours=48, minutes=1)
    recent = world.deliver("Recent mail", "bob@contoso.example")
    body = _submit(world, submission(old, "Malware", "m-1"), submission(recent, "Malware", "m-2"))
    assert len(_inbox_files(world, ALICE)) == 1
    assert _inbox_files(world, "bob@contoso.example") == []
    token = world.token("Acme")
    first = world.call("GET", body["value"][0]["location"], token).json()  # type: ignore[index]
    assert first["changedOutcome"] is True and first["results"][0]["reason"] == "outsideZapWindow"
    assert world.sql('SELECT "NetworkMessageId", "ActionType" FROM "EmailPostDeliveryEvents"') == [
        (recent, "Malware ZAP")
    ]


def test_a_copy_the_user_deleted_records_the_result_and_is_not_retried(world: World) -> None:
    nmid = world.deliver("Deleted already", ALICE)
    (path,) = _inbox_files(world, ALICE)
    path.unlink()
    body = _submit(world, submission(nmid, "High confidence phishing"))
    assert body["value"][0]["status"] == "completed"  # type: ignore[index]
    rows = world.sql('SELECT "ActionResult", "DeliveryLocation", "SourceLocation" FROM "EmailPostDeliveryEvents"')
    assert rows == [("MessageAlreadyDeleted", "Inbox/folder", "Inbox/folder")]
    again = _submit(world, submission(nmid, "High confidence phishing"))
    assert again["value"][0]["replayed"] is True  # type: ignore[index]
    assert len(world.sql('SELECT 1 FROM "EmailPostDeliveryEvents"')) == 1
    with world.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(QuarantineRecord)) == 0


def test_a_stronger_action_already_applied_is_not_repeated(world: World) -> None:
    nmid = world.deliver("Already junk", ALICE, verdict=Verdict.SPAM)
    assert len(_inbox_files(world, ALICE, Folder.JUNK)) == 1
    body = _submit(world, submission(nmid, "High confidence spam"))  # Standard: HC spam -> quarantine
    assert _inbox_files(world, ALICE, Folder.JUNK) == []
    assert body["value"][0]["changedOutcome"] is True  # type: ignore[index]
    rows = world.sql('SELECT "SourceLocation", "DeliveryLocation" FROM "EmailPostDeliveryEvents"')
    assert rows == [("Junk folder", "Quarantine")]
    quarantined = world.deliver("Quarantined at delivery", "bob@contoso.example", verdict=Verdict.PHISH)
    body = _submit(world, submission(quarantined, "Malware", "m-9"))
    status = world.call("GET", body["value"][0]["location"], world.token("Acme")).json()  # type: ignore[index]
    assert status["results"][0]["finalVerdict"] == "Malware" and status["results"][0]["reason"] == "notInMailbox"
    assert len(world.sql('SELECT 1 FROM "EmailPostDeliveryEvents"')) == 1


def test_a_less_serious_verdict_changes_nothing_but_is_stored(world: World) -> None:
    nmid = world.deliver("Phish at delivery", ALICE, verdict=Verdict.PHISH)
    body = _submit(world, submission(nmid, "Spam"))
    assert body["value"][0]["changedOutcome"] is False  # type: ignore[index]
    status = world.call("GET", body["value"][0]["location"], world.token("Acme")).json()  # type: ignore[index]
    assert status["verdict"] == "Spam" and status["results"][0]["reason"] == "verdictNotMoreSerious"
    assert world.sql('SELECT 1 FROM "EmailPostDeliveryEvents"') == []


def test_admin_remediation_moves_and_releases(world: World) -> None:
    nmid = world.deliver("Admin target", ALICE)
    result = remediate_copy(
        world.services, network_message_id=nmid, recipient=ALICE, action="quarantine", actor="admin@contoso"
    )
    assert result.action_result == "Success" and _inbox_files(world, ALICE) == []
    released = remediate_copy(
        world.services, network_message_id=nmid, recipient=ALICE, action="moveToInbox", actor="admin@contoso"
    )
    assert released.action_result == "Success" and len(_inbox_files(world, ALICE)) == 1
    with world.services.sessions() as session:
        held = session.scalar(select(QuarantineRecord).where(QuarantineRecord.network_message_id == nmid))
    assert held is not None and held.release_status == "Released" and held.released_by == "admin@contoso"
    soft = remediate_copy(
        world.services, network_message_id=nmid, recipient=ALICE, action="softDelete", actor="admin@contoso"
    )
    assert soft.action_result == "Success" and len(_inbox_files(world, ALICE, Folder.DELETED)) == 1
    rows = world.sql('SELECT "Action", "ActionType", "ActionTrigger", "ActionResult" FROM "EmailPostDeliveryEvents"')
    assert sorted(rows) == sorted(
        [
            ("Moved to quarantine", "Manual remediation", "AdminAction", "Success"),
            ("Moved to inbox", "Manual remediation", "AdminAction", "Success"),
            ("Soft delete", "Manual remediation", "AdminAction", "Success"),
        ]
    )
    assert world.sql('SELECT "LatestDeliveryLocation", "LatestDeliveryAction" FROM "EmailEvents"') == [
        ("Deleted items", "Soft delete")
    ]
    with pytest.raises(NotFound):
        remediate_copy(
            world.services,
            network_message_id=nmid,
            recipient=ALICE,
            action="moveToJunk",
            actor="x",
            tenant_id=world.tenants["fabrikam"],
        )


def test_allow_entries_keep_zap_off_except_for_malware_and_high_confidence_phish() -> None:
    senders, domains = frozenset({"adele@partner.example"}), ("trusted.example",)
    sent = ("adele@partner.example", "bounce@mta.example")
    assert allow_override(Verdict.SPAM, sent, senders, ()) == ALLOWED_BY_TENANT
    assert allow_override(Verdict.PHISH, ("x@mail.trusted.example",), frozenset(), domains) == ALLOWED_BY_TENANT
    assert allow_override(Verdict.PHISH, ("x@untrusted.example",), senders, domains) == ""
    assert allow_override(Verdict.MALWARE, sent, senders, domains) == ""
    assert allow_override(Verdict.HIGH_CONFIDENCE_PHISH, sent, senders, domains) == ""


def _allow(world: World, kind: str, value: str) -> None:
    with world.services.sessions.begin() as session:
        session.add(ListEntry(tenant_id=world.tenants["contoso"], kind=kind, action="allow", value=value))


def test_zap_leaves_mail_from_an_allowed_sender_and_records_no_action(world: World) -> None:
    phish = world.deliver("Invoice attached", ALICE)
    malware = world.deliver("Invoice attached again", "bob@contoso.example")
    _allow(world, "domain", "partner.example")  # added after delivery: ZAP reads the current list
    body = _submit(world, submission(phish, "Phishing", "p-1"), submission(malware, "Malware", "m-1"))
    assert len(_inbox_files(world, ALICE)) == 1
    assert _inbox_files(world, "bob@contoso.example") == []
    status = world.call("GET", body["value"][0]["location"], world.token("Acme")).json()  # type: ignore[index]
    result = status["results"][0]
    assert result["reason"] == ALLOWED_BY_TENANT and result["actionResult"] == ""
    assert result["finalVerdict"] == "Phishing" and status["changedOutcome"] is True
    assert world.sql('SELECT "NetworkMessageId", "ActionType" FROM "EmailPostDeliveryEvents"') == [
        (malware, "Malware ZAP")
    ]


def test_an_admin_acts_on_allowed_mail_all_the_same(world: World) -> None:
    nmid = world.deliver("Allowed but bad", ALICE)
    _allow(world, "sender", "adele@partner.example")
    result = remediate_copy(
        world.services, network_message_id=nmid, recipient=ALICE, action="moveToJunk", actor="admin"
    )
    assert result.action_result == "Success"
    assert len(_inbox_files(world, ALICE, Folder.JUNK)) == 1
