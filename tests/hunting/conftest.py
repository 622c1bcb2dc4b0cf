from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from ramparts.hunting import chdb_backend, duckdb_backend
from tests.hunting.synthetic import generate, load_chdb, load_duckdb


@pytest.fixture(scope="session")
def synthetic_data() -> dict[str, list[dict[str, Any]]]:
    return generate()


@pytest.fixture(scope="session")
def duck(synthetic_data: dict[str, list[dict[str, Any]]]) -> Iterator[Any]:
    conn = duckdb.connect()
    load_duckdb(conn, synthetic_data)
    yield duckdb_backend(conn)
    conn.close()


@pytest.fixture(scope="session")
def ch(synthetic_data: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from chdb import session

    sess = session.Session(str(tmp_path_factory.mktemp("chdb")))
    load_chdb(sess, synthetic_data)
    yield chdb_backend(sess)
    sess.close()
