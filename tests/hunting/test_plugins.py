"""evaluate bag_unpack and pivot: their columns come from the data, found by a discovery query."""

from __future__ import annotations

from typing import Any

import pytest

from ramparts.errors import KqlError
from ramparts.hunting import compile_kql, run_kql
from tests.hunting.helpers import rows, srt
from tests.hunting.synthetic import NOW

BAGS = (
    "datatable(id:long, d:dynamic)[1, dynamic({'a': 'x', 'b': 1}), 2, dynamic({'a': 'y', 'c': [1]}), 3, dynamic(null)]"
)
VOTES = "datatable(u:string, t:string)['x', 'Phish', 'x', 'Spam', 'y', 'Phish', 'x', 'Phish']"


def test_bag_unpack_makes_a_column_per_key_typed_by_its_values(duck: Any, ch: Any) -> None:
    result = run_kql(BAGS + " | evaluate bag_unpack(d)", backend=duck, now=NOW)
    assert result.columns == (("id", "long"), ("a", "string"), ("b", "long"), ("c", "dynamic"))
    assert rows(BAGS + " | evaluate bag_unpack(d)", duck, ch) == srt(
        [
            {"id": 1, "a": "x", "b": 1, "c": None},
            {"id": 2, "a": "y", "b": None, "c": [1]},
            {"id": 3, "a": "", "b": None, "c": None},
        ]
    )


def test_bag_unpack_prefix_and_ignored_keys(duck: Any, ch: Any) -> None:
    kql = BAGS + " | evaluate bag_unpack(d, 'p_', 'error', dynamic(['c'])) | where p_a == 'x'"
    assert rows(kql, duck, ch) == [{"id": 1, "p_a": "x", "p_b": 1}]


def test_bag_unpack_with_an_output_schema_needs_no_discovery(duck: Any, ch: Any) -> None:
    kql = BAGS + " | evaluate bag_unpack(d) : (id:long, a:string)"
    assert compile_kql(kql, dialect="duckdb").columns == (("id", "long"), ("a", "string"))
    assert rows(kql, duck, ch) == srt([{"id": 1, "a": "x"}, {"id": 2, "a": "y"}, {"id": 3, "a": ""}])


def test_bag_unpack_key_clashing_with_a_column_is_an_error(duck: Any) -> None:
    with pytest.raises(KqlError, match="clashes with an existing column"):
        run_kql("datatable(a:long, d:dynamic)[1, dynamic({'a': 2})] | evaluate bag_unpack(d)", backend=duck)
    result = run_kql(
        "datatable(a:long, d:dynamic)[1, dynamic({'a': 2})] | evaluate bag_unpack(d, '', 'keep_source')", backend=duck
    )
    assert result.rows == [{"a": 1, "d": {"a": 2}}]


def test_compiling_without_a_discover_callback_says_what_is_needed() -> None:
    with pytest.raises(KqlError, match="finds its output columns in the data"):
        compile_kql(BAGS + " | evaluate bag_unpack(d)", dialect="duckdb")
    seen: list[str] = []

    def discover(sql: str) -> list[tuple[Any, ...]]:
        seen.append(sql)
        return [("a", "VARCHAR")]

    compiled = compile_kql(BAGS + " | evaluate bag_unpack(d)", dialect="duckdb", discover=discover)
    assert compiled.columns == (("id", "long"), ("a", "string"))
    assert len(seen) == 1 and "json_keys" in seen[0].lower()


def test_pivot_counts_each_value_in_its_own_column(duck: Any, ch: Any) -> None:
    assert rows(VOTES + " | evaluate pivot(t)", duck, ch) == srt(
        [
            {"u": "x", "Phish": 2, "Spam": 1},
            {"u": "y", "Phish": 1, "Spam": 0},
        ]
    )


def test_pivot_with_an_aggregation_and_no_rows(duck: Any, ch: Any) -> None:
    kql = "datatable(u:string, t:string, n:long)['x', 'A', 2, 'x', 'A', 3, 'x', 'B', 1] | evaluate pivot(t, sum(n))"
    assert rows(kql, duck, ch) == [{"u": "x", "A": 5, "B": 1}]
    assert rows(VOTES + " | where u == 'z' | evaluate pivot(t)", duck, ch) == []


def test_unknown_plugin_is_refused_by_name() -> None:
    with pytest.raises(KqlError, match="the 'autocluster' plugin of evaluate is not supported"):
        compile_kql("EmailEvents | evaluate autocluster()", dialect="duckdb")
