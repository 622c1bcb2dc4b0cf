"""Errors are KqlError with the 1-based line and column of the offending token and a reason that
names the culprit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ramparts.errors import KqlError
from ramparts.hunting import QueryResult

CASES = [
    pytest.param(
        "let x = externaldata(a:string)[@'https://example.com/x.csv'];\nx",
        "externaldata",
        None,
        id="externaldata-refused",
    ),
    pytest.param(
        "externaldata(a:string)[@'https://example.com/x.csv'] with (format='csv')",
        "externaldata",
        None,
        id="externaldata-as-source-refused",
    ),
    pytest.param("datatable(a:long)[1]\n| project a,, b", None, (2, 13), id="syntax-double-comma-line-2"),
    pytest.param('print s = "abc', None, (1, 11), id="syntax-unterminated-string"),
    pytest.param("datatable(a:long)[1]\n| wher a > 1", "wher", (2, 3), id="syntax-unknown-operator"),
    pytest.param("datatable(a:long)[1] | where a >", None, (1, 33), id="syntax-missing-operand-at-end"),
    pytest.param("datatable(a:long)[1] | where b > 1", "'b'", (1, 30), id="unknown-column-named"),
    pytest.param(
        "datatable(a:long)[1]\n| extend c = a + 1\n| project d",
        "'d'",
        (3, 11),
        id="unknown-column-line-3",
    ),
    pytest.param("NoSuchTable | take 1", "NoSuchTable", (1, 1), id="unknown-table-named"),
    pytest.param("print x = frobnicate(1)", "frobnicate", (1, 11), id="unknown-function-named"),
    pytest.param(
        'datatable(A:string, N:long)["x", 7] | extend M = N * 2, P = M + 1',
        "'M'",
        (1, 61),
        id="extend-cannot-see-sibling-column",
    ),
    pytest.param(
        "datatable(a:long)[1] | project a | project-away zz",
        "zz",
        (1, 49),
        id="project-away-unknown-column",
    ),
]


@pytest.mark.parametrize(("query", "needle", "where"), CASES)
def test_errors(run: Callable[..., QueryResult], query: str, needle: str | None, where: tuple[int, int] | None) -> None:
    with pytest.raises(KqlError) as info:
        run(query)
    error = info.value
    if needle is not None:
        assert needle in error.reason, error.reason
    if where is not None:
        assert (error.line, error.column) == where, (error.line, error.column, error.reason)
