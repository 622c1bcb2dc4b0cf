"""project, project-away, project-rename, project-reorder: which columns, under which names, in
which order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

T = 'datatable(A:string, B:long, C:real)["x", 1, 1.5, "y", 2, 2.5]'

CASES = [
    case(
        "project-keeps-listed-columns-in-order",
        T + " | project C, A",
        [{"C": 1.5, "A": "x"}, {"C": 2.5, "A": "y"}],
        columns=["C", "A"],
    ),
    case("project-rename-with-assignment", T + " | project Letter = A", [{"Letter": "x"}, {"Letter": "y"}]),
    case(
        "project-computed-column",
        T + " | project A, Twice = B * 2",
        [{"A": "x", "Twice": 2}, {"A": "y", "Twice": 4}],
        columns=[("A", "string"), ("Twice", "long")],
    ),
    case(
        "project-unnamed-expression-gets-Column1",
        T + " | where B == 1 | project B + 10",
        [{"Column1": 11}],
    ),
    case(
        "project-away-drops-columns",
        T + " | project-away B",
        [{"A": "x", "C": 1.5}, {"A": "y", "C": 2.5}],
        columns=["A", "C"],
    ),
    case("project-away-several", T + " | project-away B, C", [{"A": "x"}, {"A": "y"}]),
    case("project-away-wildcard", T + " | project-away C*", [{"A": "x", "B": 1}, {"A": "y", "B": 2}]),
    case(
        "project-rename-keeps-position",
        T + " | project-rename Bee = B",
        [{"A": "x", "Bee": 1, "C": 1.5}, {"A": "y", "Bee": 2, "C": 2.5}],
        columns=["A", "Bee", "C"],
    ),
    case(
        "project-reorder-moves-listed-first",
        T + " | project-reorder C, B",
        [{"C": 1.5, "B": 1, "A": "x"}, {"C": 2.5, "B": 2, "A": "y"}],
        columns=["C", "B", "A"],
    ),
    case(
        "project-keep",
        T + " | project-keep A, C",
        [{"A": "x", "C": 1.5}, {"A": "y", "C": 2.5}],
        columns=["A", "C"],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_project(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
