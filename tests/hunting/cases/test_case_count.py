"""The conformance suite has at least 150 hand-computed cases (each runs on both engines)."""

from __future__ import annotations

from tests.hunting.cases import (
    test_conditional,
    test_conversion,
    test_datetime,
    test_distinct_count,
    test_dynamic,
    test_errors,
    test_extend,
    test_extract,
    test_join,
    test_let,
    test_lookup,
    test_mv_expand,
    test_parse,
    test_print_datatable,
    test_project,
    test_render,
    test_series_anomalies,
    test_sort_top_take,
    test_string_funcs,
    test_string_ops,
    test_summarize,
    test_union,
    test_where,
)

MODULES = (
    test_conditional,
    test_conversion,
    test_datetime,
    test_distinct_count,
    test_dynamic,
    test_errors,
    test_extend,
    test_extract,
    test_join,
    test_let,
    test_lookup,
    test_mv_expand,
    test_parse,
    test_print_datatable,
    test_project,
    test_render,
    test_series_anomalies,
    test_sort_top_take,
    test_string_funcs,
    test_string_ops,
    test_summarize,
    test_union,
    test_where,
)


def test_at_least_150_cases() -> None:
    ids = [param.id for module in MODULES for param in module.CASES]
    assert len(ids) >= 150, len(ids)
    assert len(set(ids)) == len(ids), "case ids must be unique across families"
