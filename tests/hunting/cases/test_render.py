"""render is accepted, leaves the rows alone and is returned as the chart kind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ramparts.hunting import QueryResult

T = 'datatable(k:string, n:long)["a", 1, "b", 2]'

CASES = [
    pytest.param(T + " | render timechart", "timechart", id="render-timechart"),
    pytest.param(T + " | render piechart", "piechart", id="render-piechart"),
    pytest.param(T + " | render columnchart", "columnchart", id="render-columnchart"),
    pytest.param(T + ' | render barchart with (title="Mail by sender")', "barchart", id="render-barchart-with-props"),
    pytest.param(T + " | summarize sum(n) by k | render linechart", "linechart", id="render-after-summarize"),
]


@pytest.mark.parametrize(("query", "kind"), CASES)
def test_render(run: Callable[..., QueryResult], query: str, kind: str) -> None:
    result = run(query)
    assert result.render == kind
    assert sorted(row["k"] for row in result.rows) == ["a", "b"]


def test_no_render_is_none(run: Callable[..., QueryResult]) -> None:
    assert run(T).render is None
