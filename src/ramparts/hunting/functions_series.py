"""Series analysis functions (series_decompose, series_decompose_anomalies, series_outliers) as one
Python UDF that both engines call.

Neither DuckDB nor ClickHouse has a seasonal decomposition, and writing one in SQL array lambdas
(period detection, per-phase medians, percentiles) would give two long renderings that must agree
to the last bit. Instead each call lowers to `ramparts_series(<call>, <series>)`: `<call>` is a
constant JSON text naming the function, which of its outputs to return and its constant
parameters, `<series>` the make-series array as JSON text; the result is a JSON array. The same
Python function (series_math) is registered in DuckDB (`create_function`, per connection, by
`duckdb_backend`) and in chdb (`chdb.create_function`, in-process, by `chdb_backend`), so both
engines return identical values. A tuple assignment `extend (flag, score, baseline) = ...` becomes
one UDF call per output column; they share one computation through a small cache.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ramparts.hunting import ast, series_math
from ramparts.hunting.dialects import fn, lit
from ramparts.hunting.functions import FUNCTIONS
from ramparts.hunting.types import NULL, NUMERIC, Typed

if TYPE_CHECKING:
    import duckdb

    from ramparts.hunting.lower_scalar import ScalarLowerer

UDF_NAME = "ramparts_series"

# name -> (parameter defaults after the series, output column suffixes)
_SIGNATURES: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {
    "series_decompose_anomalies": ((1.5, -1, "avg", 0, "ctukey", 0.6), ("ad_flag", "ad_score", "baseline")),
    "series_decompose": ((-1, "avg", 0, 0.6), ("baseline", "seasonal", "trend", "residual")),
    "series_outliers": (("ctukey", None, 10.0, 90.0), ("outliers",)),
}
_TRENDS = ("avg", "linefit", "none")
_METHODS = ("ctukey", "tukey")


def _compute(name: str, params: list[Any], values: series_math.Series) -> list[list[Any]]:
    if name == "series_decompose_anomalies":
        threshold, seasonality, trend, test_points, method, season_threshold = params
        flags, scores, baseline = series_math.decompose_anomalies(
            values, threshold, seasonality, trend, test_points, method, season_threshold
        )
        return [list(flags), scores, baseline]
    if name == "series_decompose":
        seasonality, trend, test_points, season_threshold = params
        return [list(part) for part in series_math.decompose(values, seasonality, trend, test_points, season_threshold)]
    kind, ignore, low, high = params
    if ignore is not None:
        values = [None if v == ignore else v for v in values]
    return [series_math.outliers(values, kind, low, high)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@lru_cache(maxsize=4096)
def _outputs(call: str, series: str) -> tuple[str, ...] | None:
    name, *params = json.loads(call)
    try:
        parsed = json.loads(series)
    except ValueError:
        return None
    if not isinstance(parsed, list):
        return None
    values = [_number(v) for v in parsed]
    return tuple(json.dumps(part) for part in _compute(name, params, values))


def evaluate(call: str, series: str) -> str | None:
    """The UDF: `call` is [name, output index, parameters...]; returns that output as JSON text."""
    name, index, *params = json.loads(call)
    outputs = _outputs(json.dumps([name, *params]), series)
    return None if outputs is None else outputs[index]


def register_duckdb(conn: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    try:
        conn.create_function(UDF_NAME, evaluate, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=False)
    except duckdb.Error as exc:  # this connection, or another cursor of its database, has it already
        if "already" not in str(exc):
            raise


_chdb_lock = threading.Lock()
_chdb_registered = False


def register_chdb() -> None:
    """Register the UDF in the process's embedded ClickHouse (chdb functions are process-wide)."""
    global _chdb_registered
    with _chdb_lock:
        if _chdb_registered:
            return
        import chdb

        try:
            chdb.create_function(UDF_NAME, evaluate, ["String", "String"], "String")
        except RuntimeError as exc:
            if "already registered" not in str(exc):
                raise
        _chdb_registered = True


# ------------------------------------------------------------------ lowering


def _param(lo: ScalarLowerer, node: ast.Call, value: Typed, default: Any, position: int) -> Any:
    sql = value.sql.this if isinstance(value.sql, exp.Cast) else value.sql
    if value.type == NULL or (value.is_const and value.const is None) or isinstance(sql, exp.Null):
        return default  # null, or a typed null such as double(null)
    if not value.is_const:
        raise lo.error(node, f"{node.name}() takes constant parameters (argument {position + 2} is not)")
    const = value.const
    if isinstance(default, str):
        if not isinstance(const, str):
            raise lo.error(node, f"argument {position + 2} of {node.name}() must be a string")
        return const.lower()
    if isinstance(const, bool) or not isinstance(const, int | float):
        raise lo.error(node, f"argument {position + 2} of {node.name}() must be a number")
    return int(const) if isinstance(default, int) else float(const)


def series_call(lo: ScalarLowerer, node: ast.Call) -> list[tuple[str, Typed]]:
    """(output suffix, UDF call) for each output of a series analysis function."""
    name = node.name.lower()
    defaults, suffixes = _SIGNATURES[name]
    args = lo.args(node, 1, 1 + len(defaults))
    series = args[0]
    if series.type not in ("dynamic", NULL):
        raise lo.error(node, f"{node.name}() takes a dynamic numeric array, not {series.type}")
    params = [_param(lo, node, v, d, i) for i, (v, d) in enumerate(zip(args[1:], defaults, strict=False))]
    params += list(defaults[len(params) :])
    if name == "series_decompose_anomalies":
        _check(lo, node, params[2], _TRENDS, "trend")
        _check(lo, node, params[4], _METHODS, "anomaly detection method")
    elif name == "series_decompose":
        _check(lo, node, params[1], _TRENDS, "trend")
    else:
        _check(lo, node, params[0], _METHODS, "kind")
        if series.type != NULL and args[2:3] and args[2].type not in (*NUMERIC, NULL):
            raise lo.error(node, "series_outliers() ignore_val must be a number")
    text = lo.flavor.to_string(series.sql)
    return [
        (suffix, Typed(fn(UDF_NAME, lit(json.dumps([name, index, *params])), text.copy()), "dynamic"))
        for index, suffix in enumerate(suffixes)
    ]


def _check(lo: ScalarLowerer, node: ast.Call, value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise lo.error(node, f"unknown {what} '{value}' in {node.name}() (expected {', '.join(allowed)})")


def is_multi_output(node: ast.Expr) -> bool:
    """Whether node calls a function that returns several columns (for `extend (a, b) = f(...)`)."""
    return isinstance(node, ast.Call) and len(_SIGNATURES.get(node.name.lower(), ((), ()))[1]) > 1


def _single(lo: ScalarLowerer, node: ast.Call) -> Typed:
    outputs = series_call(lo, node)
    if len(outputs) > 1:
        names = ", ".join(suffix for suffix, _ in outputs)
        raise lo.error(node, f"{node.name}() returns {len(outputs)} columns; assign them with extend ({names}) = ...")
    return outputs[0][1]


def _register() -> None:
    handler: Callable[[ScalarLowerer, ast.Call], Typed] = _single
    for name in _SIGNATURES:
        FUNCTIONS[name] = handler


_register()
