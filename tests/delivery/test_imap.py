"""The IMAP mailbox backend against a real Dovecot: what the server holds after each action."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ramparts.config import Settings
from ramparts.delivery.backends import backend_for
from ramparts.delivery.imap import ImapBackend, ImapSettings, _Connection
from ramparts.delivery.mailbox import Folder
from ramparts.delivery.zap import mailbox_backend, use_mailbox
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.pipeline import Pipeline
from ramparts.store.models import MessageCopy, QuarantineRecord
from tests.delivery.dovecot_server import MASTER, MASTER_PASSWORD, NO_MOVE_CAPABILITY, Dovecot, running
from tests.vendors.support import World, make_world, submission

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@contoso.example"
USERS = [ALICE, BOB, CAROL]
RAW = b"From: adele@partner.example\r\nTo: alice@contoso.example\r\nSubject: hi\r\nMessage-ID: <m1@x>\r\n\r\nbody\r\n"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from running(USERS)


@pytest.fixture
def dovecot_without_move() -> Iterator[Dovecot]:
    yield from running(USERS, capability=NO_MOVE_CAPABILITY)


def settings_for(server: Dovecot) -> ImapSettings:
    return ImapSettings("127.0.0.1", server.port, tls="none", master_user=MASTER, master_password=MASTER_PASSWORD)


def backend(server: Dovecot, **options: Any) -> ImapBackend:
    return ImapBackend(settings_for(server), **options)


def server_logins(server: Dovecot, user: str, expected: int) -> int:
    """The logins Dovecot logged for the user (its log process writes a moment after the login)."""
    deadline = time.monotonic() + 5
    while server.logins(user) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    return server.logins(user)


def user_command(server: Dovecot, user: str, folder: str, *command: str) -> None:
    """Act as the user's own mail client on every message of a folder."""
    conn = server.user_session(user)
    try:
        conn.select(f'"{folder}"')
        _, data = conn.uid("SEARCH", "ALL")
        for uid in data[0].split():
            conn.uid(command[0], uid.decode(), *command[1:])
        if command[0] == "STORE" and "\\Deleted" in command[-1]:
            conn.expunge()
    finally:
        conn.logout()


def test_delivery_appends_once_into_the_chosen_folder(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    ref = box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX, received=1_772_000_000)
    assert box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX, received=1_772_000_000) == ref
    box.deliver(ALICE, "nmid-2", RAW, Folder.JUNK)
    assert dovecot.folder_ids(ALICE, "INBOX") == {"nmid-1": False}
    assert dovecot.folder_ids(ALICE, "Junk") == {"nmid-2": False}
    located = box.locate(ALICE, "nmid-1", ref=ref)
    assert located is not None and located.ref == ref and located.folder is Folder.INBOX and not located.read


def test_locate_reads_seen_and_follows_the_users_own_moves(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    ref = box.deliver(BOB, "nmid-1", RAW, Folder.INBOX)
    user_command(dovecot, BOB, "INBOX", "STORE", "+FLAGS", "(\\Seen)")
    located = box.locate(BOB, "nmid-1", ref=ref)
    assert located is not None and located.read
    conn = dovecot.user_session(BOB)
    conn.create('"Projects"')
    conn.logout()
    user_command(dovecot, BOB, "INBOX", "MOVE", '"Projects"')
    moved = box.locate(BOB, "nmid-1", ref=ref)
    assert moved is not None and moved.ref.startswith("imap:Projects:") and moved.read


def test_move_to_junk_and_soft_delete_with_move(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    ref = box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX)
    junk = box.move(ALICE, "nmid-1", Folder.JUNK, ref=ref)
    assert junk is not None and junk.folder is Folder.JUNK
    assert dovecot.folder_ids(ALICE, "INBOX") == {} and dovecot.folder_ids(ALICE, "Junk") == {"nmid-1": False}
    deleted = box.move(ALICE, "nmid-1", Folder.DELETED, ref=junk.ref)
    assert deleted is not None and deleted.folder is Folder.DELETED
    assert dovecot.folder_ids(ALICE, "Junk") == {} and dovecot.folder_ids(ALICE, "Trash") == {"nmid-1": False}


def _all_uids(server: Dovecot, user: str, folder: str) -> list[bytes]:
    conn = server.user_session(user)
    try:
        conn.select(f'"{folder}"')
        _, data = conn.uid("SEARCH", "ALL")
        return list(data[0].split())
    finally:
        conn.logout()


def test_a_server_without_move_gets_copy_and_uid_expunge_of_that_message_only(dovecot_without_move: Dovecot) -> None:
    server = dovecot_without_move
    box = backend(server)
    capabilities = box._run(ALICE, lambda conn: conn.imap.capabilities)
    assert "MOVE" not in capabilities and "UIDPLUS" in capabilities
    box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX)
    box.deliver(ALICE, "nmid-2", RAW, Folder.INBOX)
    conn = server.user_session(ALICE)
    conn.select("INBOX")
    _, data = conn.uid("SEARCH", "ALL")
    second = data[0].split()[1].decode()
    conn.uid("STORE", second, "+FLAGS", "(\\Deleted)")  # the user's own pending delete must survive
    conn.logout()
    assert box.move(ALICE, "nmid-1", Folder.JUNK) is not None
    assert server.folder_ids(ALICE, "Junk") == {"nmid-1": False}
    assert len(_all_uids(server, ALICE, "INBOX")) == 1  # nmid-1 expunged; nmid-2 still there, flagged


