"""KQL semantics checked by running on real DuckDB and chdb: both engines must agree, and the rows
must equal the values worked out by hand from Microsoft's documentation."""

from __future__ import annotations

from typing import Any

import pytest

from ramparts.hunting import run_kql
from tests.hunting.helpers import rows, run_both, srt

T = (
    "datatable(s:string, n:long, t:datetime, d:dynamic)["
    '"Phish, spam", 1, datetime(2024-01-01 10:30), dynamic({"a":[1,2],"b":"x"}),'
    '"Phishing", 2, datetime(2024-01-02), dynamic([1,"two"]),'
    '"", 3, datetime(null), dynamic(null)]'
)


def test_string_operators(duck: Any, ch: Any) -> None:
    out = rows(
        T + ' | project s, h = s has "phish", c = s contains "PHISH", cs = s contains_cs "PHISH",'
        ' e = isempty(s), st = s startswith "phi", en = s !endswith "ing", eq = s == "Phishing",'
        ' ne = s != "phishing", ieq = s =~ "phishing", nh = s !has "spam"',
        duck,
        ch,
    )
    assert out == srt(
        [
            {
                "s": "Phish, spam",
                "h": True,
                "c": True,
                "cs": False,
                "e": False,
                "st": True,
                "en": True,
                "eq": False,
                "ne": True,
                "ieq": False,
                "nh": False,
            },
            {
                "s": "Phishing",
                "h": False,
                "c": True,
                "cs": False,
                "e": False,
                "st": True,
                "en": False,
                "eq": True,
                "ne": True,
                "ieq": True,
                "nh": True,
            },
            {
                "s": "",
                "h": False,
                "c": False,
                "cs": False,
                "e": True,
                "st": False,
                "en": True,
                "eq": False,
                "ne": True,
                "ieq": False,
                "nh": True,
            },
        ]
    )


def test_has_family_terms(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(s:string)["alice@contoso.com sent it", "Contoso-Phish", "xcontoso.comx"]'
        ' | project a = s has "contoso.com", b = s has_any ("nope", "PHISH"), c = s has_all ("contoso", "phish"),'
        ' d = s has_cs "Contoso", e = s in~ ("CONTOSO-PHISH"), f = s !in ("Contoso-Phish")',
        duck,
        ch,
    )
    assert out == srt(
        [
            {"a": True, "b": False, "c": False, "d": False, "e": False, "f": True},
            {"a": False, "b": True, "c": True, "d": True, "e": True, "f": False},
            {"a": False, "b": False, "c": False, "d": False, "e": False, "f": True},
        ]
    )


def test_dynamic_access_and_functions(duck: Any, ch: Any) -> None:
    out = rows(
        T + " | project n, a = d.a, a0 = d.a[0], b = d['b'], last = d[-1], l = array_length(d.a), k = bag_keys(d),"
        " sb = tostring(d.b), sa = tostring(d.a)",
        duck,
        ch,
    )
    by_n = {r["n"]: r for r in out}
    assert by_n[1] == {
        "n": 1,
        "a": [1, 2],
        "a0": 1,
        "b": "x",
        "last": None,
        "l": 2,
        "k": ["a", "b"],
        "sb": "x",
        "sa": "[1,2]",
    }
    assert by_n[2]["last"] == "two"
    assert by_n[3]["sb"] == ""


