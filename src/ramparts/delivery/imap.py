"""A real mail server's mailboxes over IMAP: delivery by APPEND, post-delivery moves by MOVE (RFC 6851).

The gateway acts on every mailbox through one master login (Dovecot: `recipient*master`). Each copy is
stamped with an X-Ramparts-NetworkMessageId header at APPEND, and found again with UID SEARCH HEADER,
first where the ref says it was delivered, then in the other folders (the user may have moved it). A copy
flagged \\Deleted counts as gone. Without MOVE the server gets COPY, \\Deleted and UID EXPUNGE (RFC 4315),
so that only that copy is expunged. Quarantine takes the copy out of the mailbox: ramparts keeps the
body in its own blob store.

Refs look like `imap:<folder>:<uidvalidity>:<uid>`.

Logged-in connections are kept for reuse, per mailbox user: at most `pool_size` users (least recently
used first out), a few idle connections each. A connection is lent to one operation (one thread) at a
time and every folder operation SELECTs its folder, so nothing depends on what the previous operation
left selected. A reused connection idle for `noop_after` seconds gets a NOOP first; one idle for
`max_idle` seconds is logged out instead. When a reused connection turns out dead (the server closed it,
a restart, a timeout) before the operation changed anything, the operation runs again once on a fresh
login. `pool_size=0` logs in for every operation. close() logs out every idle connection; connections
lent out at that moment are logged out when they come back.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ramparts.delivery.mailbox import Folder, StoredCopy
from ramparts.errors import ConfigError

HEADER = "X-Ramparts-NetworkMessageId"
TLS_MODES = ("none", "starttls", "tls")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")
IDLE_PER_USER = 2
"""Idle connections kept per user: the applier thread and a request thread each find one."""
_T = TypeVar("_T")


class ImapError(Exception):
    """The IMAP server refused a command or could not be reached."""


@dataclass(frozen=True, slots=True)
class ImapSettings:
    host: str
    port: int = 143
    tls: str = "starttls"
    master_user: str = ""
    master_password: str = ""
    separator: str = "*"
    junk_folder: str = "Junk"
    deleted_folder: str = "Trash"
    timeout: float = 30.0


@dataclass(eq=False, slots=True)
class _Connection:
    """One logged-in connection; lent to one operation at a time."""

    imap: imaplib.IMAP4
    user: str
    last_used: float = field(default_factory=time.monotonic)
    reused: bool = False
    """Lent before: if it turns out dead, a fresh login may take over."""
    changed: bool = False
    """This operation sent a command that changes the mailbox (APPEND, MOVE, COPY, STORE): no retry."""


class _Pool:
    """Idle connections by user, least recently used first; the lock guards only the bookkeeping, never
    network I/O. Holds no reference to the backend, so that a finalizer can close it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.idle: OrderedDict[str, list[_Connection]] = OrderedDict()
        self.closed = False

    def take(self, user: str, now: float, max_idle: float) -> tuple[_Connection | None, list[_Connection]]:
        """The most recently used idle connection of the user (None when there is none), and the ones
        idle too long (for the caller to log out)."""
        stale: list[_Connection] = []
        with self.lock:
            conns = self.idle.get(user)
            found = None
            while conns:
                conn = conns.pop()
                if now - conn.last_used > max_idle:
                    stale.append(conn)
                else:
                    found = conn
                    break
            if conns is not None and not conns:
                del self.idle[user]
        return found, stale

    def give_back(self, conn: _Connection) -> list[_Connection]:
        """Keeps the connection for reuse; returns what no longer fits (for the caller to log out)."""
        with self.lock:
            if self.closed or self.size <= 0:
                return [conn]
            conns = self.idle.setdefault(conn.user, [])
            self.idle.move_to_end(conn.user)
            if len(conns) >= IDLE_PER_USER:
                return [conn]
            conns.append(conn)
            evicted: list[_Connection] = []
            while len(self.idle) > self.size:
                _, dropped = self.idle.popitem(last=False)
                evicted += dropped
            return evicted

    def idle_count(self) -> int:
        with self.lock:
            return sum(len(conns) for conns in self.idle.values())

    def close(self) -> None:
        with self.lock:
            self.closed = True
            conns = [conn for user_conns in self.idle.values() for conn in user_conns]
            self.idle.clear()
        for conn in conns:
            _logout(conn)


def _logout(conn: _Connection) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        conn.imap.logout()


def _drop(conn: _Connection) -> None:
    """Closes a connection in an unknown state without a round trip."""
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        conn.imap.shutdown()


@dataclass(frozen=True, slots=True)
class _Found:
    mailbox: str
    uid: str
    uidvalidity: str
    read: bool


