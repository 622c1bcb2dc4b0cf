"""Errors name what is wrong and where (line and column), like Kusto's own messages."""

from __future__ import annotations

import pytest

from ramparts.errors import KqlError
from ramparts.hunting import compile_kql


def _error(kql: str) -> KqlError:
    with pytest.raises(KqlError) as info:
        compile_kql(kql, dialect="duckdb")
    return info.value


@pytest.mark.parametrize(
    ("kql", "message", "line", "column"),
    [
        ("EmailEvent | take 1", "unknown table 'EmailEvent'", 1, 1),
        ("emailevents | take 1", "did you mean 'EmailEvents'", 1, 1),
        ("EmailEvents\n| where Sbject == 'x'", "unknown column or variable 'Sbject'", 2, 9),
        ("EmailEvents\n| extend x = frob(Subject)", "unknown function 'frob'", 2, 14),
        ("EmailEvents | where Subject > 5", "cannot compare string with long", 1, 29),
        ("EmailEvents | where Subject", "a predicate must be bool", 1, 21),
        ("EmailEvents | where Timestamp > ago('x')", "ago() takes a timespan", 1, 33),
        (
            "EmailEvents\n  | make-series count() on Subject step 1d",
            "make-series needs a datetime, timespan or integer axis, not string",
            2,
            28,
        ),
        ("EmailEvents | evaluate autocluster()", "the 'autocluster' plugin of evaluate is not supported", 1, 24),
        ("EmailEvents | evaluate python(typeof(*), 'x')", "it runs user code", 1, 24),
        (
            "EmailEvents | make-series n = count() on Timestamp step 1d | extend (a, s, b) = series_periods_detect(n)",
            "series_periods_detect() is not supported",
            1,
            81,
        ),
        ("EmailEvents | mv-apply x = 1 on (take 1)", "'mv-apply' operator is not supported yet", 1, 15),
        ("let x = externaldata(a:string)['https://example.com/x.csv'];\nx", "externaldata is not supported", 1, 9),
        ("EmailEvents | project-away Nope", "unknown column 'Nope'", 1, 28),
        ("EmailEvents | summarize x = dcount()", "'dcount' takes 1 to 2 arguments", 1, 29),
        ("EmailEvents | extend c = count()", "'count' is an aggregation function", 1, 26),
        ("EmailEvents | join kind=sideways (EmailUrlInfo) on NetworkMessageId", "unknown join kind 'sideways'", 1, 34),
        (
            "EmailEvents | join (EmailUrlInfo) on $left.Nope == $right.Url",
            "unknown column 'Nope' on the left side",
            1,
            44,
        ),
    ],
)
def test_error_positions(kql: str, message: str, line: int, column: int) -> None:
    error = _error(kql)
    assert message in error.reason
    assert (error.line, error.column) == (line, column)
    assert f"line {line}, column {column}" in str(error)


def test_error_snippet_is_the_line() -> None:
    error = _error("let a = 1;\nEmailEvents | where Nope == a")
    assert error.snippet == "EmailEvents | where Nope == a"


def test_engine_errors_are_kql_errors() -> None:
    import duckdb

    from ramparts.hunting import duckdb_backend, run_kql

    conn = duckdb.connect()  # no tables created: the engine itself fails
    with pytest.raises(KqlError, match="failed in the engine"):
        run_kql("EmailEvents | take 1", backend=duckdb_backend(conn))
