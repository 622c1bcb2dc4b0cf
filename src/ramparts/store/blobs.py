"""Raw messages kept content-addressed on disk (for preview, release and re-scan)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ramparts.errors import NotFound


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"no stored message {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, raw: bytes, *, sync: bool = True) -> str:
        """Store bytes and return their SHA-256; storing the same bytes twice is free.

        sync=False leaves the fsync to a later durability barrier (the pipeline syncs once per batch).
        """
        digest = hashlib.sha256(raw).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("wb") as handle:
            handle.write(raw)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        tmp.replace(path)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no stored message {sha256}") from None