def test_json_in_string_columns(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(Auth:string)[\'{"SPF":"pass","DKIM":"fail"}\', "not json"]'
        " | extend j = parse_json(Auth) | project spf = tostring(j.SPF), ok = j.DKIM == 'fail', raw = j",
        duck,
        ch,
    )
    assert out == srt(
        [
            {"spf": "pass", "ok": True, "raw": {"SPF": "pass", "DKIM": "fail"}},
            {"spf": "", "ok": False, "raw": "not json"},
        ]
    )


def test_conversions(duck: Any, ch: Any) -> None:
    (out,) = rows(
        'print a = toint("abc"), b = toint("12"), c = todouble("1.5"), d = tostring(dynamic({"x":1})),'
        ' e = split("a_b_c", "_"), f = split("a_b_c", "_")[1], g = strcat("a", 1, "b"), h = tolong(2.9),'
        ' i = tobool("true"), j = todatetime("2024-01-01T00:00:00Z"), k = totimespan("01:00:00")',
        duck,
        ch,
    )
    assert out == {
        "a": None,
        "b": 12,
        "c": 1.5,
        "d": '{"x":1}',
        "e": ["a", "b", "c"],
        "f": "b",
        "g": "a1b",
        "h": 2,
        "i": True,
        "j": "2024-01-01T00:00:00Z",
        "k": "01:00:00",
    }


def test_string_functions(duck: Any, ch: Any) -> None:
    (out,) = rows(
        'print h = extract("(\\\\d+)", 1, "ab123c"), i = replace_string("aXbX", "X", "-"), j = trim(" ", "  hi  "),'
        ' k = indexof("hello", "l"), l = countof("abcabc", "bc"), m = substring("hello", 1, 3), n = toupper("abc"),'
        ' o = strlen("hello"), p = replace_regex("a1b22", @"\\d+", "#"), q = extract_all(@"(\\d)", "a1b2"),'
        ' r = strcat_array(dynamic(["a","b"]), "-"), s = url_decode("a%20b"), t = trim_start("x", "xxab")',
        duck,
        ch,
    )
    assert out == {
        "h": "123",
        "i": "a-b-",
        "j": "hi",
        "k": 2,
        "l": 2,
        "m": "ell",
        "n": "ABC",
        "o": 5,
        "p": "a#b#",
        "q": ["1", "2"],
        "r": "a-b",
        "s": "a b",
        "t": "ab",
    }


def test_datetime_arithmetic(duck: Any, ch: Any) -> None:
    (out,) = rows(
        "print a = datetime(2024-01-03 10:00) - datetime(2024-01-01), b = 1d + 2h, c = datetime(2024-01-01) + 1h,"
        " d = startofweek(datetime(2024-01-03)), e = startofmonth(datetime(2024-01-13)), f = startofday(datetime(2024-01-13 05:00)),"  # noqa: E501
        " g = dayofweek(datetime(2024-01-03)), h = datetime_diff('day', datetime(2024-01-10), datetime(2024-01-01)),"
        " i = datetime_add('hour', 3, datetime(2024-01-01)), j = format_datetime(datetime(2024-01-02 03:04:05), 'yyyy-MM-dd HH:mm:ss'),"  # noqa: E501
        " k = ago(1d), l = 7 / 2, m = 7.0 / 2, n = bin(datetime(2024-01-01 10:47), 15m), o = bin(17, 5), p = now(),"
        " q = time(1.00:00:00) / 1h, r = datetime(2024-01-01) between (datetime(2023-12-31) .. 1d)",
        duck,
        ch,
    )
    assert out == {
        "a": "2.10:00:00",
        "b": "1.02:00:00",
        "c": "2024-01-01T01:00:00Z",
        "d": "2023-12-31T00:00:00Z",
        "e": "2024-01-01T00:00:00Z",
        "f": "2024-01-13T00:00:00Z",
        "g": "3.00:00:00",
        "h": 9,
        "i": "2024-01-01T03:00:00Z",
        "j": "2024-01-02 03:04:05",
        "k": "2024-05-14T12:00:00Z",
        "l": 3,
        "m": 3.5,
        "n": "2024-01-01T10:45:00Z",
        "o": 15,
        "p": "2024-05-15T12:00:00Z",
        "q": 24.0,
        "r": True,
    }


def test_conditionals_and_packing(duck: Any, ch: Any) -> None:
    (out,) = rows(
        'print h = iff(1 > 2, "y", "n"), i = case(false, 1, true, 2, 3), j = coalesce("", "x"), p = pack_array(1, "a"),'
        ' b = bag_pack("k", 1), f = set_has_element(dynamic(["a","b"]), "b"), u = parse_url("https://h.example.com:8080/a?x=1#f").Host',
        duck,
        ch,
    )
    assert out == {"h": "n", "i": 2, "j": "x", "p": [1, "a"], "b": {"k": 1}, "f": True, "u": "h.example.com"}


def test_summarize_groups_nulls_and_names(duck: Any, ch: Any) -> None:
    out = rows(
        T
        + " | summarize count(), c2 = countif(n > 1), dcount(s), sum(n), max(t), avg(n), make_set(s) by e = isempty(s)",
        duck,
        ch,
    )
    assert sorted(out, key=lambda r: r["e"]) == [
        {
            "e": False,
            "count_": 2,
            "c2": 1,
            "dcount_s": 2,
            "sum_n": 3,
            "max_t": "2024-01-02T00:00:00Z",
            "avg_n": 1.5,
            "set_s": ["Phish, spam", "Phishing"],
        },
        {"e": True, "count_": 1, "c2": 1, "dcount_s": 1, "sum_n": 3, "max_t": None, "avg_n": 3.0, "set_s": [""]},
    ]
    nulls = rows("datatable(k:long, v:long)[1, 1, int(null), 2, int(null), 3] | summarize sum(v) by k", duck, ch)
    assert sorted(nulls, key=lambda r: r["sum_v"]) == [{"k": 1, "sum_v": 1}, {"k": None, "sum_v": 5}]


def test_arg_max_star_and_tuple(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(k:string, v:long, w:string)["a",1,"x","a",5,"y","b",3,"z"] | summarize arg_max(v, *) by k', duck, ch
    )
    assert sorted(out, key=lambda r: r["k"]) == [{"k": "a", "v": 5, "w": "y"}, {"k": "b", "v": 3, "w": "z"}]
    out = rows(
        'datatable(k:string, v:long, w:string)["a",1,"x","a",5,"y"] | summarize (lo, word) = arg_min(v, w) by k',
        duck,
        ch,
    )
    assert out == [{"k": "a", "lo": 1, "word": "x"}]


JOIN_LEFT = 'datatable(k:string, v:long)["a",1,"a",2,"b",3]'
JOIN_RIGHT = 'datatable(k:string, w:long)["a",10,"a",11,"c",30]'


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("", [("a", 1, "a", 10), ("a", 1, "a", 11)]),  # innerunique: one left row per key
        ("kind=inner", [("a", 1, "a", 10), ("a", 1, "a", 11), ("a", 2, "a", 10), ("a", 2, "a", 11)]),
        (
            "kind=leftouter",
            [("a", 1, "a", 10), ("a", 1, "a", 11), ("a", 2, "a", 10), ("a", 2, "a", 11), ("b", 3, "", None)],
        ),
        (
            "kind=rightouter",
            [("", None, "c", 30), ("a", 1, "a", 10), ("a", 1, "a", 11), ("a", 2, "a", 10), ("a", 2, "a", 11)],
        ),
        (
            "kind=fullouter",
            [
                ("", None, "c", 30),
                ("a", 1, "a", 10),
                ("a", 1, "a", 11),
                ("a", 2, "a", 10),
                ("a", 2, "a", 11),
                ("b", 3, "", None),
            ],
        ),
    ],
)
def test_join_kinds(duck: Any, ch: Any, kind: str, expected: list[tuple[Any, ...]]) -> None:
    out = rows(f"{JOIN_LEFT} | join {kind} ({JOIN_RIGHT}) on k", duck, ch)
    got = sorted(((r["k"], r["v"], r["k1"], r["w"]) for r in out), key=repr)
    assert got == sorted(expected, key=repr)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("leftanti", [{"k": "b", "v": 3}]),
        ("leftsemi", [{"k": "a", "v": 1}, {"k": "a", "v": 2}]),
        ("rightanti", [{"k": "c", "w": 30}]),
        ("rightsemi", [{"k": "a", "w": 10}, {"k": "a", "w": 11}]),
    ],
)
def test_semi_and_anti_joins(duck: Any, ch: Any, kind: str, expected: list[dict[str, Any]]) -> None:
    out = rows(f"{JOIN_LEFT} | join kind={kind} ({JOIN_RIGHT}) on $left.k == $right.k", duck, ch)
    assert sorted(out, key=repr) == sorted(expected, key=repr)


