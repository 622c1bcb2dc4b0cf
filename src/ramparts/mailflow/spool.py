"""The spool: received messages kept on disk until the pipeline has made them durable elsewhere.

Layout under the spool directory::

    tmp/        files being written (never read; leftovers of dead writers are removed at open)
    incoming/   complete entries, one file each, processed in name (= arrival) order
    failed/     entries given up on, each next to a ``.reason`` text file

An entry is ONE file: a header line, the envelope as JSON, then the raw message::

    RSPOOL1 <json length> <raw length> <crc32 of raw, hex>\\n{json}{raw bytes}

It is written into tmp/, fsynced, renamed into incoming/, and incoming/ is fsynced, all before
`put` returns; so the SMTP listener answers 250 only for messages that survive a crash. A file in
incoming/ is therefore complete unless the disk lies; `load` still checks the lengths and the
checksum and raises `SpoolCorrupt`, and the worker moves such a file to failed/.

File names are ``<arrival ns, 19 digits>-<network message id>.<attempts>.msg``. Each time the worker
starts processing an entry it renames it with one more attempt (no fsync needed: a crash of the
process keeps the rename, and losing it on power loss only undercounts), so a message that crashes
the server again and again is recognised after `max_attempts` and moved to failed/ instead of
blocking the queue forever.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ramparts.errors import RampartsError
from ramparts.mailflow.message import Envelope

log = logging.getLogger(__name__)

MAGIC = b"RSPOOL1"
SUFFIX = ".msg"
REASON_SUFFIX = ".reason"
DEFAULT_MAX_ATTEMPTS = 5
_HEADER_MAX = 128
_UNSAFE = re.compile(r"[^0-9A-Za-z-]")


class SpoolCorrupt(RampartsError):
    """A spool file that cannot be read back (truncated, bad header, bad checksum, bad envelope)."""

    code = "spoolCorrupt"


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One message in incoming/ (or, after `fail`, in failed/)."""

    path: Path
    key: str
    """Stable over attempts: ``<arrival ns>-<network message id>``."""
    attempts: int

    @property
    def name(self) -> str:
        return self.path.name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse_name(path: Path) -> SpoolEntry:
    stem = path.name.removesuffix(SUFFIX)
    key, dot, attempts = stem.rpartition(".")
    if dot and attempts.isdigit():
        return SpoolEntry(path, key, int(attempts))
    return SpoolEntry(path, stem, 0)


