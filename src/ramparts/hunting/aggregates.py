"""Aggregation functions of `summarize`: a table from name to handler.

A handler returns plain aggregate columns, or for arg_max/arg_min one aggregate over a tuple whose
elements the summarize lowering reads back into columns (so every column comes from the same row);
prune.py then takes the tuple apart into what each engine runs fastest (see `_pick_apart`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.types import NULL, NUMERIC, Typed

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer


@dataclass
class AggResult:
    columns: list[tuple[str, Typed]] = field(default_factory=list)
    tuple_sql: exp.Expr | None = None
    tuple_columns: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[["ScalarLowerer", ast.Call, list[str]], AggResult]
AGGREGATES: dict[str, Handler] = {}


def arg_name(node: ast.Expr) -> str:
    """The column name KQL derives from an aggregate's argument (dcount(X) -> dcount_X)."""
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Member):
        return arg_name(node.target) + "_" + node.name
    if isinstance(node, ast.Call) and node.args:
        return arg_name(node.args[0])
    return ""


def _one(lo: ScalarLowerer, node: ast.Call, low: int = 1, high: int | None = None) -> list[Typed]:
    return lo.args(node, low, high)


def _simple(
    prefix: str,
    build: Callable[[ScalarLowerer, list[Typed]], tuple[exp.Expr, str]],
    low: int,
    high: int | None = None,
) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        args = _one(lo, node, low, high)
        sql, kind = build(lo, args)
        name = prefix + (arg_name(node.args[0]) if node.args and not prefix.endswith("if_") else "")
        return AggResult([(name, Typed(sql, kind))])

    return handler


def _num(value: Typed) -> exp.Expr:
    return value.sql


def _when(lo: ScalarLowerer, node: ast.Call, index: int) -> exp.Expr:
    return fn("coalesce", lo.predicate(node.args[index]), exp.false())


