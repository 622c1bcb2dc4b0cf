"""lookup: extends the left (fact) table with right (dimension) columns; leftouter by default,
inner on request; the right-side key columns are not repeated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

FD = (
    'let Fact = datatable(k:long, x:string)[1, "f1", 2, "f2", 3, "f3", 1, "f4"];\n'
    'let Dim = datatable(k:long, name:string)[1, "one", 2, "two", 5, "five"];\n'
)

CASES = [
    case(
        "lookup-default-leftouter",
        FD + "Fact | lookup Dim on k",
        [
            {"k": 1, "x": "f1", "name": "one"},
            {"k": 2, "x": "f2", "name": "two"},
            {"k": 3, "x": "f3", "name": ""},
            {"k": 1, "x": "f4", "name": "one"},
        ],
        columns=[("k", "long"), ("x", "string"), ("name", "string")],
    ),
    case(
        "lookup-inner-drops-unmatched",
        FD + "Fact | lookup kind=inner Dim on k",
        [
            {"k": 1, "x": "f1", "name": "one"},
            {"k": 2, "x": "f2", "name": "two"},
            {"k": 1, "x": "f4", "name": "one"},
        ],
    ),
    case(
        "lookup-left-right-key-not-repeated",
        FD + "Fact | lookup (Dim | project-rename id = k) on $left.k == $right.id",
        [
            {"k": 1, "x": "f1", "name": "one"},
            {"k": 2, "x": "f2", "name": "two"},
            {"k": 3, "x": "f3", "name": ""},
            {"k": 1, "x": "f4", "name": "one"},
        ],
        columns=["k", "x", "name"],
    ),
    case(
        "lookup-unmatched-long-is-null",
        "let F = datatable(k:long)[1, 9];\nlet D = datatable(k:long, w:long)[1, 100];\nF | lookup D on k",
        [{"k": 1, "w": 100}, {"k": 9, "w": None}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_lookup(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
