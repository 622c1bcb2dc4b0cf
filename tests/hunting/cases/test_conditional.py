"""iff/iif, case (first true branch wins), coalesce (first non-null, and for strings first
non-empty), isempty/isnotempty (empty string or null) and isnull/isnotnull (a string is never
null)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

N = "datatable(n:long)[1, 2, 5]"


def p(expr: str) -> str:
    return f"print r = {expr}"


CASES = [
    case(
        "iff-per-row",
        N + ' | project n, r = iff(n > 1, "big", "small")',
        [{"n": 1, "r": "small"}, {"n": 2, "r": "big"}, {"n": 5, "r": "big"}],
    ),
    case("iif-alias", N + " | where n == 5 | project r = iif(n % 2 == 1, 10, 20)", [{"r": 10}]),
    case(
        "case-else-branch",
        N + ' | project n, r = case(n == 1, "one", n == 2, "two", "many")',
        [{"n": 1, "r": "one"}, {"n": 2, "r": "two"}, {"n": 5, "r": "many"}],
    ),
    case(
        "case-first-true-wins",
        N + ' | where n == 2 | project r = case(n > 0, "pos", n > 1, "big", "other")',
        [{"r": "pos"}],
    ),
    case("coalesce-doc-example", p('coalesce(tolong("not a number"), tolong("42"), 33)'), [{"r": 42}]),
    case("coalesce-skips-empty-string", p('coalesce("", "b")'), [{"r": "b"}]),
    case("coalesce-all-null", p("coalesce(long(null), long(null))"), [{"r": None}]),
    case("coalesce-first-non-null", p("coalesce(long(null), 7, 8)"), [{"r": 7}]),
    case("isempty-empty-string", p('isempty("")'), [{"r": True}]),
    case("isempty-non-empty", p('isempty("x")'), [{"r": False}]),
    case("isempty-null-long", p("isempty(long(null))"), [{"r": True}]),
    case("isnotempty-space", p('isnotempty(" ")'), [{"r": True}]),
    case("isnull-empty-string-false", p('isnull("")'), [{"r": False}]),
    case("isnotnull-empty-string-true", p('isnotnull("")'), [{"r": True}]),
    case("isnull-null-long", p('isnull(toint("abc"))'), [{"r": True}]),
    case("isnull-empty-bag-false", p("isnull(parse_json('{}'))"), [{"r": False}]),
    case(
        "isnotempty-in-where",
        'datatable(s:string, n:long)["a", 1, "", 2, "c", long(null)]'
        " | where isnotempty(s) and isnotnull(n) | project s",
        [{"s": "a"}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_conditional(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
