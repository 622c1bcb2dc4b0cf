"""summarize: aggregate names (count_, dcount_X, ...), group keys (null is a group of its own),
bin() on numbers, timespans and datetimes, empty-input defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, Unordered, case

E = (
    "datatable(User:string, Dept:string, Score:long, Ts:datetime)["
    '"ann", "sec", 10, datetime(2024-01-01 08:00), '
    '"bob", "sec", 30, datetime(2024-01-01 09:30), '
    '"ann", "sec", 20, datetime(2024-01-02 10:00), '
    '"cid", "ops", 5, datetime(2024-01-01 23:59), '
    '"dan", "ops", 15, datetime(2024-01-03 00:00)]'
)

CASES = [
    case("count-total", E + " | summarize count()", [{"count_": 5}], columns=[("count_", "long")]),
    case(
        "count-by-key",
        E + " | summarize count() by Dept",
        [{"Dept": "sec", "count_": 3}, {"Dept": "ops", "count_": 2}],
        columns=["Dept", "count_"],
    ),
    case(
        "countif-named-countif_",
        E + " | summarize countif(Score > 10) by Dept",
        [{"Dept": "sec", "countif_": 2}, {"Dept": "ops", "countif_": 1}],
    ),
    case(
        "dcount-named-dcount_col",
        E + " | summarize dcount(User) by Dept",
        [{"Dept": "sec", "dcount_User": 2}, {"Dept": "ops", "dcount_User": 2}],
    ),
    case("dcountif", E + " | summarize dcountif(User, Score >= 20)", [{"dcountif_User": 2}]),
    case(
        "sum-by-key",
        E + " | summarize sum(Score) by Dept",
        [{"Dept": "sec", "sum_Score": 60}, {"Dept": "ops", "sum_Score": 20}],
    ),
    case("sumif", E + ' | summarize sumif(Score, User == "ann")', [{"sumif_Score": 30}]),
    case(
        "avg-of-long-is-real",
        E + " | summarize avg(Score) by Dept",
        [{"Dept": "sec", "avg_Score": 20.0}, {"Dept": "ops", "avg_Score": 10.0}],
        columns=[("Dept", "string"), ("avg_Score", "real")],
    ),
    case("min-max-long", E + " | summarize min(Score), max(Score)", [{"min_Score": 5, "max_Score": 30}]),
    case(
        "min-max-datetime",
        E + " | summarize min(Ts), max(Ts)",
        [{"min_Ts": "2024-01-01T08:00:00Z", "max_Ts": "2024-01-03T00:00:00Z"}],
    ),
    case(
        "named-aggregates",
        E + " | summarize Total = sum(Score), Users = dcount(User) by Dept",
        [{"Dept": "sec", "Total": 60, "Users": 2}, {"Dept": "ops", "Total": 20, "Users": 2}],
        columns=["Dept", "Total", "Users"],
    ),
    case(
        "group-by-two-keys",
        E + " | summarize n = count() by Dept, User",
        [
            {"Dept": "sec", "User": "ann", "n": 2},
            {"Dept": "sec", "User": "bob", "n": 1},
            {"Dept": "ops", "User": "cid", "n": 1},
            {"Dept": "ops", "User": "dan", "n": 1},
        ],
    ),
    case(
        "arg_max-returns-row-of-max",
        E + " | summarize arg_max(Score, User) by Dept",
        [{"Dept": "sec", "Score": 30, "User": "bob"}, {"Dept": "ops", "Score": 15, "User": "dan"}],
        columns=["Dept", "Score", "User"],
    ),
    case(
        "arg_min-returns-row-of-min",
        E + " | summarize arg_min(Score, User) by Dept",
        [{"Dept": "sec", "Score": 10, "User": "ann"}, {"Dept": "ops", "Score": 5, "User": "cid"}],
    ),
    case(
        "arg_max-star-all-columns",
        E + " | summarize arg_max(Ts, *) by User",
        [
            {"User": "ann", "Ts": "2024-01-02T10:00:00Z", "Dept": "sec", "Score": 20},
            {"User": "bob", "Ts": "2024-01-01T09:30:00Z", "Dept": "sec", "Score": 30},
            {"User": "cid", "Ts": "2024-01-01T23:59:00Z", "Dept": "ops", "Score": 5},
            {"User": "dan", "Ts": "2024-01-03T00:00:00Z", "Dept": "ops", "Score": 15},
        ],
    ),
    case(
        "arg_max-tuple-assignment",
        E + " | summarize (LastTs, LastUser) = arg_max(Ts, User) by Dept",
        [
            {"Dept": "sec", "LastTs": "2024-01-02T10:00:00Z", "LastUser": "ann"},
            {"Dept": "ops", "LastTs": "2024-01-03T00:00:00Z", "LastUser": "dan"},
        ],
        columns=["Dept", "LastTs", "LastUser"],
    ),
    case(
        "arg_max-keeps-a-null-value-at-the-max-key",
        "datatable(g:string, t:long, v:long)"
        '["a", 1, 10, "a", 2, long(null), "b", 3, 30, "b", long(null), 40, "c", long(null), 50]'
        " | summarize (T, V) = arg_max(t, v) by g",
        [{"g": "a", "T": 2, "V": None}, {"g": "b", "T": 3, "V": 30}, {"g": "c", "T": None, "V": None}],
        columns=["g", "T", "V"],
    ),
    case(
        "arg_min-keeps-a-null-value-at-the-min-key",
        'datatable(g:string, t:long, v:long)["a", 1, long(null), "a", 2, 20, "b", 3, 30]'
        " | summarize arg_min(t, *) by g | project g, v",
        [{"g": "a", "v": None}, {"g": "b", "v": 30}],
    ),
    case(
        "arg_max-ties-take-every-column-from-one-row",
        'datatable(g:string, t:long, a:long, b:string)["x", 5, 1, "one", "x", 5, 2, "two", "x", 5, long(null), "none",'
        ' "x", 1, 9, "nine", "y", 3, 4, "four"] | summarize arg_max(t, a, b) by g | extend ok = case(isnull(a),'
        ' b == "none", a == 1, b == "one", a == 2, b == "two", a == 4, b == "four", false)'
        " | project g, t, ok",
        [{"g": "x", "t": 5, "ok": True}, {"g": "y", "t": 3, "ok": True}],
    ),
    case(
        "arg_max-several-columns-null-key-and-null-values",
        'datatable(g:long, t:long, v:long, w:string)[1, long(null), 10, "a", 1, long(null), 20, "b",'
        ' long(null), 2, 30, "c", long(null), 1, 40, "d", 2, 7, long(null), "e", 2, 3, 50, "f"]'
        " | summarize arg_max(t, v, w) by g | project g, v, w",
        [{"g": 1, "v": None, "w": ""}, {"g": None, "v": 30, "w": "c"}, {"g": 2, "v": None, "w": "e"}],
    ),
    case(
        "arg_min-several-columns-keeps-a-null-value-at-the-min-key",
        'datatable(g:string, t:long, v:long, w:string)["a", 2, 20, "q", "a", 1, long(null), "p", "b", 3, 30, "r"]'
        " | summarize arg_min(t, v, w) by g",
        [{"g": "a", "t": 1, "v": None, "w": "p"}, {"g": "b", "t": 3, "v": 30, "w": "r"}],
    ),
    case(
        "arg_max-several-columns-by-a-key-named-like-the-maximized-column",
        E + " | summarize arg_max(Ts, User, Score) by Ts = bin(Ts, 1d) | project Ts, User, Score",
        [
            {"Ts": "2024-01-01T00:00:00Z", "User": "cid", "Score": 5},
            {"Ts": "2024-01-02T00:00:00Z", "User": "ann", "Score": 20},
            {"Ts": "2024-01-03T00:00:00Z", "User": "dan", "Score": 15},
        ],
    ),
    case(
        "arg_max-several-columns-beside-another-aggregate",
        'datatable(g:string, t:long, v:long, w:string)["a", 2, long(null), "q", "a", 1, 10, "p", "b", 3, 30, "r"]'
        " | summarize n = count(), arg_max(t, v, w) by g | project g, n, v, w",
        [{"g": "a", "n": 2, "v": None, "w": "q"}, {"g": "b", "n": 1, "v": 30, "w": "r"}],
    ),
    case(
        "where-after-summarize-reads-the-aggregates-not-same-named-columns",
        'datatable(Subject:string, n:long)["a", 1, "b", 1, "c", 2]'
        " | summarize Subject = count() by n = n * 10 | where Subject > 1 and n > 5 | sort by n",
        [{"n": 10, "Subject": 2}],
    ),
    case(
        "countif-over-no-rows-is-zero",
        "datatable(v:long)[1, 2] | where v > 5 | summarize countif(v > 0)",
        [{"countif_": 0}],
    ),
    case(
        "countif-over-only-null-conditions-is-zero",
        'datatable(g:string, v:long)["a", long(null), "a", long(null), "b", 1]'
        " | summarize c = countif(v > 0 or v < -5) by g",
        [{"g": "a", "c": 0}, {"g": "b", "c": 1}],
    ),
    case(
        "arg_max-star-key-only",
        'datatable(g:string, t:long, v:long)["a", 1, 10, "a", 2, 20] | summarize arg_max(t, *) by g | project g, t',
        [{"g": "a", "t": 2}],
    ),
    case(
        "columns-keep-the-order-the-aggregations-were-written",
        E + " | summarize Events = count(), (LastTs, LastUser) = arg_max(Ts, User) by Dept",
        [
            {"Dept": "sec", "Events": 3, "LastTs": "2024-01-02T10:00:00Z", "LastUser": "ann"},
            {"Dept": "ops", "Events": 2, "LastTs": "2024-01-03T00:00:00Z", "LastUser": "dan"},
        ],
        columns=["Dept", "Events", "LastTs", "LastUser"],
    ),
    case(
        "make_set-distinct-values-named-set_",
        E + " | summarize make_set(User) by Dept",
        [
            {"Dept": "sec", "set_User": Unordered(["ann", "bob"])},
            {"Dept": "ops", "set_User": Unordered(["cid", "dan"])},
        ],
        columns=[("Dept", "string"), ("set_User", "dynamic")],
    ),
    case(
        "make_list-keeps-duplicates-named-list_",
        E + " | summarize make_list(User) by Dept",
        [
            {"Dept": "sec", "list_User": Unordered(["ann", "bob", "ann"])},
            {"Dept": "ops", "list_User": Unordered(["cid", "dan"])},
        ],
    ),
    case(
        "make_set_if",
        E + " | summarize make_set_if(User, Score > 10)",
        [{"set_User": Unordered(["bob", "ann", "dan"])}],
    ),
    case(
        "make_bag-merges-bags-named-bag_",
        'datatable(k:string, d:dynamic)["a", dynamic({"x":1}), "a", dynamic({"y":2}), "b", dynamic({"z":3})]'
        " | summarize make_bag(d) by k",
        [{"k": "a", "bag_d": {"x": 1, "y": 2}}, {"k": "b", "bag_d": {"z": 3}}],
    ),
    case(
        "take_any-keeps-column-name",
        E + " | summarize take_any(Dept) by User",
        [
            {"User": "ann", "Dept": "sec"},
            {"User": "bob", "Dept": "sec"},
            {"User": "cid", "Dept": "ops"},
            {"User": "dan", "Dept": "ops"},
        ],
    ),
    case(
        "any-legacy-alias-prefix-any_",
        E + ' | where User == "ann" | summarize any(Dept)',
        [{"any_Dept": "sec"}],
    ),
    case(
        "percentile-nearest-rank-odd",
        E + " | summarize percentile(Score, 50)",
        [{"percentile_Score_50": 15}],
    ),
    case(
        "percentile-nearest-rank-not-interpolated",
        "datatable(x:long)[10, 20, 30, 40] | summarize percentile(x, 50)",
        [{"percentile_x_50": 20}],
    ),
    case(
        "percentiles-one-column-each",
        E + " | summarize percentiles(Score, 40, 100)",
        [{"percentile_Score_40": 10, "percentile_Score_100": 30}],
        columns=["percentile_Score_40", "percentile_Score_100"],
    ),
    case(
        "stdev-sample-variance-stdevp",
        "datatable(x:long)[2, 4, 4, 4, 5, 5, 7, 9] | summarize stdev(x), variance(x), stdevp(x)",
        [{"stdev_x": 2.138089935299395, "variance_x": 4.571428571428571, "stdevp_x": 2.0}],
    ),
    case(
        "null-key-is-its-own-group",
        "datatable(k:long, v:long)[1, 10, long(null), 20, long(null), 5, 1, 40] | summarize sum(v) by k",
        [{"k": 1, "sum_v": 50}, {"k": None, "sum_v": 25}],
    ),
    case(
        "empty-string-key-is-a-group",
        'datatable(k:string, v:long)["", 1, "a", 2, "", 3] | summarize sum(v) by k',
        [{"k": "", "sum_v": 4}, {"k": "a", "sum_v": 2}],
    ),
    case(
        "aggregates-ignore-nulls",
        "datatable(v:long)[1, long(null), 2] | summarize sum(v), avg(v), count(), countif(isnull(v))",
        [{"sum_v": 3, "avg_v": 1.5, "count_": 3, "countif_": 1}],
    ),
    case(
        "bin-numeric-keeps-column-name",
        "datatable(n:long)[1, 9, 10, 19, 25] | summarize count() by bin(n, 10)",
        [{"n": 0, "count_": 2}, {"n": 10, "count_": 2}, {"n": 20, "count_": 1}],
        columns=["n", "count_"],
    ),
    case(
        "bin-datetime-1d",
        E + " | summarize count() by bin(Ts, 1d)",
        [
            {"Ts": "2024-01-01T00:00:00Z", "count_": 3},
            {"Ts": "2024-01-02T00:00:00Z", "count_": 1},
            {"Ts": "2024-01-03T00:00:00Z", "count_": 1},
        ],
        columns=[("Ts", "datetime"), ("count_", "long")],
    ),
    case(
        "bin-datetime-12h-named",
        E + ' | where Dept == "sec" | summarize n = count() by Half = bin(Ts, 12h)',
        [{"Half": "2024-01-01T00:00:00Z", "n": 2}, {"Half": "2024-01-02T00:00:00Z", "n": 1}],
    ),
    case(
        "bin-scalar-real-floors",
        "print a = bin(4.5, 1), b = bin(-4.5, 1), c = bin(17, 5)",
        [{"a": 4.0, "b": -5.0, "c": 15}],
    ),
    case(
        "bin-scalar-timespan-and-datetime",
        "print t = bin(time(10d), 7d), d = bin(datetime(2024-05-15 13:45:07), 1h)",
        [{"t": "7.00:00:00", "d": "2024-05-15T13:00:00Z"}],
    ),
    case(
        "empty-input-no-keys-single-row-defaults",
        "datatable(x:long)[] | summarize count(), sum(x), make_set(x), max(x)",
        [{"count_": 0, "sum_x": 0, "set_x": [], "max_x": None}],
    ),
    case(
        "empty-input-with-keys-no-rows",
        "datatable(k:string, x:long)[] | summarize count() by k",
        [],
    ),
    case(
        "make_list-follows-sorted-input",
        E + " | sort by Score asc | summarize make_list(Score)",
        [{"list_Score": [5, 10, 15, 20, 30]}],
    ),
    case(
        "summarize-by-only-is-distinct",
        E + " | summarize by Dept",
        [{"Dept": "sec"}, {"Dept": "ops"}],
        columns=["Dept"],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_summarize(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
