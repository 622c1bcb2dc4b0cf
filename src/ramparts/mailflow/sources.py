"""Messages stored in files, for `ramparts ingest`: .eml files, mbox files, Maildir folders, directories."""

from __future__ import annotations

import email.utils
import mailbox
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ramparts.errors import InvalidInput

_HEAD_LIMIT = 64 * 1024
_MESSAGE_SUFFIXES = (".eml", ".mbox")
_COUNT_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceMessage:
    raw: bytes = field(repr=False)
    origin: str
    """The file, or file#index inside an mbox, it came from."""
    mail_from: str = ""
    rcpt_tos: tuple[str, ...] = ()
    error: str = ""
    """Set (with raw empty) when the message could not be read; ingest reports it and goes on."""


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _looks_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _envelope_from_headers(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """A stand-in envelope for a stored message: Return-Path, then the delivery headers or To and Cc."""
    head = raw[:_HEAD_LIMIT].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("latin-1")
    fields: dict[str, list[str]] = {}
    name = ""
    for line in head.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and name:
            fields[name][-1] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields.setdefault(name, []).append(value.strip())
    mail_from = ""
    for _, address in email.utils.getaddresses(fields.get("return-path", [])):
        mail_from = address
    for header in ("x-original-to", "delivered-to", "envelope-to"):
        found = [a for _, a in email.utils.getaddresses(fields.get(header, [])) if "@" in a]
        if found:
            return mail_from, tuple(dict.fromkeys(a.lower() for a in found))
    visible = [a for _, a in email.utils.getaddresses(fields.get("to", []) + fields.get("cc", [])) if "@" in a]
    return mail_from, tuple(dict.fromkeys(a.lower() for a in visible))


def _message(raw: bytes, origin: str) -> SourceMessage:
    mail_from, rcpts = _envelope_from_headers(raw)
    return SourceMessage(raw, origin, mail_from, rcpts)


def _read_file(path: Path) -> SourceMessage:
    try:
        return _message(path.read_bytes(), str(path))
    except OSError as exc:
        return SourceMessage(b"", str(path), error=f"cannot read: {exc.strerror or exc}")


def _iter_mbox(path: Path) -> Iterator[SourceMessage]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.keys())
    except (OSError, mailbox.Error) as exc:
        yield SourceMessage(b"", str(path), error=f"cannot read mbox: {exc}")
        return
    try:
        for index, key in enumerate(keys):
            origin = f"{path}#{index + 1}"
            try:
                raw = box.get_bytes(key)
            except (OSError, KeyError, mailbox.Error) as exc:
                yield SourceMessage(b"", origin, error=f"cannot read: {exc}")
                continue
            yield _message(raw, origin)
    finally:
        box.close()


def _maildir_entry(entry: Path) -> bool:
    return not entry.name.startswith(".") and not entry.is_dir()


def _iter_maildir(path: Path) -> Iterator[SourceMessage]:
    for sub in ("new", "cur"):
        try:
            entries = sorted((path / sub).iterdir())
        except OSError as exc:
            yield SourceMessage(b"", str(path / sub), error=f"cannot read: {exc.strerror or exc}")
            continue
        for entry in entries:
            if _maildir_entry(entry):
                yield _read_file(entry)
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") and child.is_dir() and _is_maildir(child):
            yield from _iter_maildir(child)


def _is_message_file(name: str) -> bool:
    return name.lower().endswith(_MESSAGE_SUFFIXES)


def _is_mbox(path: Path) -> bool:
    return path.suffix.lower() == ".mbox" or _looks_like_mbox(path)


def _iter_directory(path: Path) -> Iterator[SourceMessage]:
    failures: list[OSError] = []
    for root, dirs, files in os.walk(path, onerror=failures.append):
        dirs.sort()
        here = Path(root)
        if _is_maildir(here) and here != path:
            dirs.clear()
            yield from _iter_maildir(here)
            continue
        for name in sorted(files):
            if _is_message_file(name):
                yield from _iter_path(here / name)
    for failure in failures:
        yield SourceMessage(b"", str(failure.filename or path), error=f"cannot read: {failure.strerror or failure}")


def _iter_path(path: Path) -> Iterator[SourceMessage]:
    if path.is_dir():
        yield from _iter_maildir(path) if _is_maildir(path) else _iter_directory(path)
    elif _is_mbox(path):
        yield from _iter_mbox(path)
    else:
        yield _read_file(path)


def _check(paths: Sequence[Path]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidInput(f"no such file or directory: {', '.join(missing)}", field="path")


def iter_sources(paths: Sequence[Path]) -> Iterator[SourceMessage]:
    """Every message under the paths, in a stable order; unreadable ones come as entries with `error` set."""
    _check(paths)
    for path in paths:
        yield from _iter_path(path)


def _count_mbox(path: Path) -> int:
    """Lines starting with "From ", which is how mailbox.mbox splits the file, counted without parsing."""
    count = 0
    tail = b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_COUNT_CHUNK):
                count += (tail + chunk).count(b"\nFrom ")
                tail = chunk[-5:]
    except OSError:
        return 1
    return count


def _count_path(path: Path) -> int:
    if path.is_file():
        return _count_mbox(path) if _is_mbox(path) else 1
    if _is_maildir(path):
        folders = [path] + [c for c in path.iterdir() if c.name.startswith(".") and c.is_dir() and _is_maildir(c)]
        return sum(1 for f in folders for sub in ("new", "cur") for e in (f / sub).iterdir() if _maildir_entry(e))
    total = 0
    for root, dirs, files in os.walk(path):
        here = Path(root)
        if _is_maildir(here) and here != path:
            dirs.clear()
            total += _count_path(here)
            continue
        total += sum(_count_path(here / name) for name in files if _is_message_file(name))
    return total


def count_messages(paths: Sequence[Path]) -> int | None:
    """How many entries iter_sources will give, for a progress bar: files are listed and mbox files scanned
    for separator lines, nothing is parsed. None when the count fails."""
    _check(paths)
    try:
        return sum(_count_path(path) for path in paths)
    except OSError:
        return None