def encode_entry(envelope: Envelope, raw: bytes) -> bytes:
    """The bytes of one spool file."""
    meta = json.dumps(
        {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": envelope.received_at.isoformat(),
            "network_message_id": envelope.network_message_id,
            "peer_ip": envelope.peer_ip,
            "helo": envelope.helo,
            "source": envelope.source,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    header = b"%s %d %d %08x\n" % (MAGIC, len(meta), len(raw), zlib.crc32(raw))
    return header + meta + raw


def decode_entry(data: bytes) -> tuple[Envelope, bytes]:
    """The envelope and raw message of a spool file's bytes; SpoolCorrupt when anything is off."""
    newline = data.find(b"\n", 0, _HEADER_MAX)
    if newline < 0:
        raise SpoolCorrupt("no header line")
    parts = data[:newline].split(b" ")
    if len(parts) != 4 or parts[0] != MAGIC or not parts[1].isdigit() or not parts[2].isdigit():
        raise SpoolCorrupt(f"bad header {data[:newline][:80]!r}")
    meta_len, raw_len = int(parts[1]), int(parts[2])
    start = newline + 1
    if len(data) != start + meta_len + raw_len:
        raise SpoolCorrupt(f"truncated: {len(data)} bytes, header promises {start + meta_len + raw_len}")
    raw = data[start + meta_len :]
    try:
        crc = int(parts[3], 16)
    except ValueError:
        raise SpoolCorrupt("bad checksum field") from None
    if zlib.crc32(raw) != crc:
        raise SpoolCorrupt("checksum mismatch")
    try:
        meta = json.loads(data[start : start + meta_len])
        received_at = dt.datetime.fromisoformat(meta["received_at"])
        envelope = Envelope(
            mail_from=str(meta["mail_from"]),
            rcpt_tos=tuple(str(r) for r in meta["rcpt_tos"]),
            received_at=received_at if received_at.tzinfo else received_at.replace(tzinfo=dt.UTC),
            network_message_id=str(meta["network_message_id"]),
            peer_ip=str(meta.get("peer_ip", "")),
            helo=str(meta.get("helo", "")),
            source=str(meta.get("source", "smtp")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SpoolCorrupt(f"bad envelope: {exc!r}") from None
    return envelope, raw


class Spool:
    """A durable queue of received messages in one directory. Thread-safe; every method blocks on disk
    I/O, so async callers run `put` and `put_many` through `asyncio.to_thread`."""

    def __init__(self, root: Path, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, fsync: bool = True) -> None:
        """fsync=False is for tests and benchmarks that do not measure durability."""
        self.root = root
        self.max_attempts = max_attempts
        self.fsync = fsync
        self.tmp_dir = root / "tmp"
        self.incoming_dir = root / "incoming"
        self.failed_dir = root / "failed"
        self.trash_dir = root / "trash"
        for directory in (self.tmp_dir, self.incoming_dir, self.failed_dir, self.trash_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._last_ns = 0
        self._counter = 0

    # -- writing ---------------------------------------------------------------------------------

    def _arrival_ns(self) -> int:
        with self._lock:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            self._counter += 1
            return self._last_ns

    def _write_tmp(self, envelope: Envelope, raw: bytes) -> tuple[Path, Path]:
        nmid = _UNSAFE.sub("", envelope.network_message_id)[:64] or "message"
        name = f"{self._arrival_ns():019d}-{nmid}.0{SUFFIX}"
        tmp = self.tmp_dir / f"{name}.{os.getpid()}.{threading.get_ident()}"
        try:
            with tmp.open("wb") as handle:
                handle.write(encode_entry(envelope, raw))
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, self.incoming_dir / name

    def put(self, envelope: Envelope, raw: bytes) -> SpoolEntry:
        """Write one message durably; when this returns, a crash cannot lose it."""
        return self.put_many([(envelope, raw)])[0]

    def put_many(self, items: Sequence[tuple[Envelope, bytes]]) -> list[SpoolEntry]:
        """Write several messages durably with one directory sync for the lot."""
        written: list[tuple[Path, Path]] = []
        try:
            for envelope, raw in items:
                written.append(self._write_tmp(envelope, raw))
        except BaseException:
            for tmp, _ in written:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, final in written:
            os.replace(tmp, final)
        if self.fsync and written:
            _fsync_dir(self.incoming_dir)
        return [_parse_name(final) for _, final in written]

    # -- reading ---------------------------------------------------------------------------------

    def pending(self) -> Iterator[SpoolEntry]:
        """Entries in incoming/, oldest first."""
        with os.scandir(self.incoming_dir) as listing:
            names = sorted(e.name for e in listing if e.name.endswith(SUFFIX))
        for name in names:
            yield _parse_name(self.incoming_dir / name)

    def incoming_entry(self, name: str) -> SpoolEntry:
        """The entry of incoming/ with this file name (as another process reports it)."""
        if "/" in name or "\\" in name or not name.endswith(SUFFIX):
            raise ValueError(f"not a spool file name: {name!r}")
        return _parse_name(self.incoming_dir / name)

    def count(self) -> int:
        with os.scandir(self.incoming_dir) as listing:
            return sum(1 for e in listing if e.name.endswith(SUFFIX))

    def load(self, entry: SpoolEntry) -> tuple[Envelope, bytes]:
        """The envelope and raw bytes of an entry; SpoolCorrupt when the file is damaged."""
        return decode_entry(entry.path.read_bytes())

    # -- state changes ---------------------------------------------------------------------------

    def begin(self, entry: SpoolEntry) -> SpoolEntry:
        """Count one more processing attempt (a rename); FileNotFoundError when the entry is gone."""
        target = self.incoming_dir / f"{entry.key}.{entry.attempts + 1}{SUFFIX}"
        os.rename(entry.path, target)
        return SpoolEntry(target, entry.key, entry.attempts + 1)

    def exhausted(self, entry: SpoolEntry) -> bool:
        return entry.attempts >= self.max_attempts

    def done(self, entry: SpoolEntry, *, sync: bool = True) -> None:
        """Forget a processed entry. sync=False leaves the directory sync to a later `sync()`: losing the
        move in a crash only means the message is seen again, which the pipeline recognises.

        The file is renamed into trash/ rather than unlinked: freeing its blocks (with a discard-mounted
        disk, a synchronous TRIM) cost milliseconds per message; `empty_trash()` does it off the hot path."""
        try:
            os.replace(entry.path, self.trash_dir / entry.path.name)
        except FileNotFoundError:
            return
        if sync and self.fsync:
            _fsync_dir(self.incoming_dir)

    def empty_trash(self) -> int:
        """Delete the files of processed entries; returns how many (safe to call at any time, from any thread)."""
        removed = 0
        with os.scandir(self.trash_dir) as entries:
            for item in entries:
                try:
                    os.unlink(item.path)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def sync(self) -> None:
        if self.fsync:
            _fsync_dir(self.incoming_dir)

    def fail(self, entry: SpoolEntry, reason: str) -> Path:
        """Move an entry to failed/ with a .reason file next to it; returns its new path."""
        target = self.failed_dir / entry.path.name
        reason_text = f"{dt.datetime.now(dt.UTC).isoformat()} attempts={entry.attempts}\n{reason}\n"
        reason_path = target.with_name(target.name + REASON_SUFFIX)
        reason_path.write_text(reason_text, encoding="utf-8")
        os.replace(entry.path, target)
        if self.fsync:
            _fsync_dir(self.failed_dir)
            _fsync_dir(self.incoming_dir)
        log.error("spool entry %s moved to failed/: %s", entry.key, reason)
        return target

    def failed(self) -> Iterator[tuple[SpoolEntry, str]]:
        """Entries in failed/ with their reasons, oldest first."""
        with os.scandir(self.failed_dir) as listing:
            names = sorted(e.name for e in listing if e.name.endswith(SUFFIX))
        for name in names:
            path = self.failed_dir / name
            try:
                reason = path.with_name(name + REASON_SUFFIX).read_text(encoding="utf-8")
            except FileNotFoundError:
                reason = ""
            yield _parse_name(path), reason

    def remove_stale_tmp(self) -> int:
        """Delete tmp/ files of writers that are no longer running (a crash in the middle of `put`)."""
        removed = 0
        with os.scandir(self.tmp_dir) as listing:
            names = [e.name for e in listing]
        for name in names:
            parts = name.split(".")
            pid = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else 0
            if pid and pid != os.getpid() and _alive(pid):
                continue
            if pid == os.getpid():
                continue
            (self.tmp_dir / name).unlink(missing_ok=True)
            removed += 1
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
