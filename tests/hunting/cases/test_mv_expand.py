"""mv-expand: one row per array element (columns not expanded are copied); an empty array yields
no row, a null yields one row with null; several arrays expand in parallel, padding with null;
a property bag expands into single-entry bags (kind=bag) or [key, value] arrays (kind=array)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

M = "datatable(id:long, arr:dynamic)[1, dynamic([10, 20]), 2, dynamic([]), 3, dynamic(null), 4, dynamic([30])]"

# parse_json(s).P: array of mixed elements, empty, missing ({}), invalid JSON, object, top-level array, string,
# JSON null, JSON after white space, empty text, invalid JSON that opens like an object
J = (
    "datatable(id:long, s:string)["
    '1, \'{"P": [1, 2.5, "a", null, {"k": [1]}, [2, 3], true], "Q": {"x": 1}}\', 2, \'{"P": []}\', 3, \'{}\','
    ' 4, "not json", 5, \'{"P": {"x": "y", "z": [1]}}\', 6, "[1, 2]", 7, \'{"P": "str"}\', 8, \'{"P": null}\','
    ' 9, \' \\t{"P": ["w"]}\', 10, "", 11, "{bad"]'
)

CASES = [
    case(
        "mv-expand-array-empty-dropped-null-kept",
        M + " | mv-expand arr",
        [{"id": 1, "arr": 10}, {"id": 1, "arr": 20}, {"id": 3, "arr": None}, {"id": 4, "arr": 30}],
        columns=[("id", "long"), ("arr", "dynamic")],
    ),
    case(
        "mv-expand-to-typeof-long",
        M + " | where id in (1, 4) | mv-expand arr to typeof(long)",
        [{"id": 1, "arr": 10}, {"id": 1, "arr": 20}, {"id": 4, "arr": 30}],
        columns=[("id", "long"), ("arr", "long")],
    ),
    case(
        "mv-expand-with-itemindex",
        M + " | where id in (1, 4) | mv-expand with_itemindex=i arr",
        [{"id": 1, "arr": 10, "i": 0}, {"id": 1, "arr": 20, "i": 1}, {"id": 4, "arr": 30, "i": 0}],
    ),
    case(
        "mv-expand-parallel-pads-with-null",
        'datatable(a:dynamic, b:dynamic)[dynamic([1, 2, 3]), dynamic(["x", "y"])] | mv-expand a, b',
        [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": None}],
    ),
    case(
        "mv-expand-bag-default-single-entry-bags",
        'datatable(d:dynamic)[dynamic({"k1": "v1", "k2": "v2"})] | mv-expand d',
        [{"d": {"k1": "v1"}}, {"d": {"k2": "v2"}}],
    ),
    case(
        "mv-expand-kind-array-key-value-pairs",
        'datatable(d:dynamic)[dynamic({"k1": "v1", "k2": "v2"})] | mv-expand kind=array d',
        [{"d": ["k1", "v1"]}, {"d": ["k2", "v2"]}],
    ),
    case(
        "mv-expand-limit-per-row",
        M + " | where id in (1, 4) | mv-expand arr limit 1",
        [{"id": 1, "arr": 10}, {"id": 4, "arr": 30}],
    ),
    case(
        "mv-expand-named-expression",
        'datatable(id:long, s:string)[1, "a,b,c"]'
        ' | mv-expand part = split(s, ",") to typeof(string) | project id, part',
        [{"id": 1, "part": "a"}, {"id": 1, "part": "b"}, {"id": 1, "part": "c"}],
    ),
    case(
        "mv-expand-then-summarize",
        'datatable(u:string, tags:dynamic)["a", dynamic(["x", "y"]), "b", dynamic(["x"])]'
        " | mv-expand tags to typeof(string) | summarize n = count() by tags",
        [{"tags": "x", "n": 2}, {"tags": "y", "n": 1}],
    ),
    case(
        "mv-expand-json-text-to-string-elements-null-empty-bag",
        'datatable(id:long, s:string)[1, \'{"P": ["a", 2, null, {"k": 1}, "b"]}\', 2, \'{"P": []}\', 3, \'{}\','
        ' 4, "not json", 5, \'{"P": {"x": "y"}}\']'
        " | extend m = parse_json(s) | mv-expand e = m.P to typeof(string) | project id, e",
        [
            {"id": 1, "e": "a"},
            {"id": 1, "e": "2"},
            {"id": 1, "e": ""},
            {"id": 1, "e": '{"k":1}'},
            {"id": 1, "e": "b"},
            {"id": 3, "e": ""},
            {"id": 4, "e": ""},
            {"id": 5, "e": '{"x":"y"}'},
        ],
        columns=[("id", "long"), ("e", "string")],
    ),
    case(
        "mv-expand-bag-keys-to-string",
        'datatable(id:long, s:string)[1, \'{"Phish": ["x"], "Spam": []}\', 2, \'["not", "a", "bag"]\']'
        " | mv-expand k = bag_keys(parse_json(s)) to typeof(string) | project id, k",
        [{"id": 1, "k": "Phish"}, {"id": 1, "k": "Spam"}, {"id": 2, "k": ""}],
        columns=[("id", "long"), ("k", "string")],
    ),
    # one-parse readers for parse_json(c).k and bag_keys(parse_json(c)): same rows as the general path
    case(
        "mv-expand-json-member-to-string-every-shape",
        J + " | extend m = parse_json(s) | mv-expand e = m.P to typeof(string) | project id, e",
        [
            {"id": 1, "e": "1"},
            {"id": 1, "e": "2.5"},
            {"id": 1, "e": "a"},
            {"id": 1, "e": ""},
            {"id": 1, "e": '{"k":[1]}'},
            {"id": 1, "e": "[2,3]"},
            {"id": 1, "e": "true"},
            {"id": 3, "e": ""},
            {"id": 4, "e": ""},
            {"id": 5, "e": '{"x":"y"}'},
            {"id": 5, "e": '{"z":[1]}'},
            {"id": 6, "e": ""},
            {"id": 9, "e": "w"},
            {"id": 10, "e": ""},
            {"id": 11, "e": ""},
        ],
        columns=[("id", "long"), ("e", "string")],
    ),
    case(
        "mv-expand-json-member-dynamic-keeps-element-types",
        J + " | extend m = parse_json(s) | mv-expand e = m.P | project id, e",
        [
            {"id": 1, "e": 1},
            {"id": 1, "e": 2.5},
            {"id": 1, "e": "a"},
            {"id": 1, "e": None},
            {"id": 1, "e": {"k": [1]}},
            {"id": 1, "e": [2, 3]},
            {"id": 1, "e": True},
            {"id": 3, "e": None},
            {"id": 4, "e": None},
            {"id": 5, "e": {"x": "y"}},
            {"id": 5, "e": {"z": [1]}},
            {"id": 6, "e": None},
            {"id": 9, "e": "w"},
            {"id": 10, "e": None},
            {"id": 11, "e": None},
        ],
        columns=[("id", "long"), ("e", "dynamic")],
    ),
    case(
        "mv-expand-json-member-kind-array-todynamic",
        J + " | where id in (1, 2, 5, 7) | extend m = todynamic(s) | mv-expand kind=array e = m.P | project id, e",
        [
            {"id": 1, "e": 1},
            {"id": 1, "e": 2.5},
            {"id": 1, "e": "a"},
            {"id": 1, "e": None},
            {"id": 1, "e": {"k": [1]}},
            {"id": 1, "e": [2, 3]},
            {"id": 1, "e": True},
            {"id": 5, "e": ["x", "y"]},
            {"id": 5, "e": ["z", [1]]},
        ],
    ),
    case(
        "mv-expand-json-member-numbers-itemindex-limit",
        J + " | where id in (1, 3, 9) | mv-expand with_itemindex=i e = parse_json(s).P to typeof(long) limit 2"
        " | project id, i, e",
        [
            {"id": 1, "i": 0, "e": 1},
            {"id": 1, "i": 1, "e": 2},
            {"id": 3, "i": 0, "e": None},
            {"id": 9, "i": 0, "e": None},
        ],
        columns=[("id", "long"), ("i", "long"), ("e", "long")],
    ),
    case(
        "mv-expand-json-member-beside-general-path",
        J + " | where id in (1, 2, 9) | extend m = parse_json(s) | mv-expand e = m.P to typeof(string), q = m.Q"
        " | project id, e, q",
        [
            {"id": 1, "e": "1", "q": {"x": 1}},
            {"id": 1, "e": "2.5", "q": None},
            {"id": 1, "e": "a", "q": None},
            {"id": 1, "e": "", "q": None},
            {"id": 1, "e": '{"k":[1]}', "q": None},
            {"id": 1, "e": "[2,3]", "q": None},
            {"id": 1, "e": "true", "q": None},
            {"id": 2, "e": "", "q": None},
            {"id": 9, "e": "w", "q": None},
        ],
    ),
    case(
        "mv-expand-bag-keys-every-shape",
        J + " | extend Keys = bag_keys(parse_json(s)) | mv-expand with_itemindex=i Key = Keys to typeof(string)"
        " | project id, i, Key",
        [
            {"id": 1, "i": 0, "Key": "P"},
            {"id": 1, "i": 1, "Key": "Q"},
            {"id": 2, "i": 0, "Key": "P"},
            {"id": 4, "i": 0, "Key": ""},
            {"id": 5, "i": 0, "Key": "P"},
            {"id": 6, "i": 0, "Key": ""},
            {"id": 7, "i": 0, "Key": "P"},
            {"id": 8, "i": 0, "Key": "P"},
            {"id": 9, "i": 0, "Key": "P"},
            {"id": 10, "i": 0, "Key": ""},
            {"id": 11, "i": 0, "Key": ""},
        ],
        columns=[("id", "long"), ("i", "long"), ("Key", "string")],
    ),
    case(
        "mv-expand-bag-keys-dynamic-todynamic",
        J + " | where id in (1, 3, 4, 6) | mv-expand k = bag_keys(todynamic(s)) | project id, k",
        [{"id": 1, "k": "P"}, {"id": 1, "k": "Q"}, {"id": 4, "k": None}, {"id": 6, "k": None}],
        columns=[("id", "long"), ("k", "dynamic")],
    ),
    # a string is never null in KQL: null elements, missing members and "" are one group
    case(
        "mv-expand-to-string-null-and-empty-one-group",
        J + " | mv-expand e = parse_json(s).P to typeof(string) | summarize n = count() by e | where e == ''",
        [{"e": "", "n": 6}],
    ),
    case(
        "mv-expand-dynamic-to-string-null-and-empty-one-group",
        'datatable(d:dynamic)[dynamic([null, "", "x"]), dynamic(null)]'
        " | mv-expand e = d to typeof(string) | summarize n = count() by e",
        [{"e": "", "n": 3}, {"e": "x", "n": 1}],
    ),
    case(
        "mvexpand-legacy-spelling",
        M + " | where id == 4 | mvexpand arr",
        [{"id": 4, "arr": 30}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_mv_expand(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
