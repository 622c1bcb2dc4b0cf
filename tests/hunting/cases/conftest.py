"""Conformance harness: every case runs on DuckDB and on ClickHouse (chdb, in-process) and must
return the rows worked out by hand from Microsoft's Kusto documentation.

A case is ``case(id, query, rows, ordered=False, columns=None)``:

* ``rows`` are dicts of Python values: datetimes as ISO-8601 strings ending in ``Z``, timespans as
  Kusto strings (``"1.00:00:00"``), dynamic as lists/dicts, long/int as ``int``, real as ``float``
  (compared with ``pytest.approx``), bool as ``bool``, a missing value as ``None``.
* ``Unordered([...])`` stands for a dynamic array whose element order KQL leaves open
  (``make_set``, ``make_list``, ``bag_keys``): it is compared as a multiset.
* ``ordered=True`` compares row order too (``sort``, ``top``, ``order by``).
* ``columns`` is the expected column list, by name, or as ``(name, kql type)`` pairs.

chdb allows one embedded server per process, so the ClickHouse backend is the session-wide ``ch``
fixture of ``tests/hunting/conftest.py``; DuckDB gets a fresh, empty in-memory connection.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest

from ramparts.hunting import HuntingBackend, QueryResult, duckdb_backend, run_kql

NOW = dt.datetime(2024, 5, 15, 12, 0, tzinfo=dt.UTC)  # a Wednesday


class Unordered:
    """A dynamic array compared without regard to element order."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Unordered({self.items!r})"


def case(
    case_id: str,
    query: str,
    rows: list[dict[str, Any]],
    *,
    ordered: bool = False,
    columns: list[Any] | None = None,
) -> Any:
    return pytest.param(query, rows, ordered, columns, id=case_id)


CASE_ARGS = ("query", "expected", "ordered", "columns")


@pytest.fixture(scope="session")
def _duck_backend() -> Iterator[HuntingBackend]:
    conn = duckdb.connect()
    yield duckdb_backend(conn)
    conn.close()


@pytest.fixture(params=["duckdb", "clickhouse"])
def backend(request: pytest.FixtureRequest) -> HuntingBackend:
    if request.param == "duckdb":
        return request.getfixturevalue("_duck_backend")  # type: ignore[no-any-return]
    return request.getfixturevalue("ch")  # type: ignore[no-any-return]


@pytest.fixture
def run(backend: HuntingBackend) -> Callable[..., QueryResult]:
    def _run(query: str, **kwargs: Any) -> QueryResult:
        kwargs.setdefault("now", NOW)
        return run_kql(query, backend=backend, **kwargs)

    return _run


# ------------------------------------------------------------------ comparison


def _canon(value: Any) -> str:
    def fix(v: Any) -> Any:
        if isinstance(v, Unordered):
            return sorted((fix(x) for x in v.items), key=lambda x: json.dumps(x, sort_keys=True, default=str))
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    return json.dumps(fix(value), sort_keys=True, default=str)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Unordered):
        if not isinstance(actual, list):
            return False
        return sorted(_canon(x) for x in actual) == sorted(_canon(x) for x in expected.items)
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if isinstance(expected, float):
        return isinstance(actual, int | float) and not isinstance(actual, bool) and actual == pytest.approx(expected)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(_same(actual[k], e) for k, e in expected.items())
        )
    return type(actual) is type(expected) and actual == expected


def _same_row(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    return set(actual) == set(expected) and all(_same(actual[k], v) for k, v in expected.items())


def compare_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]], *, ordered: bool) -> None:
    message = f"\nexpected: {expected!r}\nactual:   {actual!r}"
    assert len(actual) == len(expected), "row count differs" + message
    if ordered:
        for a, e in zip(actual, expected, strict=True):
            assert _same_row(a, e), "rows differ" + message
        return
    remaining = list(actual)
    for e in expected:
        for i, a in enumerate(remaining):
            if _same_row(a, e):
                del remaining[i]
                break
        else:
            raise AssertionError(f"no actual row matches {e!r}" + message)


@pytest.fixture
def check(run: Callable[..., QueryResult]) -> Callable[..., QueryResult]:
    def _check(
        query: str,
        expected_rows: list[dict[str, Any]],
        *,
        ordered: bool = False,
        columns: list[Any] | None = None,
        **kwargs: Any,
    ) -> QueryResult:
        result = run(query, **kwargs)
        if columns is not None:
            if columns and isinstance(columns[0], tuple):
                assert list(result.columns) == columns, result.columns
            else:
                assert [name for name, _ in result.columns] == columns, result.columns
        compare_rows(result.rows, expected_rows, ordered=ordered)
        return result

    return _check