def test_lookup_and_union(duck: Any, ch: Any) -> None:
    out = rows(f"{JOIN_LEFT} | lookup (datatable(k:string, w:long)['a',10]) on k", duck, ch)
    assert sorted(out, key=repr) == sorted(
        [{"k": "a", "v": 1, "w": 10}, {"k": "a", "v": 2, "w": 10}, {"k": "b", "v": 3, "w": None}], key=repr
    )
    out = rows("union withsource=Src (datatable(a:long)[1]), (datatable(b:string)['x'])", duck, ch)
    assert sorted(out, key=repr) == sorted(
        [{"Src": "union_arg0", "a": 1, "b": ""}, {"Src": "union_arg1", "a": None, "b": "x"}], key=repr
    )


def test_sort_top_take_distinct(duck: Any, ch: Any) -> None:
    assert rows("datatable(a:long)[3,1,2] | sort by a | project a", duck, ch, ordered=True) == [
        {"a": 3},
        {"a": 2},
        {"a": 1},
    ]
    assert rows("datatable(a:long)[3,1,int(null)] | order by a asc", duck, ch, ordered=True) == [
        {"a": None},
        {"a": 1},
        {"a": 3},
    ]
    assert rows("datatable(a:long)[3,1,2] | top 2 by a asc", duck, ch, ordered=True) == [{"a": 1}, {"a": 2}]
    for backend in (duck, ch):  # take keeps any 2 rows: each engine may choose others
        assert len(run_kql("datatable(a:long)[3,1,2] | take 2", backend=backend).rows) == 2
    assert rows("datatable(a:long)[1,1,2] | distinct a | count", duck, ch) == [{"Count": 2}]