class ImapBackend:
    name = "imap"
    supports_moves = True

    def __init__(
        self,
        settings: ImapSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        pool_size: int = 16,
        noop_after: float = 60.0,
        max_idle: float = 300.0,
    ) -> None:
        """pool_size: users whose connections are kept logged in (0: one login per operation).
        noop_after: seconds of idleness after which a connection is checked with NOOP before reuse.
        max_idle: seconds of idleness after which a connection is logged out rather than reused."""
        if settings.tls not in TLS_MODES:
            raise ConfigError(f"imap_tls must be one of {', '.join(TLS_MODES)}, not {settings.tls!r}")
        if not settings.host or not settings.master_user:
            raise ConfigError("the imap mailbox backend needs imap_host and imap_master_user")
        self.settings = settings
        self.ssl_context = ssl_context
        self._folders = {
            Folder.INBOX: "INBOX",
            Folder.JUNK: settings.junk_folder,
            Folder.DELETED: settings.deleted_folder,
        }
        self.pool_size = pool_size
        self.noop_after = noop_after
        self.max_idle = max_idle
        self._pool = _Pool(pool_size)
        self._counts_lock = threading.Lock()
        self.logins = 0
        """LOGINs made so far (a counter for tests and benchmarks)."""
        self.reconnects = 0
        """Reused connections found dead and replaced by a fresh login."""
        self._finalizer = weakref.finalize(self, self._pool.close)

    def close(self) -> None:
        """Logs out every pooled connection; later operations log in for themselves and keep nothing."""
        self._finalizer()

    def idle_connections(self) -> int:
        return self._pool.idle_count()

    def mailbox_name(self, folder: Folder) -> str:
        return self._folders[folder]

    def _folder_of(self, mailbox: str) -> Folder:
        for folder, name in self._folders.items():
            if name == mailbox or (folder is Folder.INBOX and mailbox.upper() == "INBOX"):
                return folder
        return Folder.INBOX  # a folder of the user's own: Defender counts it as Inbox/folder

    def _login(self, recipient: str) -> _Connection:
        s = self.settings
        try:
            if s.tls == "tls":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=self.ssl_context, timeout=s.timeout)
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    conn.starttls(self.ssl_context)
            with self._counts_lock:
                self.logins += 1
            conn.login(f"{recipient}{s.separator}{s.master_user}", s.master_password)
            _, data = conn.capability()  # the post-login list (MOVE, UIDPLUS) replaces the greeting's
            if data and data[0]:
                conn.capabilities = tuple(str(data[0], "ascii").upper().split())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"IMAP login for {recipient} at {s.host}:{s.port} failed: {exc}") from exc
        return _Connection(conn, recipient)

    def _alive(self, conn: _Connection) -> bool:
        try:
            typ, _ = conn.imap.noop()
        except (OSError, imaplib.IMAP4.error):
            return False
        return typ == "OK"

    def _checkout(self, recipient: str) -> _Connection:
        """A logged-in connection of the user's, lent to the caller alone until _checkin or _discard."""
        while True:
            now = time.monotonic()
            conn, stale = self._pool.take(recipient, now, self.max_idle)
            for old in stale:
                _logout(old)
            if conn is None:
                return self._login(recipient)
            if now - conn.last_used < self.noop_after or self._alive(conn):
                conn.reused, conn.changed = True, False
                return conn
            _drop(conn)
            with self._counts_lock:
                self.reconnects += 1

    def _checkin(self, conn: _Connection) -> None:
        conn.last_used = time.monotonic()
        for extra in self._pool.give_back(conn):
            _logout(extra)

    def _discard(self, conn: _Connection) -> None:
        _drop(conn)

    def _run(self, recipient: str, operation: Callable[[_Connection], _T]) -> _T:
        """Runs the operation on a connection of the user's; once more on a fresh login when a reused
        connection was dead and the operation had not changed anything yet."""
        while True:
            conn = self._checkout(recipient)
            try:
                result = operation(conn)
            except (OSError, imaplib.IMAP4.abort) as exc:
                self._discard(conn)
                if conn.reused and not conn.changed:
                    with self._counts_lock:
                        self.reconnects += 1
                    continue
                raise ImapError(f"IMAP connection for {recipient} failed: {exc}") from exc
            except imaplib.IMAP4.error as exc:
                self._discard(conn)
                raise ImapError(f"IMAP command for {recipient} failed: {exc}") from exc
            except BaseException:
                self._discard(conn)
                raise
            self._checkin(conn)
            return result

    @staticmethod
    def _quote(mailbox: str) -> str:
        return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def _select(self, conn: imaplib.IMAP4, mailbox: str) -> str | None:
        """Selects the folder; its UIDVALIDITY, or None when it does not exist."""
        typ, _ = conn.select(self._quote(mailbox))
        if typ != "OK":
            return None
        _, data = conn.response("UIDVALIDITY")
        return str(data[0], "ascii") if data and data[0] else ""

    def _ensure_folder(self, conn: imaplib.IMAP4, mailbox: str) -> None:
        if mailbox.upper() != "INBOX":
            conn.create(self._quote(mailbox))  # NO [ALREADYEXISTS] is fine

    def _all_folders(self, conn: imaplib.IMAP4) -> list[str]:
        typ, data = conn.list()
        names: list[str] = []
        for line in data if typ == "OK" else []:
            if not isinstance(line, bytes) or b"\\Noselect" in line or b"\\NonExistent" in line:
                continue
            name = line.rsplit(b" ", 1)[-1] if not line.endswith(b'"') else b'"' + line.split(b' "', 2)[-1]
            names.append(name.decode().strip('"'))
        return names

    def _search(self, conn: imaplib.IMAP4, mailbox: str, network_message_id: str) -> _Found | None:
        uidvalidity = self._select(conn, mailbox)
        if uidvalidity is None:
            return None
        typ, data = conn.uid("SEARCH", "UNDELETED", "HEADER", HEADER, network_message_id)
        uids = data[0].split() if typ == "OK" and data and data[0] else []
        if not uids:
            return None
        uid = uids[0].decode()
        typ, fetched = conn.uid("FETCH", uid, "(FLAGS)")
        flags = b""
        for part in fetched if typ == "OK" else []:
            raw = part[0] if isinstance(part, tuple) else part
            match = _FLAGS.search(raw) if isinstance(raw, bytes) else None
            if match:
                flags = match.group(1)
        return _Found(mailbox, uid, uidvalidity, b"\\Seen" in flags.split())

    def _find(self, conn: imaplib.IMAP4, network_message_id: str, ref: str) -> _Found | None:
        first = _mailbox_of(ref)
        order = [first] if first else []
        order += [m for m in self._folders.values() if m not in order]
        for mailbox in order:
            found = self._search(conn, mailbox, network_message_id)
            if found is not None:
                return found
        for mailbox in self._all_folders(conn):
            if mailbox not in order and mailbox.upper() != "INBOX":
                found = self._search(conn, mailbox, network_message_id)
                if found is not None:
                    return found
        return None

    def _stored(self, found: _Found) -> StoredCopy:
        ref = f"imap:{found.mailbox}:{found.uidvalidity}:{found.uid}"
        return StoredCopy(ref, self._folder_of(found.mailbox), found.read)

    def deliver(
        self, recipient: str, network_message_id: str, raw: bytes, folder: Folder, *, received: float | None = None
    ) -> str:
        mailbox = self.mailbox_name(folder)

        def operation(lease: _Connection) -> str:
            conn = lease.imap
            self._ensure_folder(conn, mailbox)
            found = self._search(conn, mailbox, network_message_id)
            if found is not None:  # delivered before a crash: keep the one copy
                return self._stored(found).ref
            stamped = f"{HEADER}: {network_message_id}\r\n".encode() + raw
            when = imaplib.Time2Internaldate(received if received is not None else time.time())
            lease.changed = True
            typ, data = conn.append(self._quote(mailbox), "", when, stamped)
            if typ != "OK":
                raise ImapError(f"APPEND to {mailbox} for {recipient} refused: {data!r}")
            match = _APPENDUID.search(data[0] or b"") if data and isinstance(data[0], bytes) else None
            if match:
                return f"imap:{mailbox}:{match.group(1).decode()}:{match.group(2).decode()}"
            found = self._search(conn, mailbox, network_message_id)
            return self._stored(found).ref if found else f"imap:{mailbox}::"

        return self._run(recipient, operation)

    def locate(self, recipient: str, network_message_id: str, *, ref: str = "") -> StoredCopy | None:
        def operation(lease: _Connection) -> StoredCopy | None:
            found = self._find(lease.imap, network_message_id, ref)
            return self._stored(found) if found else None

        return self._run(recipient, operation)

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        target = self.mailbox_name(folder)

        def operation(lease: _Connection) -> StoredCopy | None:
            conn = lease.imap
            found = self._find(conn, network_message_id, ref)
            if found is None:
                return None
            if found.mailbox == target:
                return self._stored(found)
            self._ensure_folder(conn, target)
            self._select(conn, found.mailbox)
            lease.changed = True
            if "MOVE" in conn.capabilities:
                typ, data = conn.uid("MOVE", found.uid, self._quote(target))
            else:
                typ, data = conn.uid("COPY", found.uid, self._quote(target))
                if typ == "OK":
                    self._expunge(conn, found.uid)
            if typ != "OK":
                raise ImapError(f"moving {network_message_id} to {target} for {recipient} refused: {data!r}")
            moved = self._search(conn, target, network_message_id)
            if moved is None:
                raise ImapError(f"{network_message_id} is not in {target} after the move for {recipient}")
            return self._stored(moved)

        return self._run(recipient, operation)

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        def operation(lease: _Connection) -> bool:
            conn = lease.imap
            found = self._find(conn, network_message_id, ref)
            if found is None:
                return False
            self._select(conn, found.mailbox)
            lease.changed = True
            self._expunge(conn, found.uid)
            return True

        return self._run(recipient, operation)

    def _expunge(self, conn: imaplib.IMAP4, uid: str) -> None:
        """Flags the one message \\Deleted and expunges only it (UID EXPUNGE needs UIDPLUS; without it, a
        plain EXPUNGE would also purge what the user flagged, so the flag stays for the user's client)."""
        conn.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in conn.capabilities:
            conn.uid("EXPUNGE", uid)


def _mailbox_of(ref: str) -> str:
    if not ref.startswith("imap:"):
        return ""
    return ref[5:].rsplit(":", 2)[0]
