"""A real mail server's mailboxes over IMAP: delivery by APPEND, post-delivery moves by MOVE (RFC 6851).

The gateway acts on every mailbox through one master login (Dovecot: `recipient*master`). Each copy is
stamped with an X-Ramparts-NetworkMessageId header at APPEND, and found again with UID SEARCH HEADER,
first where the ref says it was delivered, then in the other folders (the user may have moved it). A copy
flagged \\Deleted counts as gone. Without MOVE the server gets COPY, \\Deleted and UID EXPUNGE (RFC 4315),
so that only that copy is expunged. Quarantine takes the copy out of the mailbox: ramparts keeps the
body in its own blob store.

Refs look like `imap:<folder>:<uidvalidity>:<uid>`.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ramparts.delivery.mailbox import Folder, StoredCopy
from ramparts.errors import ConfigError

HEADER = "X-Ramparts-NetworkMessageId"
TLS_MODES = ("none", "starttls", "tls")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")


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


@dataclass(frozen=True, slots=True)
class _Found:
    mailbox: str
    uid: str
    uidvalidity: str
    read: bool


class ImapBackend:
    name = "imap"
    supports_moves = True

    def __init__(self, settings: ImapSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
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

    def mailbox_name(self, folder: Folder) -> str:
        return self._folders[folder]

    def _folder_of(self, mailbox: str) -> Folder:
        for folder, name in self._folders.items():
            if name == mailbox or (folder is Folder.INBOX and mailbox.upper() == "INBOX"):
                return folder
        return Folder.INBOX  # a folder of the user's own: Defender counts it as Inbox/folder

    @contextlib.contextmanager
    def _session(self, recipient: str) -> Iterator[imaplib.IMAP4]:
        s = self.settings
        try:
            if s.tls == "tls":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=self.ssl_context, timeout=s.timeout)
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    conn.starttls(self.ssl_context)
            conn.login(f"{recipient}{s.separator}{s.master_user}", s.master_password)
            _, data = conn.capability()  # the post-login list (MOVE, UIDPLUS) replaces the greeting's
            if data and data[0]:
                conn.capabilities = tuple(str(data[0], "ascii").upper().split())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"IMAP login for {recipient} at {s.host}:{s.port} failed: {exc}") from exc
        try:
            yield conn
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"IMAP command for {recipient} failed: {exc}") from exc
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

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
        with self._session(recipient) as conn:
            self._ensure_folder(conn, mailbox)
            found = self._search(conn, mailbox, network_message_id)
            if found is not None:  # delivered before a crash: keep the one copy
                return self._stored(found).ref
            stamped = f"{HEADER}: {network_message_id}\r\n".encode() + raw
            when = imaplib.Time2Internaldate(received if received is not None else time.time())
            typ, data = conn.append(self._quote(mailbox), "", when, stamped)
            if typ != "OK":
                raise ImapError(f"APPEND to {mailbox} for {recipient} refused: {data!r}")
            match = _APPENDUID.search(data[0] or b"") if data and isinstance(data[0], bytes) else None
            if match:
                return f"imap:{mailbox}:{match.group(1).decode()}:{match.group(2).decode()}"
            found = self._search(conn, mailbox, network_message_id)
            return self._stored(found).ref if found else f"imap:{mailbox}::"

    def locate(self, recipient: str, network_message_id: str, *, ref: str = "") -> StoredCopy | None:
        with self._session(recipient) as conn:
            found = self._find(conn, network_message_id, ref)
            return self._stored(found) if found else None

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        target = self.mailbox_name(folder)
        with self._session(recipient) as conn:
            found = self._find(conn, network_message_id, ref)
            if found is None:
                return None
            if found.mailbox == target:
                return self._stored(found)
            self._ensure_folder(conn, target)
            self._select(conn, found.mailbox)
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

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        with self._session(recipient) as conn:
            found = self._find(conn, network_message_id, ref)
            if found is None:
                return False
            self._select(conn, found.mailbox)
            self._expunge(conn, found.uid)
            return True

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