def test_mv_expand(duck: Any, ch: Any) -> None:
    out = rows(T + " | mv-expand d | project n, d", duck, ch)
    assert sorted(out, key=repr) == sorted(
        [
            {"n": 1, "d": {"a": [1, 2]}},
            {"n": 1, "d": {"b": "x"}},
            {"n": 2, "d": 1},
            {"n": 2, "d": "two"},
            {"n": 3, "d": None},  # a null keeps its row (an empty array would not)
        ],
        key=repr,
    )
    out = rows(T + " | mv-expand x = d.a to typeof(long) | project n, x", duck, ch)
    assert sorted(out, key=repr) == [{"n": 1, "x": 1}, {"n": 1, "x": 2}, {"n": 2, "x": None}, {"n": 3, "x": None}]


def test_parse(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(line:string)["user=bob id=42 ok", "nothing"] | parse line with "user=" u " id=" id:long " " rest',
        duck,
        ch,
    )
    assert sorted(out, key=repr) == sorted(
        [
            {"line": "user=bob id=42 ok", "u": "bob", "id": 42, "rest": "ok"},
            {"line": "nothing", "u": "", "id": None, "rest": ""},
        ],
        key=repr,
    )
    out = rows('datatable(line:string)["a-12-b"] | parse kind=regex line with @"[a-z]+-" num:long "-" tail', duck, ch)
    assert out == [{"line": "a-12-b", "num": 12, "tail": "b"}]


