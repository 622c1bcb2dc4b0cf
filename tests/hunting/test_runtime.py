"""The public API: tenant and time confinement, row cap, time budget, value formats, DDL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from ramparts.errors import KqlError
from ramparts.hunting import CompiledQuery, QueryResult, compile_kql, create_tables_sql, duckdb_backend, run_kql
from ramparts.hunting.runtime import format_timespan
from tests.hunting.helpers import rows, run_both
from tests.hunting.synthetic import NOW


def test_compiled_query_shape() -> None:
    compiled = compile_kql(
        "EmailEvents | join EmailUrlInfo on NetworkMessageId | summarize n = count() by UrlDomain | render barchart",
        dialect="clickhouse",
        now=NOW,
    )
    assert isinstance(compiled, CompiledQuery)
    assert compiled.columns == (("UrlDomain", "string"), ("n", "long"))
    assert compiled.render == "barchart"
    assert compiled.tables == ("EmailEvents", "EmailUrlInfo")
    assert compiled.sql.endswith("SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1")


def test_tenant_confinement(duck: Any, ch: Any, synthetic_data: dict[str, list[dict[str, Any]]]) -> None:
    expected = sum(1 for r in synthetic_data["EmailEvents"] if r["TenantId"] == "tenant-b")
    joined = "EmailEvents | join kind=leftouter EmailUrlInfo on NetworkMessageId | summarize dcount(NetworkMessageId)"
    assert rows("EmailEvents | count", duck, ch, tenant_id="tenant-b") == [{"Count": expected}]
    assert rows(joined, duck, ch, tenant_id="tenant-b") == [{"dcount_NetworkMessageId": expected}]
    assert rows("EmailEvents | count", duck, ch, tenant_id="nobody") == [{"Count": 0}]
    sql = compile_kql("union EmailEvents, UrlClickEvents | count", dialect="duckdb", tenant_id="x'; drop").sql
    assert sql.count("\"TenantId\" = 'x''; drop'") == 2


def test_timespan_confinement(duck: Any, ch: Any, synthetic_data: dict[str, list[dict[str, Any]]]) -> None:
    start, end = NOW - dt.timedelta(days=3), NOW
    expected = sum(1 for r in synthetic_data["EmailEvents"] if start <= r["Timestamp"] <= end)
    assert rows("EmailEvents | count", duck, ch, timespan=(start, end)) == [{"Count": expected}]


def test_row_cap_truncates(duck: Any, ch: Any) -> None:
    for backend in (duck, ch):
        result = run_kql("EmailEvents | project NetworkMessageId", backend=backend, row_cap=7, now=NOW)
        assert isinstance(result, QueryResult)
        assert len(result.rows) == 7
        assert result.truncated
        small = run_kql("EmailEvents | take 3", backend=backend, row_cap=7, now=NOW)
        assert not small.truncated


def test_time_budget_interrupts_duckdb() -> None:
    conn = duckdb.connect()
    backend = duckdb_backend(conn)
    with pytest.raises(KqlError, match="time budget"):
        backend.execute("SELECT count(*) FROM range(100000000000) a", 10, 0.2)


def test_values_are_json_ready(duck: Any, ch: Any) -> None:
    (row,) = rows(
        "print d = datetime(2024-01-02 03:04:05.5), t = 1d + 90s, n = 5, r = 2.5, b = true, j = dynamic({'a': [1]}), s = ''",  # noqa: E501
        duck,
        ch,
    )
    assert row == {
        "d": "2024-01-02T03:04:05.5Z",
        "t": "1.00:01:30",
        "n": 5,
        "r": 2.5,
        "b": True,
        "j": {"a": [1]},
        "s": "",
    }
    assert format_timespan(-1_500_000) == "-00:00:01.5000000"


def test_now_is_injected(duck: Any, ch: Any) -> None:
    result = run_both("print now(), ago(2h)", duck, ch, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert result.rows == [{"print_0": "2030-01-01T00:00:00Z", "print_1": "2029-12-31T22:00:00Z"}]


def test_create_tables_sql_builds_every_table() -> None:
    conn = duckdb.connect()
    for statement in create_tables_sql("duckdb"):
        conn.execute(statement)
    names = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"EmailEvents", "EmailUrlInfo", "EmailAttachmentInfo", "EmailPostDeliveryEvents", "UrlClickEvents"} <= names
    assert all("MergeTree" in s for s in create_tables_sql("clickhouse"))


def test_timegenerated_alias(duck: Any, ch: Any) -> None:
    out = rows("EmailEvents | where TimeGenerated > ago(1d) | summarize c = count() | extend ok = c >= 0", duck, ch)
    assert out[0]["ok"] is True
