"""Shared checks: compile to each dialect, run on both engines, compare."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ramparts.hunting import HuntingBackend, QueryResult, compile_kql, run_kql
from tests.hunting.corpus import normalize
from tests.hunting.synthetic import NOW


def validate(kql: str, *, duckdb: str | None = None, clickhouse: str | None = None, now: dt.datetime = NOW) -> None:
    """The compiled SQL for each dialect given is exactly the expected text."""
    if duckdb is not None:
        assert compile_kql(kql, dialect="duckdb", now=now).sql == duckdb
    if clickhouse is not None:
        assert compile_kql(kql, dialect="clickhouse", now=now).sql == clickhouse


def run_both(
    kql: str, duck: HuntingBackend, ch: HuntingBackend, *, ordered: bool = False, **kwargs: Any
) -> QueryResult:
    """Run on DuckDB and ClickHouse; the rows must agree; returns the DuckDB result."""
    kwargs.setdefault("now", NOW)
    a = run_kql(kql, backend=duck, **kwargs)
    b = run_kql(kql, backend=ch, **kwargs)
    assert a.columns == b.columns
    assert normalize(a.rows, ordered) == normalize(b.rows, ordered), (a.rows[:5], b.rows[:5])
    return a


def srt(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in a canonical order, for results whose order KQL leaves open."""
    return sorted(items, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def rows(
    kql: str, duck: HuntingBackend, ch: HuntingBackend, *, ordered: bool = False, **kwargs: Any
) -> list[dict[str, Any]]:
    result = run_both(kql, duck, ch, ordered=ordered, **kwargs).rows
    return result if ordered else srt(result)