def _count(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    if node.args and not isinstance(node.args[0], ast.Star):
        value = lo.lower(node.args[0])
        return AggResult([("count_", Typed(cast(exp.Count(this=value.sql), "BIGINT"), "long"))])
    return AggResult([("count_", Typed(cast(exp.Count(this=exp.Star()), "BIGINT"), "long"))])


def _countif(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    lo.args(node, 1)
    # count_if is NULL over no rows on DuckDB, and over only NULL conditions on both engines (a
    # WHERE-like condition may be NULL for FALSE, see render.relax_conditions): countif reads 0
    sql = fn("coalesce", cast(exp.CountIf(this=_when(lo, node, 0)), "BIGINT"), lit(0))
    return AggResult([("countif_", Typed(sql, "long"))])


def _distinct_value(lo: ScalarLowerer, value: Typed) -> exp.Expr:
    return lo.as_string(value) if value.type in ("string", "guid") else value.sql


def _dcount(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    args = lo.args(node, 1, 2)
    sql = exp.Count(this=exp.Distinct(expressions=[_distinct_value(lo, args[0])]))
    return AggResult([("dcount_" + arg_name(node.args[0]), Typed(cast(sql, "BIGINT"), "long"))])


def _count_distinct(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    (_, value), *_ = _dcount(lo, node, star_columns).columns
    return AggResult([("count_distinct_" + arg_name(node.args[0]), value)])


def _dcountif(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    args = lo.args(node, 2, 3)
    value = exp.Case(ifs=[exp.If(this=_when(lo, node, 1), true=_distinct_value(lo, args[0]))])
    sql = exp.Count(this=exp.Distinct(expressions=[value]))
    return AggResult([("dcountif_" + arg_name(node.args[0]), Typed(cast(sql, "BIGINT"), "long"))])


def _numeric(lo: ScalarLowerer, node: ast.Call, value: Typed) -> Typed:
    if value.type == "dynamic":
        return lo.convert(value, "real")
    if value.type == "bool":
        return Typed(cast(value.sql, "INT"), "int")
    if value.type not in NUMERIC and value.type not in ("timespan", NULL):
        raise lo.error(node, f"'{node.name}' needs a number, not {value.type}")
    return value


def _sum(conditional: bool) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        args = lo.args(node, 2 if conditional else 1)
        value = _numeric(lo, node, args[0])
        sql = value.sql
        if conditional:
            sql = exp.Case(ifs=[exp.If(this=_when(lo, node, 1), true=sql)])
        kind = "real" if value.type == "real" else ("timespan" if value.type == "timespan" else "long")
        total = fn("coalesce", exp.Sum(this=sql), lit(0))
        prefix = "sumif_" if conditional else "sum_"
        return AggResult([(prefix + arg_name(node.args[0]), Typed(cast(total, lo.flavor.sql_type(kind)), kind))])

    return handler


def _avg(conditional: bool) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        args = lo.args(node, 2 if conditional else 1)
        value = _numeric(lo, node, args[0])
        sql = cast(value.sql, "DOUBLE")
        if conditional:
            sql = exp.Case(ifs=[exp.If(this=_when(lo, node, 1), true=sql)])
        prefix = "avgif_" if conditional else "avg_"
        return AggResult([(prefix + arg_name(node.args[0]), Typed(exp.Avg(this=sql), "real"))])

    return handler


def _minmax(largest: bool, conditional: bool) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        args = lo.args(node, 2 if conditional else 1)
        value = args[0]
        sql = value.sql
        if conditional:
            sql = exp.Case(ifs=[exp.If(this=_when(lo, node, 1), true=sql)])
        agg = exp.Max(this=sql) if largest else exp.Min(this=sql)
        prefix = ("max" if largest else "min") + ("if_" if conditional else "_")
        return AggResult([(prefix + arg_name(node.args[0]), Typed(agg, value.type))])

    return handler


def _any(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    """take_any/any: KQL picks an arbitrary row; min() is such a choice and the same on every engine."""
    out: list[tuple[str, Typed]] = []
    conditional = node.name.lower().endswith("if")
    items = node.args[:-1] if conditional else node.args
    for item in items:
        if isinstance(item, ast.Star):
            raise lo.error(item, f"{node.name}(*) is not supported yet")
        value = lo.lower(item)
        sql = value.sql
        if conditional:
            sql = exp.Case(ifs=[exp.If(this=_when(lo, node, len(node.args) - 1), true=sql)])
        # take_any(X) keeps X's name; the legacy any(X) is any_X
        legacy = node.name.lower() in ("any", "anyif")
        name = arg_name(item) if isinstance(item, ast.Name) and not legacy else "any_" + arg_name(item)
        out.append((name, Typed(exp.Min(this=sql), value.type)))
    return AggResult(out)


def _make_list(distinct: bool, conditional: bool) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        args = lo.args(node, 2 if conditional else 1, 3 if conditional else 2)
        value = args[0]
        sql = value.sql
        if value.type == "datetime":
            sql = lo.convert(value, "string").sql
        if conditional:
            sql = exp.Case(ifs=[exp.If(this=_when(lo, node, 1), true=sql)])
        array = lo.flavor.agg_list(sql, distinct)
        if distinct:
            array = lo.flavor.array_sort(array)
        limit = args[2] if conditional and len(args) == 3 else (args[1] if not conditional and len(args) == 2 else None)
        if limit is not None:
            array = lo.flavor.array_slice(array, limit.sql)
        prefix = "set_" if distinct else "list_"  # make_set(X) -> set_X, make_list_if(X, p) -> list_X
        if value.type == "dynamic":  # elements are JSON texts already: join them into one array text
            joined = fn("coalesce", lo.flavor.array_join(array, lit(",")), lit(""))
            return AggResult(
                [(prefix + arg_name(node.args[0]), Typed(lo.flavor.concat([lit("["), joined, lit("]")]), "dynamic"))]
            )
        return AggResult([(prefix + arg_name(node.args[0]), Typed(lo.flavor.to_json(array), "dynamic"))])

    return handler


def _make_bag(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    """Merge bags by joining their members' JSON text ({"a":1} + {"b":2} -> {"a":1,"b":2})."""
    args = lo.args(node, 1, 2)
    value = lo.as_string(args[0])
    members = fn(
        "trim", exp.Substring(this=value, start=lit(2), length=exp.Sub(this=exp.Length(this=value), expression=lit(2)))
    )
    member = fn("nullif", members, lit(""))
    joined = lo.flavor.array_join(lo.flavor.agg_list(member, False), lit(","))
    sql = lo.flavor.concat([lit("{"), fn("coalesce", joined, lit("")), lit("}")])
    return AggResult([("bag_" + arg_name(node.args[0]), Typed(sql, "dynamic"))])


def _arg(largest: bool) -> Handler:
    def handler(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
        if not node.args:
            raise lo.error(node, f"{node.name}() needs the expression to maximize")
        key = lo.lower(node.args[0])
        key_name = arg_name(node.args[0]) if isinstance(node.args[0], ast.Name) else ""
        first = key_name or (("max_" if largest else "min_") + arg_name(node.args[0]))
        columns: list[tuple[str, str]] = [(first, key.type)]
        values: list[exp.Expr] = [key.sql]
        for item in node.args[1:]:
            if isinstance(item, ast.Star):
                for name in star_columns:
                    if name == key_name or any(name == c for c, _ in columns):
                        continue
                    found = lo.scope.find(name)
                    assert found is not None
                    columns.append((name, found[1]))
                    values.append(lo.scope.ref(name))
            else:
                value = lo.lower(item)
                columns.append((arg_name(item) or f"Column{len(columns)}", value.type))
                values.append(value.sql)
        sql = lo.flavor.arg_pick(values, key.sql, largest)
        return AggResult(tuple_sql=sql, tuple_columns=columns)

    return handler


def _percentile(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    if len(node.args) < 2:
        raise lo.error(node, f"{node.name}() takes a value and one or more percentiles")
    value = _numeric(lo, node, lo.lower(node.args[0]))
    out: list[tuple[str, Typed]] = []
    for arg in node.args[1:]:
        p = lo.lower(arg)
        if not isinstance(p.const, int | float):
            raise lo.error(node, "percentiles must be constant numbers")
        label = str(p.const).replace(".", "_")
        sql = lo.flavor.percentile(value.sql, float(p.const) / 100)
        out.append((f"percentile_{arg_name(node.args[0])}_{label}", Typed(sql, value.type)))
    return AggResult(out)


def _stdev(lo: ScalarLowerer, node: ast.Call, star_columns: list[str]) -> AggResult:
    (value,) = lo.args(node, 1)
    value = _numeric(lo, node, value)
    population = node.name.lower() in ("stdevp", "variancep")
    variance = node.name.lower().startswith("variance")
    cls: type[exp.Func]
    if variance:
        cls = exp.VariancePop if population else exp.Variance
    else:
        cls = exp.StddevPop if population else exp.StddevSamp
    return AggResult(
        [(node.name.lower() + "_" + arg_name(node.args[0]), Typed(cls(this=cast(value.sql, "DOUBLE")), "real"))]
    )


AGGREGATES.update(
    {
        "count": _count,
        "countif": _countif,
        "dcount": _dcount,
        "count_distinct": _count_distinct,
        "dcountif": _dcountif,
        "sum": _sum(False),
        "sumif": _sum(True),
        "avg": _avg(False),
        "avgif": _avg(True),
        "min": _minmax(False, False),
        "max": _minmax(True, False),
        "minif": _minmax(False, True),
        "maxif": _minmax(True, True),
        "any": _any,
        "take_any": _any,
        "anyif": _any,
        "take_anyif": _any,
        "make_set": _make_list(True, False),
        "makeset": _make_list(True, False),
        "make_set_if": _make_list(True, True),
        "make_list": _make_list(False, False),
        "makelist": _make_list(False, False),
        "make_list_if": _make_list(False, True),
        "make_bag": _make_bag,
        "arg_max": _arg(True),
        "arg_min": _arg(False),
        "percentile": _percentile,
        "percentiles": _percentile,
        "stdev": _stdev,
        "stdevp": _stdev,
        "variance": _stdev,
        "variancep": _stdev,
    }
)
_ = (_simple, _num)
