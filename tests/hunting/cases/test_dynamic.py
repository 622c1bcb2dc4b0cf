"""dynamic values: parse_json/todynamic, .prop, ["prop"], [i] and negative [i], missing keys are
null, tostring() of a dynamic string has no quotes, bag_keys, array_length, pack_array,
set_has_element, array_slice, bag_pack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, Unordered, case

J = 'print d = parse_json(\'{"a": {"b": [1, 2, 3]}, "s": "x", "key with space": "v", "n": 5}\')'

A = (
    "datatable(id:long, s:string)[1, '{\"D\": \"fail\"}', 2, '{\"D\": 1}', 3, '{\"D\": null}', 4, '{}',"
    ' 5, "not json", 6, \'{"D": true}\', 7, \'{"D": "1"}\']'
)

CASES = [
    case("json-member-equals-text", A + ' | where parse_json(s).D == "fail" | project id', [{"id": 1}]),
    case(
        "json-member-not-equals-text",
        A + ' | where parse_json(s).D != "fail" | project id',
        [{"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6}, {"id": 7}],
    ),
    case("json-member-equals-number-text", A + ' | where parse_json(s).D == "1" | project id', [{"id": 2}, {"id": 7}]),
    case("json-member-equals-true-text", A + ' | where parse_json(s).D == "true" | project id', [{"id": 6}]),
    case(
        "json-member-tostring",
        A + " | project id, t = tostring(parse_json(s).D)",
        [
            {"id": 1, "t": "fail"},
            {"id": 2, "t": "1"},
            {"id": 3, "t": ""},
            {"id": 4, "t": ""},
            {"id": 5, "t": ""},
            {"id": 6, "t": "true"},
            {"id": 7, "t": "1"},
        ],
    ),
    case("parse_json-nested-dot-and-index", J + " | project r = d.a.b[1]", [{"r": 2}], columns=[("r", "dynamic")]),
    case("dynamic-bracket-property", J + ' | project r = d["key with space"]', [{"r": "v"}]),
    case("dynamic-single-quoted-bracket", J + " | project r = d['s']", [{"r": "x"}]),
    case("dynamic-negative-index-from-end", J + " | project r = d.a.b[-1]", [{"r": 3}]),
    case("dynamic-index-out-of-range-null", J + " | project r = d.a.b[5]", [{"r": None}]),
    case("dynamic-missing-property-is-null", J + " | project r = isnull(d.nope)", [{"r": True}]),
    case(
        "tostring-of-dynamic-string-unquoted",
        J + " | project r = tostring(d.s)",
        [{"r": "x"}],
        columns=[("r", "string")],
    ),
    case("tostring-of-dynamic-array-json", "print r = tostring(dynamic([1,2]))", [{"r": "[1,2]"}]),
    case("todynamic-alias", "print r = todynamic('[10, 20]')[0]", [{"r": 10}]),
    case("parse_json-whole-object", "print r = parse_json('{\"k\": [true, null]}')", [{"r": {"k": [True, None]}}]),
    case("dynamic-literal-object", 'print r = dynamic({"a": 1, "b": "c"})', [{"r": {"a": 1, "b": "c"}}]),
    case("dynamic-numeric-compare", J + " | where toint(d.n) > 4 | project ok = true", [{"ok": True}]),
    case(
        "json-in-string-column",
        "datatable(s:string)['{\"Phish\":[\"URL detonation\"]}', '{}']"
        " | extend p = parse_json(s) | project v = tostring(p.Phish[0])",
        [{"v": "URL detonation"}, {"v": ""}],
    ),
    case(
        "dynamic-column-where-on-property",
        'datatable(d:dynamic)[dynamic({"kind": "x", "n": 1}), dynamic({"kind": "y", "n": 2})]'
        ' | where tostring(d.kind) == "y" | project n = tolong(d.n)',
        [{"n": 2}],
    ),
    case(
        "bag_keys",
        'print r = bag_keys(dynamic({"a": 1, "b": {"c": 2}}))',
        [{"r": Unordered(["a", "b"])}],
    ),
    case("array_length", "print r = array_length(dynamic([1, 2, 3]))", [{"r": 3}]),
    case("array_length-empty", "print r = array_length(dynamic([]))", [{"r": 0}]),
    case("array_length-not-array-null", 'print r = array_length(dynamic({"a": 1}))', [{"r": None}]),
    case("pack_array", 'print r = pack_array(1, "a", true)', [{"r": [1, "a", True]}]),
    case("set_has_element-true", 'print r = set_has_element(dynamic(["a", "b"]), "b")', [{"r": True}]),
    case("set_has_element-false", 'print r = set_has_element(dynamic(["a", "b"]), "c")', [{"r": False}]),
    case("array_slice", "print r = array_slice(dynamic([1, 2, 3, 4]), 1, 2)", [{"r": [2, 3]}]),
    case("bag_pack", 'print r = bag_pack("k", 1, "s", "v")', [{"r": {"k": 1, "s": "v"}}]),
    case("split-index-is-dynamic-string", 'print r = tostring(split("a,b", ",")[1])', [{"r": "b"}]),
    # keys that need quoting in a JSON path: a quote, a backslash, a slash, a tilde, the empty key
    case(
        "bag-entries-keys-with-quote-backslash-slash-empty",
        r"""datatable(s:string)['{"a\\"b": 1, "c\\\\d": 2, "e/f": 3, "g~h": 4, "": 5}']"""
        " | mv-expand e = parse_json(s) | project e",
        [{"e": {'a"b': 1}}, {"e": {"c\\d": 2}}, {"e": {"e/f": 3}}, {"e": {"g~h": 4}}, {"e": {"": 5}}],
    ),
    case(
        "dynamic-index-by-runtime-key-with-quote-backslash-slash-empty",
        r"""datatable(s:string)['{"a\\"b": 1, "c\\\\d": 2, "e/f": 3, "g~h": 4, "": 5}']"""
        " | extend d = parse_json(s) | mv-expand k = bag_keys(d) to typeof(string)"
        " | project k, v = tolong(d[k])",
        [{"k": 'a"b', "v": 1}, {"k": "c\\d", "v": 2}, {"k": "e/f", "v": 3}, {"k": "g~h", "v": 4}, {"k": "", "v": 5}],
    ),
    case(
        "dynamic-literal-key-with-quote-and-backslash",
        r"""print d = parse_json('{"a\\"b": 1, "c\\\\d": 2}') | project x = tolong(d['a"b']), y = tolong(d['c\\d'])""",
        [{"x": 1, "y": 2}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_dynamic(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
