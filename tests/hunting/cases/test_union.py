"""union: concatenates rows (duplicates kept); kind=outer (default) takes every column, filling
the gaps with nulls; kind=inner keeps only the columns common to all inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

AB = 'let A = datatable(n:long, s:string)[1, "a"];\nlet B = datatable(n:long, t:string)[2, "b"];\n'

CASES = [
    case(
        "union-outer-fills-missing-columns",
        AB + "union A, B",
        [{"n": 1, "s": "a", "t": ""}, {"n": 2, "s": "", "t": "b"}],
        columns=["n", "s", "t"],
    ),
    case(
        "union-piped-form",
        AB + "A | union B",
        [{"n": 1, "s": "a", "t": ""}, {"n": 2, "s": "", "t": "b"}],
    ),
    case("union-kind-inner-common-columns", AB + "union kind=inner A, B", [{"n": 1}, {"n": 2}], columns=["n"]),
    case("union-keeps-duplicates", AB + "union A, A | count", [{"Count": 2}]),
    case(
        "union-same-schema",
        "let X = datatable(n:long)[1, 2];\nlet Y = datatable(n:long)[2, 3];\nunion X, Y",
        [{"n": 1}, {"n": 2}, {"n": 2}, {"n": 3}],
    ),
    case(
        "union-subqueries",
        AB + "union (A | project n), (B | where n > 5 | project n), (print n = 7)",
        [{"n": 1}, {"n": 7}],
    ),
    case(
        "union-missing-long-is-null",
        "let P = datatable(n:long)[1];\nlet Q = datatable(m:long)[2];\nunion P, Q",
        [{"n": 1, "m": None}, {"n": None, "m": 2}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_union(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
