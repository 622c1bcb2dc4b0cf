"""The conformance rule on real pipeline output: every corpus query on the five email tables runs on demo
traffic (sent through the real pipeline) without error on DuckDB and on chdb, with the same results on both.
Queries that cannot run anywhere are the ones listed, with their reasons, in tests/hunting/test_corpus.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from ramparts.config import load_settings
from ramparts.demo import DemoTraffic
from ramparts.errors import KqlError
from ramparts.hunting import chdb_backend, duckdb_backend, run_kql
from ramparts.mailflow.ingest import ensure_demo_tenants, install_demo_dns
from ramparts.mailflow.runner import run_offline
from ramparts.services import open_services
from ramparts.telemetry.schema import TABLES
from tests.hunting.corpus import normalize
from tests.hunting.synthetic import load_chdb, load_duckdb
from tests.hunting.test_corpus import EMAIL_ONLY, EXPECTED_FAILURES, ORDER_DEPENDENT, PICKS_ROWS

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
TOP = re.compile(r"\|\s*top\s+\d+")
RUN_ON_DEMO = {"azsent-spoof-attempts-with-auth-failure-1-5af8f7"}
"""Expected failures on the synthetic data that run on demo traffic: its spoofs (DetectionMethods "Spoof
DMARC", "Spoof intra-org") give `bag_unpack` the SPF column, as Defender's data would."""
DEMO_FAILURES = EXPECTED_FAILURES.keys() - RUN_ON_DEMO


@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    settings = load_settings(tmp_path_factory.mktemp("demo") / "data")
    ensure_demo_tenants(settings)
    settings, dns = install_demo_dns(settings, 21)  # as `ramparts demo` runs: SPF, DKIM, DMARC from its zone
    services = open_services(settings)
    try:
        traffic = DemoTraffic(21, now=NOW - dt.timedelta(hours=1), span=dt.timedelta(days=6), dns=dns)
        summary = run_offline(services, [(env, raw) for env, raw, _ in traffic.messages(400)])
        assert summary.messages == 400
        data: dict[str, list[dict[str, Any]]] = {}
        for name in TABLES:
            columns, rows = services.telemetry.query(f'SELECT * FROM "{name}"')
            data[name] = [dict(zip(columns, row, strict=True)) for row in rows]
    finally:
        services.close()
    assert len(data["EmailEvents"]) == 400
    assert data["EmailUrlInfo"] and data["EmailAttachmentInfo"]
    return data


@pytest.fixture(scope="module")
def engines(demo_rows: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from chdb import session

    conn = duckdb.connect()
    load_duckdb(conn, demo_rows)
    sess = session.Session(str(tmp_path_factory.mktemp("chdb-demo")))
    load_chdb(sess, demo_rows)
    yield duckdb_backend(conn), chdb_backend(sess)
    sess.close()
    conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("row", EMAIL_ONLY, ids=[row["id"] for row in EMAIL_ONLY])
def test_corpus_query_runs_on_demo_data(row: dict[str, Any], engines: Any) -> None:
    duck, ch = engines
    if row["id"] in DEMO_FAILURES:
        with pytest.raises(KqlError):
            run_kql(row["query"], backend=duck, now=NOW, row_cap=5000)
        return
    a = run_kql(row["query"], backend=duck, now=NOW, row_cap=5000)
    b = run_kql(row["query"], backend=ch, now=NOW, row_cap=5000)
    assert a.columns == b.columns
    if row["id"] in ORDER_DEPENDENT or PICKS_ROWS.search(row["query"]) or TOP.search(row["query"]):
        assert len(a.rows) == len(b.rows)  # which of several tied rows `top`/`take` keep is the engine's choice
    else:
        assert normalize(a.rows) == normalize(b.rows)
