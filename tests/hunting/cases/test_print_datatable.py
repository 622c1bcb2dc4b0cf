"""print (unnamed columns are print_0, print_1, ...) and datatable literals of every type,
including nulls, escapes and an empty table; range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

CASES = [
    case("print-named", "print x = 1", [{"x": 1}], columns=[("x", "long")]),
    case("print-unnamed-print_0", "print 1 + 2", [{"print_0": 3}], columns=["print_0"]),
    case("print-unnamed-numbered-by-position", "print 1, 2", [{"print_0": 1, "print_1": 2}]),
    case("print-mixed-named-unnamed", "print x = 1 + 1, 3", [{"x": 2, "print_1": 3}], columns=["x", "print_1"]),
    case(
        "print-types",
        'print s = "a", b = true, r = 2.5, l = 10',
        [{"s": "a", "b": True, "r": 2.5, "l": 10}],
        columns=[("s", "string"), ("b", "bool"), ("r", "real"), ("l", "long")],
    ),
    case("string-escapes", 'print s = "tab\\there \\"q\\""', [{"s": 'tab\there "q"'}]),
    case("single-quoted-string", "print s = 'it\\'s'", [{"s": "it's"}]),
    case("verbatim-string", 'print s = @"c:\\temp\\new"', [{"s": "c:\\temp\\new"}]),
    case(
        "datatable-all-types",
        "datatable(s:string, l:long, i:int, r:real, b:bool, t:datetime, ts:timespan, d:dynamic)"
        '["x", 5, 6, 1.5, true, datetime(2024-01-01 10:00), 1h, dynamic({"k": [1]})]',
        [
            {
                "s": "x",
                "l": 5,
                "i": 6,
                "r": 1.5,
                "b": True,
                "t": "2024-01-01T10:00:00Z",
                "ts": "01:00:00",
                "d": {"k": [1]},
            }
        ],
        columns=[
            ("s", "string"),
            ("l", "long"),
            ("i", "int"),
            ("r", "real"),
            ("b", "bool"),
            ("t", "datetime"),
            ("ts", "timespan"),
            ("d", "dynamic"),
        ],
    ),
    case(
        "datatable-nulls",
        "datatable(l:long, r:real, b:bool, t:datetime, s:string)"
        '[long(null), real(null), bool(null), datetime(null), ""]',
        [{"l": None, "r": None, "b": None, "t": None, "s": ""}],
    ),
    case("datatable-empty", "datatable(a:long, b:string)[]", [], columns=["a", "b"]),
    case("datatable-empty-count", "datatable(a:long)[] | count", [{"Count": 0}]),
    case(
        "datatable-multirow-multiline",
        'datatable(a:long, b:string)\n[\n  1, "x",\n  2, "y"\n]',
        [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
    ),
    case("range-step", "range x from 1 to 5 step 2", [{"x": 1}, {"x": 3}, {"x": 5}], columns=[("x", "long")]),
    case("comment-ignored", "// a comment\nprint x = 1 // trailing\n", [{"x": 1}]),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_print_datatable(
    check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any
) -> None:
    check(query, expected, ordered=ordered, columns=columns)
