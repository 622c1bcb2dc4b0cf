"""kill -9 in the middle of a load: every message that got a 250 is delivered or quarantined exactly once."""

from __future__ import annotations

import email.parser
import email.utils
import smtplib
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest
from sqlalchemy import select

from ramparts.config import load_settings
from ramparts.store.db import open_control_plane
from ramparts.store.models import MessageCopy, MessageRecord, QuarantineRecord
from tests.e2e.conftest import ServerProcess

CLIENTS = 8
PER_CLIENT = 150
KILL_AFTER_ACKS = 500
DEADLINE = 80.0
USERS = ("alice", "bob", "carol", "dave", "erin")


def message(index: int) -> tuple[str, str, bytes]:
    message_id = f"e2e-{index}-{uuid.uuid4().hex}@load.partner.example"
    recipient = f"{USERS[index % len(USERS)]}@example.com"
    raw = (
        f"From: Sender {index % 17} <sender{index % 17}@partner.example>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: Load test message {index}\r\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello, this is message {index} of the crash-recovery test.\r\n"
        "Nothing to see here: the agenda for Thursday is unchanged.\r\n"
    ).encode()
    return message_id, recipient, raw


@dataclass
class Load:
    acked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Sent but without a 250 seen: may or may not have been spooled, so delivered at most once."""
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_all(address: tuple[str, int], messages: list[tuple[str, str, bytes]], load: Load, deadline: float) -> None:
    client: smtplib.SMTP | None = None
    try:
        for message_id, recipient, raw in messages:
            while client is None:
                if time.monotonic() > deadline:
                    with load.lock:
                        load.errors.append("gave up connecting")
                    return
                try:
                    client = smtplib.SMTP(*address, local_hostname="mx.partner.example", timeout=20)
                except OSError:
                    client = None
                    time.sleep(0.05)  # the server is being restarted; poll until it listens again
            try:
                client.sendmail("bounce@partner.example", [recipient], raw)
            except (smtplib.SMTPException, OSError) as exc:
                with load.lock:
                    load.unknown.append(message_id)
                    if not isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
                        load.errors.append(repr(exc))
                client.close()
                client = None
                continue
            with load.lock:
                load.acked.append(message_id)
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def wait_for(condition: object, timeout: float, what: str, server: ServerProcess) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{server.log_tail()}")
        time.sleep(0.05)


def normalise(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def maildir_message_ids(root: Path) -> Counter[str]:
    parser = email.parser.BytesHeaderParser()
    found: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file() and path.parent.name in {"new", "cur"}:
            with path.open("rb") as handle:
                headers = parser.parse(handle)
            found[normalise(str(headers.get("Message-ID", "")))] += 1
    return found


@pytest.mark.slow
def test_every_acknowledged_message_survives_kill_9_exactly_once(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    started = time.monotonic()
    deadline = started + DEADLINE
    messages = [message(i) for i in range(CLIENTS * PER_CLIENT)]
    load = Load()
    threads = [
        threading.Thread(
            target=send_all, args=(server.smtp_address, messages[i::CLIENTS], load, deadline), name=f"client-{i}"
        )
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()

    wait_for(lambda: len(load.acked) >= KILL_AFTER_ACKS, DEADLINE, f"{KILL_AFTER_ACKS} acks", server)
    acked_before_kill = len(load.acked)
    ack_rate = acked_before_kill / (time.monotonic() - started)
    server.kill()
    spooled_at_kill = len(list(server.spool_incoming.glob("*.msg")))
    server.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not thread.is_alive(), "a client thread did not finish"
    assert load.errors == [], load.errors[:5]
    assert len(load.acked) + len(load.unknown) == len(messages)
    assert len(load.acked) >= len(messages) - 4 * CLIENTS, "most messages are acknowledged"

    wait_for(lambda: not any(server.spool_incoming.glob("*.msg")), 60, "an empty spool", server)
    assert server.stop() == 0, server.log_tail()
    assert not (server.data_dir / "server.json").exists()
    assert list((server.data_dir / "spool" / "failed").iterdir()) == []

    settings = load_settings(server.data_dir)
    sessions = open_control_plane(settings.control_url)
    with sessions() as session:
        copies = session.execute(
            select(MessageRecord.internet_message_id, MessageCopy.delivery_location, MessageCopy.recipient).join(
                MessageCopy, MessageCopy.network_message_id == MessageRecord.network_message_id
            )
        ).all()
        quarantined = Counter(
            normalise(imid)
            for (imid,) in session.execute(
                select(MessageRecord.internet_message_id).join(
                    QuarantineRecord, QuarantineRecord.network_message_id == MessageRecord.network_message_id
                )
            ).all()
        )
    sessions.kw["bind"].dispose()
    copy_count = Counter(normalise(imid) for imid, _, _ in copies)
    location = {normalise(imid): loc for imid, loc, _ in copies}
    delivered = maildir_message_ids(settings.mail_dir)
    with duckdb.connect(str(settings.telemetry_path), read_only=True) as telemetry:
        events = Counter(
            {
                normalise(str(imid)): int(n)
                for imid, n in telemetry.execute(
                    'SELECT "InternetMessageId", count(*) FROM "EmailEvents" GROUP BY 1'
                ).fetchall()
            }
        )

    problems = []
    for message_id in load.acked:
        if copy_count[message_id] != 1:
            problems.append(f"{message_id}: {copy_count[message_id]} MessageCopy rows")
        elif location[message_id] == "Quarantine":
            if quarantined[message_id] != 1 or delivered[message_id] != 0:
                problems.append(f"{message_id}: quarantined {quarantined[message_id]}, files {delivered[message_id]}")
        elif delivered[message_id] != 1:
            problems.append(f"{message_id}: {delivered[message_id]} mailbox files ({location[message_id]})")
        if events[message_id] != 1:
            problems.append(f"{message_id}: {events[message_id]} EmailEvents rows")
    for message_id in load.unknown:
        if copy_count[message_id] > 1 or delivered[message_id] > 1 or events[message_id] > 1:
            problems.append(f"{message_id} (no 250 seen) handled more than once")
    known = set(load.acked) | set(load.unknown)
    phantoms = [m for m in list(copy_count) + list(delivered) if m not in known]
    assert phantoms == []
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:5]}"
    print(
        f"\n{len(load.acked)} acked ({acked_before_kill} before kill -9, {ack_rate:.0f} msg/s), "
        f"{len(load.unknown)} unknown, {spooled_at_kill} in the spool at the kill, "
        f"{sum(1 for m in load.unknown if copy_count[m])} of the unknown were delivered; "
        f"{time.monotonic() - started:.1f} s"
    )


def test_serve_accepts_mail_answers_http_and_stops_cleanly_on_sigterm(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    response = httpx.get(f"{server.http_url}/healthz", timeout=10)
    assert response.status_code == 200
    message_id, recipient, raw = message(0)
    with smtplib.SMTP(*server.smtp_address, timeout=20) as client:
        assert client.ehlo()[0] == 250
        client.sendmail("bounce@partner.example", [recipient], raw)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("bounce@partner.example", ["someone@not-ours.example"], raw)
    mail_dir = server.data_dir / "mailboxes"
    wait_for(lambda: maildir_message_ids(mail_dir)[message_id] == 1, 30, "delivery", server)
    wait_for(lambda: not any(server.spool_incoming.glob("*.msg")), 30, "an empty spool", server)
    assert server.stop() == 0, server.log_tail()
    assert not (server.data_dir / "server.json").exists()
    assert f"ramparts listening: SMTP on 127.0.0.1:{server.smtp_port}" in server.log_path.read_text()
