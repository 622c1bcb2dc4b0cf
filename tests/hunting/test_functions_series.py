"""The series analysis UDF: how it is called, registered and refused."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest

from ramparts.errors import KqlError
from ramparts.hunting import compile_kql, duckdb_backend
from ramparts.hunting.functions_series import UDF_NAME, evaluate, register_chdb, register_duckdb
from tests.hunting.helpers import rows

S = "print s = dynamic([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30])"


def test_one_udf_call_per_output_with_constant_parameters() -> None:
    sql = compile_kql(S + " | extend (f, sc, b) = series_decompose_anomalies(s, 2)", dialect="duckdb").sql
    assert sql.lower().count(UDF_NAME) == 3
    assert json.dumps(["series_decompose_anomalies", 2, 2.0, -1, "avg", 0, "ctukey", 0.6]) in sql.replace("''", "'")


def test_evaluate_returns_each_output_and_null_for_non_arrays() -> None:
    call = ["series_decompose_anomalies", 0, 1.5, 0, "none", 0, "ctukey", 0.6]
    assert json.loads(evaluate(json.dumps(call), "[1,2,3,4,5,6,7,8,9,10,30]") or "") == [0] * 10 + [1]
    call[1] = 2
    assert json.loads(evaluate(json.dumps(call), '[1, "x", null]') or "") == [0.0, 0.0, 0.0]
    assert evaluate(json.dumps(call), '{"a": 1}') is None
    assert evaluate(json.dumps(call), "not json") is None


def test_registration_is_idempotent_and_covers_cursors() -> None:
    conn = duckdb.connect()
    register_duckdb(conn)
    cursor = conn.cursor()
    backend = duckdb_backend(cursor)  # registers again on a cursor of the same database
    duckdb_backend(conn.cursor())
    register_chdb()
    register_chdb()
    _, result, _ = backend.execute(
        f"SELECT {UDF_NAME}('[\"series_outliers\", 0, \"tukey\", null, 10, 90]', '[1, 1]')", 1, 5
    )
    assert result == [("[0.0, 0.0]",)]


def test_same_rows_on_both_engines(duck: Any, ch: Any) -> None:
    kql = (
        S + ' | extend (f, sc, b) = series_decompose_anomalies(s, 1.5, 0, "linefit")'
        " | mv-expand f to typeof(int), sc to typeof(real), b to typeof(real)"
    )
    assert len(rows(kql, duck, ch)) == 11


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        (S + " | extend x = series_decompose_anomalies(s)", "returns 3 columns"),
        (S + " | extend (a, b) = series_decompose_anomalies(s)", "returns 3 columns, not 2"),
        (
            "datatable(k:real, s:dynamic)[1.5, dynamic([1, 2])] | extend (a, b, c) = series_decompose_anomalies(s, k)",
            "constant parameters",
        ),
        (S + ' | extend (a, b, c) = series_decompose_anomalies(s, 1.5, -1, "spline")', "unknown trend 'spline'"),
        (S + ' | extend (a, b, c) = series_decompose_anomalies(s, 1.5, -1, "avg", 0, "zscore")', "'zscore'"),
        (S + ' | extend (a, b, c) = series_decompose_anomalies(s, "high")', "must be a number"),
        ('print s = "1,2" | extend o = series_outliers(s)', "dynamic numeric array"),
        (S + " | extend (a, b, c) = strlen('x')", "a tuple assignment needs a function"),
        (S + " | extend f = series_fit_line(s)", "not implemented"),
    ],
)
def test_errors(query: str, needle: str) -> None:
    with pytest.raises(KqlError) as info:
        compile_kql(query, dialect="duckdb")
    assert needle in info.value.reason, info.value.reason
