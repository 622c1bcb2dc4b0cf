"""where: filters rows by a bool predicate; a null comparison is not true, so the row is dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

T = 'datatable(Name:string, Count:long, Ok:bool)["a", 1, true, "b", 2, false, "c", 3, true, "d", long(null), false]'

CASES = [
    case("where-greater-than", T + " | where Count > 1 | project Name", [{"Name": "b"}, {"Name": "c"}]),
    case("where-equals-long", T + " | where Count == 2 | project Name", [{"Name": "b"}]),
    case("where-not-equals-drops-null", T + " | where Count != 2 | project Name", [{"Name": "a"}, {"Name": "c"}]),
    case("where-and", T + " | where Count >= 2 and Ok | project Name", [{"Name": "c"}]),
    case("where-or", T + ' | where Count == 1 or Name == "d" | project Name', [{"Name": "a"}, {"Name": "d"}]),
    case("where-not-function", T + " | where not(Ok) | project Name", [{"Name": "b"}, {"Name": "d"}]),
    case("where-bool-column", T + " | where Ok | project Name", [{"Name": "a"}, {"Name": "c"}]),
    case("where-null-comparison-false", T + " | where Count < 100 | count", [{"Count": 3}]),
    case("where-isnull", T + " | where isnull(Count) | project Name", [{"Name": "d"}]),
    case("where-chained-filters", T + ' | where Count > 1 | where Name != "c" | project Name', [{"Name": "b"}]),
    case("where-no-rows", T + " | where Count > 10", []),
    case(
        "where-precedence-and-binds-tighter",
        T + ' | where Name == "a" or Name == "b" and Count == 1 | project Name',
        [{"Name": "a"}],
    ),
    case("filter-alias", T + " | filter Count == 3 | project Name", [{"Name": "c"}]),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_where(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
