"""distinct and the count operator (one column named Count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

D = 'datatable(a:string, b:long)["x", 1, "x", 1, "x", 2, "y", 1, "X", 1]'

CASES = [
    case("distinct-one-column", D + " | distinct a", [{"a": "x"}, {"a": "y"}, {"a": "X"}], columns=["a"]),
    case(
        "distinct-two-columns",
        D + " | distinct a, b",
        [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y", "b": 1}, {"a": "X", "b": 1}],
    ),
    case(
        "distinct-star",
        D + " | distinct *",
        [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y", "b": 1}, {"a": "X", "b": 1}],
    ),
    case("distinct-is-case-sensitive", D + ' | where a =~ "x" | distinct a | count', [{"Count": 2}]),
    case("count-operator-column-Count", D + " | count", [{"Count": 5}], columns=[("Count", "long")]),
    case("count-after-where", D + ' | where a == "x" | count', [{"Count": 3}]),
    case("count-empty-input-is-zero", D + " | where b > 100 | count", [{"Count": 0}]),
    case("dcount-vs-count", D + " | summarize dcount(b), count()", [{"dcount_b": 2, "count_": 5}]),
    case("count_distinct", D + " | summarize count_distinct(a)", [{"count_distinct_a": 3}]),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_distinct_count(
    check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any
) -> None:
    check(query, expected, ordered=ordered, columns=columns)