def test_quarantine_takes_the_copy_off_the_server_and_a_deleted_copy_is_reported_gone(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    box.deliver(CAROL, "nmid-1", RAW, Folder.INBOX)
    assert box.remove(CAROL, "nmid-1") is True
    assert _all_uids(dovecot, CAROL, "INBOX") == []
    assert box.remove(CAROL, "nmid-1") is False
    box.deliver(CAROL, "nmid-2", RAW, Folder.INBOX)
    user_command(dovecot, CAROL, "INBOX", "STORE", "+FLAGS", "(\\Deleted)")
    assert box.locate(CAROL, "nmid-2") is None
    assert box.move(CAROL, "nmid-2", Folder.JUNK) is None


def test_the_setting_selects_the_imap_backend(dovecot: Dovecot) -> None:
    settings = Settings(
        mailbox_backend="imap",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_tls="none",
        imap_master_user=MASTER,
        imap_master_password=MASTER_PASSWORD,
        imap_junk_folder="Spam",
    )
    box = backend_for(settings)
    assert isinstance(box, ImapBackend)
    box.deliver(BOB, "nmid-9", RAW, Folder.JUNK)
    assert dovecot.folder_ids(BOB, "Spam") == {"nmid-9": False}


# ----------------------------------------------------------------------------- connection reuse


def test_many_operations_for_one_user_log_in_once(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    refs = [box.deliver(ALICE, f"nmid-{i}", RAW, Folder.INBOX) for i in range(5)]
    for i, ref in enumerate(refs):
        located = box.locate(ALICE, f"nmid-{i}", ref=ref)  # an unread-spam ZAP: locate, then move
        assert located is not None and not located.read
        moved = box.move(ALICE, f"nmid-{i}", Folder.JUNK, ref=located.ref)
        assert moved is not None and moved.folder is Folder.JUNK
    assert box.remove(ALICE, "nmid-0", ref=refs[0]) is True
    assert box.move(ALICE, "nmid-1", Folder.INBOX) is not None
    assert box.logins == 1 and box.reconnects == 0
    assert server_logins(dovecot, ALICE, 1) == 1  # what the server saw, not only what the backend counted
    assert dovecot.folder_ids(ALICE, "Junk") == {f"nmid-{i}": False for i in range(2, 5)}
    assert dovecot.folder_ids(ALICE, "INBOX") == {"nmid-1": False}
    assert box.idle_connections() == 1
    box.close()
    assert box.idle_connections() == 0
    assert box.locate(ALICE, "nmid-1") is not None  # still works after close, keeping nothing
    assert box.logins == 2 and box.idle_connections() == 0


def test_pool_size_zero_logs_in_for_every_operation(dovecot: Dovecot) -> None:
    box = backend(dovecot, pool_size=0)
    ref = box.deliver(BOB, "nmid-1", RAW, Folder.INBOX)
    assert box.locate(BOB, "nmid-1", ref=ref) is not None
    assert box.move(BOB, "nmid-1", Folder.JUNK, ref=ref) is not None
    assert box.logins == 3 and box.idle_connections() == 0
    assert server_logins(dovecot, BOB, 3) == 3


def test_the_pool_keeps_the_least_recently_used_users_out(dovecot: Dovecot) -> None:
    box = backend(dovecot, pool_size=2)
    for user in USERS:
        box.deliver(user, "nmid-1", RAW, Folder.INBOX)
    assert box.logins == 3 and box.idle_connections() == 2  # Alice's connection was logged out
    box.locate(CAROL, "nmid-1")
    box.locate(BOB, "nmid-1")
    assert box.logins == 3
    box.locate(ALICE, "nmid-1")  # logs in again, and pushes Carol (least recently used) out
    assert box.logins == 4
    box.locate(BOB, "nmid-1")
    assert box.logins == 4
    box.locate(CAROL, "nmid-1")
    assert box.logins == 5
    box.close()


def test_a_connection_idle_too_long_is_logged_out_instead_of_reused(dovecot: Dovecot) -> None:
    box = backend(dovecot, max_idle=0.0)
    box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX)
    time.sleep(0.01)
    assert box.locate(ALICE, "nmid-1") is not None
    assert box.logins == 2 and box.idle_connections() == 1
    box.close()


def test_a_connection_the_server_killed_is_replaced_transparently(dovecot: Dovecot) -> None:
    box = backend(dovecot)
    ref = box.deliver(ALICE, "nmid-1", RAW, Folder.INBOX)
    assert box.locate(ALICE, "nmid-1", ref=ref) is not None
    assert dovecot.kill_sessions() == 1  # the server side of the pooled connection is gone
    moved = box.move(ALICE, "nmid-1", Folder.JUNK, ref=ref)
    assert moved is not None and moved.folder is Folder.JUNK
    assert box.logins == 2 and box.reconnects == 1
    assert dovecot.folder_ids(ALICE, "Junk") == {"nmid-1": False}
    assert box.remove(ALICE, "nmid-1", ref=moved.ref) is True
    assert box.logins == 2  # the replacement is pooled in turn
    box.close()


def test_a_restarted_server_is_noticed_by_noop_and_logged_into_again(dovecot: Dovecot) -> None:
    box = backend(dovecot, noop_after=0.0)  # NOOP before every reuse
    box.deliver(BOB, "nmid-1", RAW, Folder.INBOX)
    box.deliver(CAROL, "nmid-1", RAW, Folder.INBOX)
    dovecot.restart()
    assert box.locate(BOB, "nmid-1") is not None
    assert box.move(CAROL, "nmid-1", Folder.JUNK) is not None
    assert box.logins == 4 and box.reconnects == 2
    assert box.locate(BOB, "nmid-1") is not None and box.logins == 4  # a live connection passes the NOOP
    box.close()


class _Watched(ImapBackend):
    """Records any connection lent while already lent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lent: set[int] = set()
        self.handed_out: set[int] = set()
        """Every distinct connection lent so far."""
        self.clashes = 0
        self.guard = threading.Lock()

    def _checkout(self, recipient: str) -> _Connection:
        conn = super()._checkout(recipient)
        with self.guard:
            self.clashes += id(conn) in self.lent
            self.lent.add(id(conn))
            self.handed_out.add(id(conn))
        time.sleep(0.001)  # widen the window for a clash
        return conn

    def _returned(self, conn: _Connection) -> None:
        with self.guard:
            self.lent.discard(id(conn))

    def _checkin(self, conn: _Connection) -> None:
        self._returned(conn)
        super()._checkin(conn)

    def _discard(self, conn: _Connection) -> None:
        self._returned(conn)
        super()._discard(conn)


def test_two_threads_on_one_user_never_share_a_connection(dovecot: Dovecot) -> None:
    box = _Watched(settings_for(dovecot))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            start.wait()
            for i in range(12):
                nmid = f"{name}-{i}"
                ref = box.deliver(ALICE, nmid, RAW, Folder.INBOX)
                located = box.locate(ALICE, nmid, ref=ref)
                assert located is not None and located.ref == ref and located.folder is Folder.INBOX
                target = Folder.JUNK if i % 2 else Folder.DELETED
                moved = box.move(ALICE, nmid, target, ref=ref)
                assert moved is not None and moved.folder is target
                assert box.locate(ALICE, nmid, ref=moved.ref) == moved
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and box.clashes == 0
    assert box.reconnects == 0
    # each login made one connection, every one was reused, and no more were made than threads ran
    assert box.logins == len(box.handed_out) <= 2
    assert box.idle_connections() == box.logins  # all returned to the pool
    assert dovecot.folder_ids(ALICE, "INBOX") == {}
    assert set(dovecot.folder_ids(ALICE, "Junk")) == {f"{n}-{i}" for n in "ab" for i in range(1, 12, 2)}
    assert set(dovecot.folder_ids(ALICE, "Trash")) == {f"{n}-{i}" for n in "ab" for i in range(0, 12, 2)}
    box.close()


# ----------------------------------------------------------------------------- ZAP through the server


@pytest.fixture
def world(tmp_path: Any, dovecot: Dovecot) -> Iterator[World]:
    made = make_world(tmp_path)
    box = backend(dovecot)
    use_mailbox(made.services, box)
    made.services.on_close.append(box.close)
    made.pipeline = Pipeline(made.services, engines=[made.engine], mailbox=box)
    yield made
    made.services.close()


def _submit(world: World, *items: dict[str, object]) -> list[dict[str, Any]]:
    if "Acme" not in world.vendors:
        world.add_vendor("Acme", "contoso")
    token = world.token("Acme")
    return world.outcomes(token, world.call("POST", "/ices/v1/verdicts:batch", token, json={"verdicts": list(items)}))


def test_zap_quarantines_phish_and_junks_unread_spam_on_the_server(world: World, dovecot: Dovecot) -> None:
    phish = world.deliver("Reset your password", ALICE)
    spam = world.deliver("Cheap watches", BOB)
    read_spam = world.deliver("Cheap pens", CAROL)
    user_command(dovecot, CAROL, "INBOX", "STORE", "+FLAGS", "(\\Seen)")
    _submit(world, submission(phish, "Phishing", "p-1"), submission(spam, "Spam", "s-1"))
    _submit(world, submission(read_spam, "Spam", "s-2"))
    assert dovecot.folder_ids(ALICE, "INBOX") == {}
    assert dovecot.folder_ids(BOB, "INBOX") == {} and dovecot.folder_ids(BOB, "Junk") == {spam: False}
    assert dovecot.folder_ids(CAROL, "INBOX") == {read_spam: True}
    with world.services.sessions() as session:
        held = session.scalars(select(QuarantineRecord.network_message_id)).all()
        copy = session.get(MessageCopy, (spam, BOB))
    assert held == [phish] and copy is not None and copy.mailbox_ref.startswith("imap:Junk:")
    rows = world.sql('SELECT "NetworkMessageId", "Action", "ActionResult" FROM "EmailPostDeliveryEvents" ORDER BY 2')
    assert sorted(rows) == sorted(
        [(phish, "Moved to quarantine", "Success"), (spam, "Moved to junk folder", "Success")]
    )
    box = mailbox_backend(world.services)
    assert isinstance(box, ImapBackend) and box.logins == len(USERS)  # deliveries and ZAPs: one login a user


def test_zap_of_a_copy_the_user_deleted_records_message_already_deleted(world: World, dovecot: Dovecot) -> None:
    nmid = world.deliver("Gone already", ALICE)
    user_command(dovecot, ALICE, "INBOX", "STORE", "+FLAGS", "(\\Deleted)")
    (outcome,) = _submit(world, submission(nmid, "Malware"))
    assert outcome["status"] == "completed"
    assert world.sql('SELECT "ActionResult" FROM "EmailPostDeliveryEvents"') == [("MessageAlreadyDeleted",)]


def test_a_vendor_deleted_verdict_soft_deletes_into_trash(world: World, dovecot: Dovecot) -> None:
    nmid = world.deliver("Newsletter", BOB, verdict=Verdict.CLEAN)
    _submit(world, submission(nmid, "Deleted"))
    assert dovecot.folder_ids(BOB, "INBOX") == {} and dovecot.folder_ids(BOB, "Trash") == {nmid: False}
