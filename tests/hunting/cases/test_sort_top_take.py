"""sort/order, top, take/limit: sort defaults to desc; nulls go last for desc and first for asc
(both for sort and top); top N by x is sort by x | take N."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

S = 'datatable(n:long, s:string)[3, "c", 1, "a", long(null), "z", 2, "b"]'


def ns(*values: int | None) -> list[dict[str, Any]]:
    return [{"n": v} for v in values]


CASES = [
    case("sort-default-desc-nulls-last", S + " | sort by n | project n", ns(3, 2, 1, None), ordered=True),
    case("order-by-alias", S + " | order by n | project n", ns(3, 2, 1, None), ordered=True),
    case("sort-asc-nulls-first", S + " | sort by n asc | project n", ns(None, 1, 2, 3), ordered=True),
    case("sort-asc-nulls-last", S + " | sort by n asc nulls last | project n", ns(1, 2, 3, None), ordered=True),
    case("sort-desc-nulls-first", S + " | sort by n desc nulls first | project n", ns(None, 3, 2, 1), ordered=True),
    case(
        "sort-string-asc",
        S + " | sort by s asc | project s",
        [{"s": "a"}, {"s": "b"}, {"s": "c"}, {"s": "z"}],
        ordered=True,
    ),
    case(
        "sort-two-keys",
        'datatable(g:string, n:long)["x", 1, "y", 5, "x", 3, "y", 2] | sort by g asc, n desc',
        [{"g": "x", "n": 3}, {"g": "x", "n": 1}, {"g": "y", "n": 5}, {"g": "y", "n": 2}],
        ordered=True,
    ),
    case("sort-by-expression", S + " | where isnotnull(n) | sort by n % 3 asc | project n", ns(3, 1, 2), ordered=True),
    case("top-default-desc", S + " | top 2 by n | project n", ns(3, 2), ordered=True),
    case("top-asc-nulls-first", S + " | top 2 by n asc | project n", ns(None, 1), ordered=True),
    case("top-asc-nulls-last", S + " | top 1 by n asc nulls last | project n", ns(1), ordered=True),
    case("top-keeps-all-columns", S + " | top 1 by n", [{"n": 3, "s": "c"}], columns=["n", "s"]),
    case("take-count", S + " | take 2 | count", [{"Count": 2}]),
    case("limit-alias", S + " | limit 3 | count", [{"Count": 3}]),
    case("take-more-than-rows", S + " | take 100 | count", [{"Count": 4}]),
    case("take-zero", S + " | take 0", []),
    case("sort-then-take", S + " | sort by n asc nulls last | take 2 | project n", ns(1, 2), ordered=True),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_sort_top_take(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
