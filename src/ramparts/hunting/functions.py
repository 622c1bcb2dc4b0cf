"""Scalar KQL functions: a table from name to handler. Each handler lowers its arguments and
returns the SQL tree with the KQL result type; the simple ones are one-line entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.types import NULL, NUMERIC, US_PER_SECOND, Typed, unify

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer

Handler = Callable[["ScalarLowerer", ast.Call], Typed]
FUNCTIONS: dict[str, Handler] = {}

_SERIES_ANALYSIS = (
    "this time-series function (regression fits, forecasts, period detection, filters and fills over"
    " make-series arrays) is not implemented; series_decompose, series_decompose_anomalies and"
    " series_outliers are, or expand the series with mv-expand and compare the values yourself"
)
# Kusto functions that ramparts knows and refuses, with the reason (an unknown name is reported as such).
REFUSED_FUNCTIONS: dict[str, str] = {
    name: _SERIES_ANALYSIS
    for name in (
        "series_decompose_forecast",
        "series_periods_detect",
        "series_periods_validate",
        "series_fit_line",
        "series_fit_line_dynamic",
        "series_fit_2lines",
        "series_fit_2lines_dynamic",
        "series_fit_poly",
        "series_fill_linear",
        "series_fill_forward",
        "series_fill_backward",
        "series_fill_const",
        "series_stats",
        "series_stats_dynamic",
        "series_fir",
        "series_iir",
        "series_seasonal",
    )
}


def register(*names: str) -> Callable[[Handler], Handler]:
    def deco(handler: Handler) -> Handler:
        for name in names:
            FUNCTIONS[name] = handler
        return handler

    return deco


def _string_fn(name: str, builder: Callable[[list[exp.Expr]], exp.Expr], count: int, kind: str) -> None:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        args = lo.args(node, count)
        return Typed(builder([lo.as_string(a) for a in args]), kind)

    FUNCTIONS[name] = handler


_string_fn("tolower", lambda a: exp.Lower(this=a[0]), 1, "string")
_string_fn("toupper", lambda a: exp.Upper(this=a[0]), 1, "string")
_string_fn("strlen", lambda a: cast(exp.Length(this=a[0]), "BIGINT"), 1, "long")
_string_fn("reverse", lambda a: exp.Anonymous(this="reverse", expressions=a), 1, "string")


@register("url_decode")
def _url_decode(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    return Typed(lo.flavor.url_decode(lo.as_string(value)), "string")


# ------------------------------------------------------------------ time


@register("now")
def _now(lo: ScalarLowerer, node: ast.Call) -> Typed:
    args = lo.args(node, 0, 1)
    value = lo.ctx.now
    if args:
        if not isinstance(args[0].const, int):
            raise lo.error(node, "now() takes a constant timespan offset")
        value += dt.timedelta(microseconds=args[0].const)
    return Typed(lo.flavor.datetime_literal(value), "datetime", value)


@register("ago")
def _ago(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (span,) = lo.args(node, 1)
    if span.type not in ("timespan", NULL):
        raise lo.error(node, f"ago() takes a timespan, not {span.type}")
    if isinstance(span.const, int):
        value = lo.ctx.now - dt.timedelta(microseconds=span.const)
        return Typed(lo.flavor.datetime_literal(value), "datetime", value)
    now = lo.flavor.epoch_us(lo.flavor.datetime_literal(lo.ctx.now))
    return Typed(lo.flavor.from_epoch_us(exp.Sub(this=now, expression=span.sql)), "datetime")


def _datetime_arg(lo: ScalarLowerer, node: ast.Call, value: Typed) -> Typed:
    if value.type in ("string", "dynamic"):
        return lo.convert(value, "datetime")
    if value.type not in ("datetime", NULL):
        raise lo.error(node, f"'{node.name}' takes a datetime, not {value.type}")
    return value


@register("bin", "floor")
def _bin(lo: ScalarLowerer, node: ast.Call) -> Typed:
    value, size = lo.args(node, 2)
    if value.type == "datetime":
        if size.type != "timespan":
            raise lo.error(node, "bin() of a datetime needs a timespan bin size")
        us = lo.flavor.epoch_us(value.sql)
        floored = exp.Mul(this=lo.flavor.int_div(us, size.sql), expression=size.sql)
        return Typed(lo.flavor.from_epoch_us(floored), "datetime")
    if value.type == "timespan":
        return Typed(exp.Mul(this=lo.flavor.int_div(value.sql, size.sql), expression=size.sql), "timespan")
    if value.type not in NUMERIC and value.type != NULL:
        raise lo.error(node, f"bin() needs a number, datetime or timespan, not {value.type}")
    floored2 = exp.Mul(
        this=fn("floor", exp.Div(this=cast(value.sql, "DOUBLE"), expression=size.sql)), expression=size.sql
    )
    kind = "real" if "real" in (value.type, size.type) else "long"
    return Typed(cast(floored2, "DOUBLE" if kind == "real" else "BIGINT"), kind)


def _trunc(unit: str) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        value, *offset = lo.args(node, 1, 2)  # startofday(t, -1): the day before
        value = _datetime_arg(lo, node, value)
        start = lo.flavor.trunc(unit, value.sql)
        return Typed(lo.flavor.date_add(unit, offset[0].sql, start) if offset else start, "datetime")

    return handler


for _unit in ("day", "month", "year"):
    FUNCTIONS[f"startof{_unit}"] = _trunc(_unit)

_DAY_US = 86_400 * US_PER_SECOND
_THURSDAY_SHIFT = 4 * _DAY_US  # 1970-01-01 was a Thursday; KQL weeks start on Sunday


@register("dayofweek")
def _dayofweek(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    value = _datetime_arg(lo, node, value)
    days = lo.flavor.int_div(exp.Add(this=lo.flavor.epoch_us(value.sql), expression=lit(_THURSDAY_SHIFT)), lit(_DAY_US))
    return Typed(
        exp.Mul(this=exp.Paren(this=exp.Mod(this=days, expression=lit(7))), expression=lit(_DAY_US)), "timespan"
    )


def _end(unit: str) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        (value,) = lo.args(node, 1)
        value = _datetime_arg(lo, node, value)
        start = lo.flavor.trunc(unit, value.sql)
        nxt = lo.flavor.date_add(unit, lit(1), start)
        return Typed(lo.flavor.from_epoch_us(exp.Sub(this=lo.flavor.epoch_us(nxt), expression=lit(1))), "datetime")

    return handler


for _unit in ("day", "month", "year"):
    FUNCTIONS[f"endof{_unit}"] = _end(_unit)

_PARTS = {
    "getyear": "year",
    "getmonth": "month",
    "monthofyear": "month",
    "dayofmonth": "day",
    "hourofday": "hour",
    "dayofyear": "dayofyear",
}


def _part(unit: str) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        (value,) = lo.args(node, 1)
        value = _datetime_arg(lo, node, value)
        return Typed(lo.flavor.date_part(unit, value.sql), "int")

    return handler


for _name, _unit in _PARTS.items():
    FUNCTIONS[_name] = _part(_unit)

_DIFF_UNITS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "week": "week",
    "day": "day",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "millisecond": "millisecond",
    "microsecond": "microsecond",
}


def _unit_arg(lo: ScalarLowerer, node: ast.Call, value: Typed) -> str:
    if not isinstance(value.const, str) or value.const.lower() not in _DIFF_UNITS:
        raise lo.error(node, f"'{node.name}' needs a constant period such as 'day' or 'hour'")
    return _DIFF_UNITS[value.const.lower()]


@register("datetime_add")
def _datetime_add(lo: ScalarLowerer, node: ast.Call) -> Typed:
    part, amount, value = lo.args(node, 3)
    unit = _unit_arg(lo, node, part)
    value = _datetime_arg(lo, node, value)
    return Typed(lo.flavor.date_add(unit, amount.sql, value.sql), "datetime")


@register("unixtime_seconds_todatetime")
def _unixtime(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    micros = cast(exp.Mul(this=cast(value.sql, "DOUBLE"), expression=lit(US_PER_SECOND)), "BIGINT")
    return Typed(lo.flavor.from_epoch_us(micros), "datetime")


# ------------------------------------------------------------------ conversion


def _to(kind: str) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        (value,) = lo.args(node, 1)
        if kind == "timespan" and isinstance(value.const, str):
            from ramparts.hunting.parse_expr import parse_timespan_text

            try:
                seconds = parse_timespan_text(value.const)
            except ValueError:
                return Typed(cast(exp.Null(), "BIGINT"), "timespan", None)
            micros = None if seconds is None else round(seconds * US_PER_SECOND)
            return Typed(lit(micros), "timespan", micros)
        if kind == "datetime" and isinstance(value.const, str):
            from ramparts.hunting.parse_expr import parse_datetime

            try:
                parsed = parse_datetime(value.const)
            except ValueError:
                parsed = None
            if parsed is not None:
                return Typed(lo.flavor.datetime_literal(parsed), "datetime", parsed)
        result = lo.convert(value, kind)
        if kind == "string":
            return Typed(exp.Coalesce(this=result.sql, expressions=[lit("")]), "string")
        return result

    return handler


for _name, _kind in {
    "tostring": "string",
    "toint": "int",
    "tolong": "long",
    "todouble": "real",
    "toreal": "real",
    "todecimal": "real",
    "tobool": "bool",
    "toboolean": "bool",
    "todatetime": "datetime",
    "totimespan": "timespan",
    "toguid": "guid",
    "int": "int",
    "long": "long",
    "real": "real",
    "double": "real",
    "bool": "bool",
    "string": "string",
}.items():
    FUNCTIONS[_name] = _to(_kind)


@register("parse_json", "todynamic", "parsejson", "toobject")
def _parse_json(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    if value.type == "dynamic":
        return value
    if isinstance(value.const, str):
        import json

        try:
            return lo.dynamic_const(json.loads(value.const))
        except ValueError:
            return lo.dynamic_const(value.const)
    if value.type in ("string", "guid"):
        text = value.sql
        sql = exp.Case(
            ifs=[exp.If(this=lo.flavor.json_valid(text), true=text)],
            default=lo.flavor.to_json(text),
        )
        return Typed(sql, "dynamic")
    return lo.convert(value, "dynamic")


# ------------------------------------------------------------------ conditionals and nulls


@register("iff", "iif")
def _iff(lo: ScalarLowerer, node: ast.Call) -> Typed:
    lo.args(node, 3)
    cond = lo.predicate(node.args[0])
    a, b = lo.lower(node.args[1]), lo.lower(node.args[2])
    kind = unify(a.type, b.type)
    case = exp.Case(
        ifs=[exp.If(this=fn("coalesce", cond, exp.false()), true=_as(lo, a, kind))], default=_as(lo, b, kind)
    )
    return Typed(case, kind)


def _as(lo: ScalarLowerer, value: Typed, kind: str) -> exp.Expr:
    if value.type == kind or value.type == NULL:
        return value.sql
    if value.type in NUMERIC and kind in NUMERIC:
        return cast(value.sql, lo.flavor.sql_type(kind))
    return lo.convert(value, kind).sql


@register("case")
def _case(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if len(node.args) < 3 or len(node.args) % 2 == 0:
        raise lo.error(node, "case() takes pairs of predicate and value and a final else value")
    preds = [lo.predicate(arg) for arg in node.args[:-1:2]]
    values = [lo.lower(arg) for arg in [*node.args[1:-1:2], node.args[-1]]]
    kind = NULL
    for value in values:
        kind = unify(kind, value.type)
    ifs = [
        exp.If(this=fn("coalesce", p, exp.false()), true=_as(lo, v, kind))
        for p, v in zip(preds, values[:-1], strict=True)
    ]
    return Typed(exp.Case(ifs=ifs, default=_as(lo, values[-1], kind)), kind)


@register("coalesce")
def _coalesce(lo: ScalarLowerer, node: ast.Call) -> Typed:
    values = [lo.lower(arg) for arg in node.args]
    if not values:
        raise lo.error(node, "coalesce() needs arguments")
    kind = NULL
    for value in values:
        kind = unify(kind, value.type)
    parts = [_as(lo, v, kind) for v in values]
    if kind == "string":
        parts = [fn("nullif", p, lit("")) for p in parts]
        return Typed(exp.Coalesce(this=parts[0], expressions=[*parts[1:], lit("")]), kind)
    return Typed(exp.Coalesce(this=parts[0], expressions=parts[1:]), kind)


@register("isempty", "isnotempty", "isnull", "isnotnull")
def _isempty(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    name = node.name.lower()
    positive = name in ("isempty", "isnull")
    if value.type in ("string", "guid"):
        if name in ("isnull", "isnotnull"):
            return Typed(exp.false() if positive else exp.true(), "bool")
        sql: exp.Expr = exp.EQ(this=lo.as_string(value), expression=lit(""))
    elif value.type == "dynamic" and name in ("isempty", "isnotempty"):
        sql = exp.EQ(this=lo.as_string(value), expression=lit(""))
    else:
        sql = exp.Is(this=value.sql, expression=exp.Null())
    return Typed(sql if positive else exp.Not(this=exp.Paren(this=sql)), "bool")


@register("not")
def _not(lo: ScalarLowerer, node: ast.Call) -> Typed:
    lo.args(node, 1)
    return Typed(exp.Not(this=exp.Paren(this=lo.predicate(node.args[0]))), "bool")


@register("toscalar")
def _toscalar(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if len(node.args) != 1:
        raise lo.error(node, "toscalar() takes one tabular argument")
    relation = lo.tabular.relation_of(node.args[0], lo.env)
    column = lo.subquery_column(node, relation)
    assert isinstance(column.sql, exp.Select)
    return Typed(exp.Subquery(this=column.sql.limit(1, copy=False)), column.type)


@register("column_ifexists")
def _column_ifexists(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if len(node.args) != 2 or not isinstance(node.args[0], ast.Literal):
        raise lo.error(node, "column_ifexists() takes a column name and a default value")
    found = lo.scope.find(str(node.args[0].value))
    if found is not None:
        return Typed(lo.scope.ref(found[0]), found[1])
    return lo.lower(node.args[1])


# ------------------------------------------------------------------ numbers


def _math(name: str, count: int = 1, kind: str | None = "real") -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        args = lo.args(node, count, count if name != "round" else 2)
        result = kind or args[0].type
        return Typed(fn(name, *(a.sql for a in args)), result)

    return handler


FUNCTIONS.update(
    {
        "abs": _math("abs", kind=None),
        "sqrt": _math("sqrt"),
        "log": _math("ln"),
        "log10": _math("log10"),
        "log2": _math("log2"),
        "exp": _math("exp"),
        "pow": _math("power", 2),
        "round": _math("round", 1, None),
    }
)

# string, dynamic and regex functions register themselves on import
from ramparts.hunting import (  # noqa: E402, F401
    functions_datetime,
    functions_place,
    functions_search,
    functions_series,
    functions_text,
)
