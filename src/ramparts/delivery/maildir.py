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
TRASH = ".trash"
# Maildir info flags (D, F, P, R, S, T) in their sorted order, every subset, the usual ones first.
_FLAG_SETS = sorted(
    ("".join(c for i, c in enumerate("DFPRST") if mask >> i & 1) for mask in range(64)),
    key=lambda flags: (len(flags), "S" not in flags, flags),
)


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
        return Path(self._folder_dir(recipient, folder))

    def _folder_dir(self, recipient: str, folder: Folder) -> str:
        base = os.path.join(self.root, _safe_mailbox_name(recipient))
        return base if folder is Folder.INBOX else os.path.join(base, f".{folder.value}")

    def _ensure(self, path: Path) -> None:
        if path in self._made:
            return
        for sub in _SUBDIRS:
            (path / sub).mkdir(parents=True, exist_ok=True)
        self._made.add(path)

    def _at_ref(self, recipient: str, key: str, ref: str) -> tuple[Path, Folder] | None:
        """The file where delivery (or the last move) left it, found with a few stats: in new/ under its
        name, or in cur/ with flags after ':2,' (a client that reads it renames it so). Plain strings and
        lazily built candidates: this runs once per remediated copy."""
        if not ref or key not in ref:
            return None
        path = os.path.join(self.root, ref)
        folder_dir = os.path.dirname(os.path.dirname(path))
        folder = next((f for f in Folder if self._folder_dir(recipient, f) == folder_dir), None)
        if folder is None:
            return None
        if os.path.isfile(path):
            return Path(path), folder
        base = os.path.basename(path).partition(":")[0]
        in_new = os.path.join(folder_dir, "new", base)
        if os.path.isfile(in_new):
            return Path(in_new), folder
        cur = os.path.join(folder_dir, "cur", base)
        for flags in _FLAG_SETS:
            candidate = f"{cur}:2,{flags}"
            if os.path.isfile(candidate):
                return Path(candidate), folder
        return None

    def _find(self, recipient: str, key: str, ref: str = "") -> tuple[Path, Folder] | None:
        known = self._at_ref(recipient, key, ref)
        if known is not None:
            return known
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

    def locate(self, recipient: str, network_message_id: str, *, ref: str = "") -> StoredCopy | None:
        found = self._find(recipient, copy_key(recipient, network_message_id), ref)
        if found is None:
            return None
        path, folder = found
        flags = path.name.partition(":2,")[2]
        return StoredCopy(str(path.relative_to(self.root)), folder, read="S" in flags)

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        found = self._find(recipient, copy_key(recipient, network_message_id), ref)
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

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        """Takes the copy out of the mailbox by renaming it into root/.trash (never a mailbox name: those
        do not start with a dot): unlinking frees blocks, which on a discard-mounted disk costs
        milliseconds per file; `empty_trash()` does that off the hot path."""
        found = self._find(recipient, copy_key(recipient, network_message_id), ref)
        if found is None:
            return False
        trash = self.root / TRASH
        if trash not in self._made:
            trash.mkdir(parents=True, exist_ok=True)
            self._made.add(trash)
        os.replace(found[0], trash / found[0].name)
        self._sync_dir(found[0].parent)
        return True

    def empty_trash(self) -> int:
        """Delete the removed copies' files; returns how many (safe at any time, from any thread)."""
        removed = 0
        try:
            entries = os.scandir(self.root / TRASH)
        except FileNotFoundError:
            return 0
        with entries:
            for item in entries:
                try:
                    os.unlink(item.path)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
