"""extend: adds computed columns after the existing ones, replaces a column of the same name in
place, and a later expression may use an earlier one. Arithmetic follows KQL types: long / long is
an integer division that truncates toward zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

T = 'datatable(A:string, N:long)["x", 7]'

CASES = [
    case(
        "extend-appends-column",
        T + " | extend M = N + 1",
        [{"A": "x", "N": 7, "M": 8}],
        columns=[("A", "string"), ("N", "long"), ("M", "long")],
    ),
    case(
        "extend-replaces-existing-column-in-place",
        T + " | extend A = strcat(A, A)",
        [{"A": "xx", "N": 7}],
        columns=["A", "N"],
    ),
    case(
        "extend-chained-uses-earlier-column",
        T + " | extend M = N * 2 | extend P = M + 1",
        [{"A": "x", "N": 7, "M": 14, "P": 15}],
    ),
    case("extend-unnamed-gets-Column1", T + " | extend N - 2 | project Column1", [{"Column1": 5}]),
    case("extend-long-division-truncates", T + " | project Q = N / 2", [{"Q": 3}], columns=[("Q", "long")]),
    case("extend-negative-long-division-toward-zero", T + " | project Q = -N / 2", [{"Q": -3}]),
    case("extend-modulo", T + " | project R = N % 3", [{"R": 1}]),
    case("extend-real-division", T + " | project Q = N / 2.0", [{"Q": 3.5}], columns=[("Q", "real")]),
    case("extend-round-digits", T + " | project R = round(2.567, 2)", [{"R": 2.57}]),
    case("extend-abs-and-floor", T + " | project A = abs(-3), F = floor(7.9, 1.0)", [{"A": 3, "F": 7.0}]),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_extend(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
