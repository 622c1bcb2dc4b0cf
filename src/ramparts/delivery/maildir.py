"""Maildir++ mailboxes, one per recipient: Inbox at the root, Junk and Deleted Items as .folders.

File names carry the network message id and a digest of the recipient, so delivering the same copy
again (after a crash between delivery and bookkeeping) finds the first file instead of adding one.
Files are written without an fsync each: the pipeline's durability barrier syncs the disk before the
spool forgets the message.
"""

from __future__ import annotations

import contextlib
import functools
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

_FOLDER_BY_DIR = {f".{folder.value}": folder for folder in Folder if folder is not Folder.INBOX}


@functools.lru_cache(maxsize=65536)
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
        self._root = os.fspath(root)
        """The root as a string, for the per-copy path joins."""
        self.hostname = socket.gethostname().replace("/", "_").replace(":", "_") or "ramparts"
        self._made: set[Path] = set()
        self._trash = root / TRASH
        self._local = threading.local()

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Inside, move and remove (in this thread) collect the directories to fsync; each is synced once
        on the way out, so that moving a batch of copies costs one fsync per folder, not per copy."""
        pending: set[str] = set()
        self._local.pending = pending
        try:
            yield
        finally:
            self._local.pending = None
            for path in sorted(pending):
                _fsync_dir(path)

    def _sync_dir(self, path: str | Path) -> None:
        pending: set[str] | None = getattr(self._local, "pending", None)
        if pending is None:
            _fsync_dir(path)
        else:
            pending.add(os.fspath(path))

    def mailbox_path(self, recipient: str) -> Path:
        return self.root / _safe_mailbox_name(recipient)

    def folder_path(self, recipient: str, folder: Folder) -> Path:
        return Path(self._folder_dir(recipient, folder))

    def _folder_dir(self, recipient: str, folder: Folder) -> str:
        base = os.path.join(self._root, _safe_mailbox_name(recipient))
        return base if folder is Folder.INBOX else os.path.join(base, f".{folder.value}")

    def _ensure(self, path: Path) -> None:
        if path in self._made:
            return
        for sub in _SUBDIRS:
            (path / sub).mkdir(parents=True, exist_ok=True)
        self._made.add(path)

    def _at_ref(self, recipient: str, key: str, ref: str) -> tuple[str, Folder] | None:
        """The file where delivery (or the last move) left it, found with a few stats: in new/ under its
        name, or in cur/ with flags after ':2,' (a client that reads it renames it so). Plain strings and
        lazily built candidates: this runs once per remediated copy."""
        if not ref or key not in ref:
            return None
        parts = ref.split(os.sep)  # mailbox[/.Folder]/new-or-cur/name, as deliver() and move() write it
        if len(parts) not in (3, 4) or parts[0] != _safe_mailbox_name(recipient) or parts[-2] not in ("new", "cur"):
            return None
        folder = Folder.INBOX if len(parts) == 3 else _FOLDER_BY_DIR.get(parts[1])
        if folder is None:
            return None
        path = os.path.join(self._root, ref)
        folder_dir = os.path.dirname(os.path.dirname(path))
        if os.path.isfile(path):
            return path, folder
        base = os.path.basename(path).partition(":")[0]
        in_new = os.path.join(folder_dir, "new", base)
        if os.path.isfile(in_new):
            return in_new, folder
        cur = os.path.join(folder_dir, "cur", base)
        for flags in _FLAG_SETS:
            candidate = f"{cur}:2,{flags}"
            if os.path.isfile(candidate):
                return candidate, folder
        return None

    def _find(self, recipient: str, key: str, ref: str = "") -> tuple[str, Folder] | None:
        """The copy's file (a path string: this runs once per remediated copy) and its folder."""
        known = self._at_ref(recipient, key, ref)
        if known is not None:
            return known
        for folder in Folder:
            base = self._folder_dir(recipient, folder)
            for sub in ("new", "cur"):
                directory = os.path.join(base, sub)
                if not os.path.isdir(directory):
                    continue
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if key in entry.name:
                            return entry.path, folder
        return None

    def _relative(self, path: str) -> str:
        prefix = os.path.join(self._root, "")
        return path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, self._root)

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
        flags = os.path.basename(path).partition(":2,")[2]
        return StoredCopy(self._relative(path), folder, read="S" in flags)

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        found = self._find(recipient, copy_key(recipient, network_message_id), ref)
        if found is None:
            return None
        path, current = found
        directory, name = os.path.split(path)
        flags = name.partition(":2,")[2]
        if current is folder:
            return StoredCopy(self._relative(path), folder, read="S" in flags)
        target = self.folder_path(recipient, folder)
        self._ensure(target)
        destination = target / os.path.basename(directory) / name
        os.replace(path, destination)
        self._sync_dir(destination.parent)
        self._sync_dir(directory)
        return StoredCopy(self._relative(str(destination)), folder, read="S" in flags)

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        """Takes the copy out of the mailbox by renaming it into root/.trash (never a mailbox name: those
        do not start with a dot): unlinking frees blocks, which on a discard-mounted disk costs
        milliseconds per file; `empty_trash()` does that off the hot path."""
        key = copy_key(recipient, network_message_id)
        found = self._find(recipient, key, ref)
        if found is None:
            return self._in_trash(key, ref)
        trash = self._trash
        if trash not in self._made:
            trash.mkdir(parents=True, exist_ok=True)
            self._made.add(trash)
        directory, name = os.path.split(found[0])
        os.replace(found[0], os.path.join(trash, name))
        self._sync_dir(directory)
        return True

    def _in_trash(self, key: str, ref: str) -> bool:
        """Removed already, by an earlier attempt whose bookkeeping was not committed (a crash in the
        middle of a batch): the trash is only emptied while nothing is being applied."""
        if ref and key in ref and os.path.exists(os.path.join(self._trash, os.path.basename(ref))):
            return True
        try:
            entries = os.scandir(self._trash)
        except FileNotFoundError:
            return False
        with entries:
            return any(key in entry.name for entry in entries)

    def empty_trash(self) -> int:
        """Delete the removed copies' files; returns how many (safe at any time, from any thread)."""
        removed = 0
        try:
            entries = os.scandir(self._trash)
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


def _fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
