"""Time-of-click protection: which links are rewritten and how, what the click route decides and logs.
Mail goes through the real pipeline into Maildir; the click is an HTTP request to the real app."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ramparts.delivery import safe_links
from ramparts.delivery.mailbox import Folder
from ramparts.store.models import ListEntry
from tests.vendors.support import World, make_world, submission

BASE = "https://mx.contoso.example"
ALICE = "alice@contoso.example"
KEY = b"k" * 32


def wrap(url: str) -> str:
    return safe_links.wrapped(BASE, KEY, url, "nmid-1", ALICE, "tenant-1")


def test_text_links_are_wrapped_and_punctuation_stays_outside() -> None:
    text = "See https://portal.example/a?x=1&y=2. Or (http://b.example/c)! Not ftp://x.example nor mailto:a@b"
    rewritten = safe_links.rewrite_text(text, wrap, BASE)
    assert rewritten.startswith(f"See {wrap('https://portal.example/a?x=1&y=2')}. Or ({wrap('http://b.example/c')})!")
    assert rewritten.endswith("Not ftp://x.example nor mailto:a@b")
    assert safe_links.rewrite_text(rewritten, wrap, BASE) == rewritten  # never wrapped twice


def test_html_hrefs_are_wrapped_with_entities_undone_and_images_left() -> None:
    markup = '<a href="https://p.example/a?x=1&amp;y=2">go</a><img src="https://img.example/i.png"><a href=\'#top\'>'
    rewritten = safe_links.rewrite_html(markup, wrap, BASE)
    target = parse_qs(urlsplit(rewritten.split('"')[1].replace("&amp;", "&")).query)["url"]
    assert target == ["https://p.example/a?x=1&y=2"]
    assert '<img src="https://img.example/i.png">' in rewritten and "href='#top'" in rewritten


def _mail(body: str, html: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "adele@partner.example"
    message["To"] = ALICE
    message["Subject"] = "Links"
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def test_messages_without_links_or_with_signatures_keep_their_bytes() -> None:
    plain = _mail("no links at all\n").as_bytes()
    assert safe_links.rewrite_message(plain, wrap, BASE) == plain
    signed = EmailMessage()
    signed["From"] = "adele@partner.example"
    signed.set_content("signed https://p.example/a\n")
    signed.make_mixed()
    signed.replace_header("Content-Type", 'multipart/signed; protocol="application/pkcs7-signature"; boundary="b"')
    raw = signed.as_bytes()
    assert safe_links.rewrite_message(raw, wrap, BASE) == raw
    attached = _mail("body without links\n")
    attached.add_attachment("notes with https://p.example/z", filename="notes.txt")
    assert safe_links.rewrite_message(attached.as_bytes(), wrap, BASE) == attached.as_bytes()


def test_signatures_cover_every_field() -> None:
    good = safe_links.signature(KEY, "https://p.example", "n", ALICE, "t")
    assert safe_links.verify(KEY, "https://p.example", "n", ALICE, "t", good)
    assert not safe_links.verify(KEY, "https://evil.example", "n", ALICE, "t", good)
    assert not safe_links.verify(KEY, "https://p.example", "n", "bob@contoso.example", "t", good)
    assert not safe_links.verify(b"x" * 32, "https://p.example", "n", ALICE, "t", good)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path, safe_links_url=BASE + "/")
    yield made
    made.services.close()


def _delivered_links(world: World) -> list[str]:
    folder = world.mailbox.folder_path(ALICE, Folder.INBOX)
    (path,) = [p for sub in ("new", "cur") for p in (folder / sub).iterdir()]
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(("plain",))
    assert body is not None
    return [word.rstrip(".") for word in body.get_content().split() if word.startswith("http")]


def _click(world: World, link: str) -> tuple[int, str, str]:
    parts = urlsplit(link)
    answer = world.call("GET", parts.path + "?" + parts.query, follow_redirects=False)
    world.clock.advance(seconds=1)  # each click its own Timestamp
    return answer.status_code, answer.headers.get("location", ""), answer.text


def _clicks(world: World) -> list[tuple[str, str, str, str]]:
    rows = world.sql('SELECT Url, ActionType, AccountUpn, ThreatTypes FROM "UrlClickEvents" ORDER BY Timestamp')
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_clicks_are_checked_logged_and_blocked_once_the_message_turns_out_bad(world: World) -> None:
    nmid = world.deliver("Quarterly report", ALICE)  # its body holds one http://partner.example/... link
    (link,) = _delivered_links(world)
    assert link.startswith(BASE + safe_links.CLICK_PATH)
    original = parse_qs(urlsplit(link).query)["url"][0]
    assert original.startswith("http://partner.example/")

    assert _click(world, link)[:2] == (302, original)
    tampered = link.replace("partner.example", "evil.example")
    assert _click(world, tampered)[0] == 400

    world.add_vendor("Acme", "contoso")
    verdict = world.call("POST", "/ices/v1/verdicts:batch", world.token("Acme"),
                         json={"verdicts": [submission(nmid, "Phishing", "a-1")]})  # fmt: skip
    assert verdict.status_code == 202, verdict.text
    world.settle()
    status, location, page = _click(world, link)
    assert (status, location) == (200, "")
    assert "blocked" in page and "Phishing" in page and "<script" not in page

    with world.services.sessions.begin() as session:
        blocked = ListEntry(tenant_id=world.tenants["contoso"], kind="domain", action="block", value="partner.example")
        session.add(blocked)
    assert _click(world, link)[0] == 200
    world.services.writer.flush()
    assert _clicks(world) == [
        (original, "ClickAllowed", ALICE, ""),
        (original, "ClickBlocked", ALICE, "Phish"),
        (original, "ClickBlockedByTenantPolicy", ALICE, ""),
    ]


def test_only_web_links_are_followed(world: World) -> None:
    key = safe_links.load_key(world.services.settings.data_dir)
    tenant = world.tenants["contoso"]
    link = safe_links.wrapped(BASE, key, "javascript:alert(1)", "n", ALICE, tenant)
    parts = urlsplit(link)
    answer = world.call("GET", parts.path + "?" + parts.query, follow_redirects=False)
    assert answer.status_code == 400 and "only web links" in answer.text


def test_a_client_hammering_the_route_is_slowed_down(world: World) -> None:
    answers = [world.call("GET", safe_links.CLICK_PATH + "?url=x").status_code for _ in range(121)]
    assert answers[:120] == [400] * 120  # not a link ramparts wrote
    assert answers[120] == 429
    world.clock.advance(seconds=61)
    assert world.call("GET", safe_links.CLICK_PATH + "?url=x").status_code == 400