def test_lets_functions_invoke(duck: Any, ch: Any) -> None:
    out = rows(
        "let f = (x:long) { x * 2 };\nlet g = (T:(v:long), floor:long = 1) { T | where v > floor };\n"
        "datatable(v:long)[1,2,3] | invoke g() | extend y = f(v)",
        duck,
        ch,
    )
    assert sorted(out, key=repr) == [{"v": 2, "y": 4}, {"v": 3, "y": 6}]
    out = rows(
        "let domains = dynamic(['evil-phish.ru', 'bulkmail.net']);\nlet window = 30d;\n"
        "let bad = EmailEvents | where SenderFromDomain in (domains) | distinct NetworkMessageId;\n"
        "EmailEvents | where Timestamp > ago(window) and NetworkMessageId in (bad) | summarize c = count() by SenderFromDomain",  # noqa: E501
        duck,
        ch,
    )
    assert {r["SenderFromDomain"] for r in out} == {"evil-phish.ru", "bulkmail.net"}


def test_extend_items_read_the_input_row(duck: Any, ch: Any) -> None:
    """Every item of one extend reads the input row, not a sibling's new value (Kusto.Language types
    `extend a = tostring(a + 1), b = a * 10` with b over the input's long a)."""
    out = rows("datatable(a:long)[1] | extend a = a + 1, b = a * 10 | project a, b", duck, ch)
    assert out == [{"a": 2, "b": 10}]
    out = rows("datatable(a:long)[1] | extend a = a + 1 | extend b = a * 10 | project a, b", duck, ch)
    assert out == [{"a": 2, "b": 20}]


def test_render_is_returned(duck: Any, ch: Any) -> None:
    result = run_both("datatable(a:long)[1] | summarize count() by a | render columnchart with (title='x')", duck, ch)
    assert result.render == "columnchart"


def test_make_list_of_dynamic_values(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(k:long, d:dynamic)[1, dynamic({"a":1}), 1, dynamic([2]), 2, dynamic(null)]'
        " | summarize make_list(d), make_set(d) by k",
        duck,
        ch,
    )
    by_k = {r["k"]: r for r in out}
    assert sorted(map(str, by_k[1]["list_d"])) == ["[2]", "{'a': 1}"]
    assert by_k[2]["list_d"] == []


def test_projection_operators(duck: Any, ch: Any) -> None:
    result = run_both(
        "datatable(a:long, b:string, c:real)[1, 'x', 1.5] | project-rename bb = b | project-reorder c | project-away a",
        duck,
        ch,
    )
    assert result.columns == (("c", "real"), ("bb", "string"))
    assert result.rows == [{"c": 1.5, "bb": "x"}]
    out = rows("datatable(a:long, b:long)[1, 2] | project x = a + b, b, Column = a * 2", duck, ch)
    assert out == [{"x": 3, "b": 2, "Column": 2}]


def test_multi_key_sort_and_negations(duck: Any, ch: Any) -> None:
    data = 'datatable(g:string, v:long)["b",1,"a",2,"a",1,"b",3]'
    out = rows(data + " | sort by g asc, v desc", duck, ch, ordered=True)
    assert [(r["g"], r["v"]) for r in out] == [("a", 2), ("a", 1), ("b", 3), ("b", 1)]
    out = rows(data + " | where v !between (2 .. 3) and v in (1, 5) and g !in~ ('B')", duck, ch)
    assert out == [{"g": "a", "v": 1}]


def test_zero_argument_functions_materialize_and_fuzzy_union(duck: Any, ch: Any) -> None:
    out = rows(
        "let n = () { 2 };\nlet src = () { datatable(v:long)[1, 2, 3] };\n"
        "let m = materialize(src | where v >= n);\nunion isfuzzy=true m, NoSuchTable | summarize s = sum(v)",
        duck,
        ch,
    )
    assert out == [{"s": 5}]


def test_dynamic_equality_and_in(duck: Any, ch: Any) -> None:
    out = rows(
        'datatable(j:string)[\'{"Phish":["URL detonation"]}\', \'{"Spam":["Bulk"]}\']'
        ' | extend d = parse_json(j) | where d.Phish == \'["URL detonation"]\' or tostring(d.Spam[0]) in~ ("bulk")'
        " | project k = tostring(bag_keys(d)[0])",
        duck,
        ch,
    )
    assert out == srt([{"k": "Phish"}, {"k": "Spam"}])
