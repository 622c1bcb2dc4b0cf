"""Conversions: a failed conversion gives null; toint/tolong truncate toward zero; tostring of a
null is the empty string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case


def p(expr: str) -> str:
    return f"print r = {expr}"


def r(value: Any) -> list[dict[str, Any]]:
    return [{"r": value}]


CASES = [
    case("tostring-long", p("tostring(123)"), r("123"), columns=[("r", "string")]),
    case("tostring-real", p("tostring(1.5)"), r("1.5")),
    case("tostring-bool", p("tostring(true)"), r("true")),
    case("tostring-null-is-empty", p("tostring(long(null))"), r("")),
    case("toint-string", p('toint("42")'), r(42), columns=[("r", "int")]),
    case("toint-not-a-number-null", p('toint("abc")'), r(None)),
    case("toint-truncates", p("toint(2.7)"), r(2)),
    case("toint-truncates-toward-zero", p("toint(-2.7)"), r(-2)),
    case("tolong-big", p('tolong("9999999999")'), r(9999999999), columns=[("r", "long")]),
    case("tolong-bad-null", p('tolong("x1")'), r(None)),
    case("tolong-real-truncates", p("tolong(3.9)"), r(3)),
    case("todouble-string", p('todouble("1.25")'), r(1.25), columns=[("r", "real")]),
    case("todouble-bad-null", p('todouble("x")'), r(None)),
    case("todouble-long", p("todouble(7)"), r(7.0)),
    case("toreal-alias", p('toreal("2.5")'), r(2.5)),
    case("tobool-true-string", p('tobool("true")'), r(True), columns=[("r", "bool")]),
    case("tobool-false-string", p('tobool("false")'), r(False)),
    case("tobool-one", p("tobool(1)"), r(True)),
    case("tobool-nonzero", p("tobool(123)"), r(True)),
    case("tobool-bad-null", p('tobool("maybe")'), r(None)),
    case("todatetime-space-format", p('todatetime("2024-03-01 10:00:00")'), r("2024-03-01T10:00:00Z")),
    case("todatetime-iso-z", p('todatetime("2024-03-01T10:00:00Z")'), r("2024-03-01T10:00:00Z")),
    case("todatetime-bad-null", p('todatetime("not a date")'), r(None), columns=[("r", "datetime")]),
    case("totimespan-string", p('totimespan("1.02:03:04")'), r("1.02:03:04")),
    case("long-and-real-literals", "print a = long(5), b = real(2), c = int(3)", [{"a": 5, "b": 2.0, "c": 3}]),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_conversion(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
