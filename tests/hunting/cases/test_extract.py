"""extract(regex, group, source [, typeof(T)]): group 0 is the whole match; no match gives an
empty string (null for a typed result); extract_all returns every match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

CASES = [
    case("extract-group-1", 'print r = extract("x=([0-9.]+)", 1, "a x=3.14 b")', [{"r": "3.14"}]),
    case("extract-group-0-whole-match", 'print r = extract("x=([0-9.]+)", 0, "a x=3.14 b")', [{"r": "x=3.14"}]),
    case(
        "extract-typeof-real",
        'print r = extract("x=([0-9.]+)", 1, "a x=3.14 b", typeof(real))',
        [{"r": 3.14}],
        columns=[("r", "real")],
    ),
    case("extract-no-match-empty-string", 'print r = extract("y=([0-9]+)", 1, "x=1")', [{"r": ""}]),
    case("extract-no-match-typed-null", 'print r = extract("y=([0-9]+)", 1, "x=1", typeof(long))', [{"r": None}]),
    case(
        "extract-second-group",
        'print r = extract(@"(\\w+)@(\\w+)\\.com", 2, "mail alice@contoso.com")',
        [{"r": "contoso"}],
    ),
    case("extract-is-case-sensitive", 'print r = extract("error", 0, "An ERROR occurred")', [{"r": ""}]),
    case("extract-inline-ignore-case", 'print r = extract("(?i)error", 0, "An ERROR occurred")', [{"r": "ERROR"}]),
    case(
        "extract-in-where",
        'datatable(s:string)["id=12", "none", "id=7"] | where isnotempty(extract(@"id=(\\d+)", 1, s)) | project s',
        [{"s": "id=12"}, {"s": "id=7"}],
    ),
    case(
        "extract_all-single-group",
        'print r = extract_all(@"(\\d+)", "a1b22c333")',
        [{"r": ["1", "22", "333"]}],
        columns=[("r", "dynamic")],
    ),
    case(
        "extract_all-two-groups",
        'print r = extract_all(@"(\\w)=(\\d)", "a=1, b=2")',
        [{"r": [["a", "1"], ["b", "2"]]}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_extract(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
