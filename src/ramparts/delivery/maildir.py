"""Maildir++ mailboxes, one per recipient: Inbox at the root, Junk and Deleted Items as .folders.

File names carry the network message id and a digest of the recipient, so delivering the same copy
again (after a crash between delivery and bookkeeping) finds the first file instead of adding one.
Files are written without an fsync each: the pipeline's durability barrier syncs the disk before the
spool forgets the message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ramparts.delivery.mailbox import Folder, StoredCopy

_SUBDIRS = ("tmp", "new", "cur")


def _safe_mailbox_name(recipient: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "@._+-" else "_" for c in recipient.lower())
    if not cleaned or cleaned.startswith("."):
        cleaned = "_" + cleaned
    return cleaned[:200]


def copy_key(recipient: str, network_message_id: str) -> str:
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:10]
    return f"{network_message_id}_{digest}"


class MaildirBackend:
    name = "maildir"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hostname = socket.gethostname().replace("/", "_").replace(":", "_") or "ramparts"
        self._made: set[Path] = set()
        self._local = threading.local()

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Inside, move and remove (in this thread) collect the directories to fsync; each is synced once
        on the way out, so that moving a batch of copies costs one fsync per folder, not per copy."""
        pending: set[Path] = set()
        self._local.pending = pending
        try:
            yield
        finally:
            self._local.pending = None
            for path in sorted(pending):
                _fsync_dir(path)

    def _sync_dir(self, path: Path) -> None:
        pending: set[Path] | None = getattr(self._local, "pending", None)
        if pending is None:
            _fsync_dir(path)
        else:
            pending.add(path)

    def mailbox_path(self, recipient: str) -> Path:
        return self.root / _safe_mailbox_name(recipient)

    def folder_path(self, recipient: str, folder: Folder) -> Path:
        base = self.mailbox_path(recipient)
        return base if folder is Folder.INBOX else base / f".{folder.value}"

    def _ensure(self, path: Path) -> None:
        if path in self._made:
            return
        for sub in _SUBDIRS:
            (path / sub).mkdir(parents=True, exist_ok=True)
        self._made.add(path)

    def _find(self, recipient: str, key: str) -> tuple[Path, Folder] | None:
        for folder in Folder:
            base = self.folder_path(recipient, folder)
            for sub in ("new", "cur"):
                directory = base / sub
                if not directory.is_dir():
                    continue
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if key in entry.name:
                            return Path(entry.path), folder
        return None

    def deliver(
        self, recipient: str, network_message_id: str, raw: bytes, folder: Folder, *, received: float | None = None
    ) -> str:
        """The file name is fixed by (received time, message, recipient), so a second delivery after a crash
        finds the first file with one stat instead of scanning the mailbox."""
        key = copy_key(recipient, network_message_id)
        target = self.folder_path(recipient, folder)
        self._ensure(target)
        name = f"{int(received if received is not None else time.time())}.{key}.{self.hostname}"
        final = target / "new" / name
        if final.exists() or (target / "cur" / f"{name}:2,").exists() or (target / "cur" / f"{name}:2,S").exists():
            return str(final.relative_to(self.root))
        tmp = target / "tmp" / name
        tmp.write_bytes(raw)
        os.replace(tmp, final)
        return str(final.relative_to(self.root))

    def locate(self, recipient: str, network_message_id: str) -> StoredCopy | None:
        found = self._find(recipient, copy_key(recipient, network_message_id))
        if found is None:
            return None
        path, folder = found
        flags = path.name.partition(":2,")[2]
        return StoredCopy(str(path.relative_to(self.root)), folder, read="S" in flags)

    def move(self, recipient: str, network_message_id: str, folder: Folder) -> StoredCopy | None:
        found = self._find(recipient, copy_key(recipient, network_message_id))
        if found is None:
            return None
        path, current = found
        if current is folder:
            flags = path.name.partition(":2,")[2]
            return StoredCopy(str(path.relative_to(self.root)), folder, read="S" in flags)
        target = self.folder_path(recipient, folder)
        self._ensure(target)
        destination = target / path.parent.name / path.name
        os.replace(path, destination)
        self._sync_dir(destination.parent)
        self._sync_dir(path.parent)
        flags = path.name.partition(":2,")[2]
        return StoredCopy(str(destination.relative_to(self.root)), folder, read="S" in flags)

    def remove(self, recipient: str, network_message_id: str) -> bool:
        found = self._find(recipient, copy_key(recipient, network_message_id))
        if found is None:
            return False
        found[0].unlink()
        self._sync_dir(found[0].parent)
        return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
