from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ramparts.errors import NotFound
from ramparts.store.blobs import BlobStore


def test_content_addressed_round_trip(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert store.put(b"hello", sync=False) == digest
    assert store.get(digest) == b"hello"


@pytest.mark.parametrize("key", ["../../etc/passwd", "0" * 64, "zz"])
def test_unknown_or_hostile_keys_are_not_found(tmp_path: Path, key: str) -> None:
    with pytest.raises(NotFound):
        BlobStore(tmp_path).get(key)
