"""make-series: one row per group holding dynamic arrays (one element per bin), like Kusto.

Lowered in four layers over the input, the same on both engines:

    1. buckets  SELECT by..., k, agg... WHERE axis in [start, end) GROUP BY by..., k
                (k = (axis - start) // step, or axis // step when there is no `from`)
    2. groups   SELECT by..., list(k), list(agg)... GROUP BY by...
    3. bounds   the first bin and the bin count (from/to, or the data's own range over all groups)
    4. arrays   for i in range(count): the aggregate of bin lo + i, or the default when it has no rows

Bins are aligned to `from` when given, else to multiples of the step (bin()). Without `to`, the
series ends with the last bin that has data in any group, so every series has the same axis.
"""

from __future__ import annotations

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.binder import Env, Relation
from ramparts.hunting.dialects import cast, lit
from ramparts.hunting.lower_ops import _aggregate, _by_name
from ramparts.hunting.lower_tabular import TabularLowerer, auto_name, col, operator, unique_name
from ramparts.hunting.types import NULL, NUMERIC, Typed

_AXIS_TYPES = frozenset({"datetime", "timespan", "long", "int"})


def _bound(lo: TabularLowerer, env: Env, node: ast.Expr | None, axis_type: str, what: str) -> exp.Expr | None:
    """A from/to bound as an integer on the axis scale (microseconds for datetime)."""
    if node is None:
        return None
    value = lo.scalar(env, []).lower(node)
    if value.type == "string" and axis_type == "datetime":
        value = lo.scalar(env, []).convert(value, "datetime")
    if value.type != axis_type and not (value.type in NUMERIC and axis_type in NUMERIC):
        raise lo.ctx.error(node.pos, f"make-series '{what}' must be a {axis_type}, not {value.type}")
    return lo.ctx.flavor.epoch_us(value.sql) if axis_type == "datetime" else value.sql


@operator(ast.MakeSeries)
def make_series(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.MakeSeries)
    flavor = lo.ctx.flavor
    if op.kind is not None and op.kind.lower() != "nonempty":
        raise lo.ctx.error(op.pos, f"unknown make-series kind '{op.kind}'")
    if op.kind is not None:
        raise lo.ctx.error(op.pos, "make-series kind=nonempty is not supported yet")
    lowerer = lo.scalar(env, rel.columns)
    axis = lowerer.lower(op.axis)
    if axis.type not in _AXIS_TYPES:
        raise lo.ctx.error(op.axis.pos, f"make-series needs a datetime, timespan or integer axis, not {axis.type}")
    step = lo.scalar(env, []).lower(op.step)
    step_type = "timespan" if axis.type in ("datetime", "timespan") else "long"
    if step.type != step_type and not (step.type in NUMERIC and step_type == "long"):
        raise lo.ctx.error(op.step.pos, f"make-series step must be a {step_type}, not {step.type}")
    if isinstance(step.const, int) and step.const <= 0:
        raise lo.ctx.error(op.step.pos, "make-series step must be positive")
    start = _bound(lo, env, op.start, axis.type, "from")
    end = _bound(lo, env, op.end, axis.type, "to")
    axis_us = flavor.epoch_us(axis.sql) if axis.type == "datetime" else axis.sql

    # 1. buckets
    taken: set[str] = set()
    by_items: list[tuple[str, exp.Expr]] = []
    by_columns: list[tuple[str, str]] = []
    for index, assign in enumerate(op.by, start=1):
        value = lowerer.lower(assign.expr)
        name = unique_name(assign.names[0] if assign.names else _by_name(assign.expr, index), taken)
        taken.add(name)
        by_items.append((name, value.sql))
        by_columns.append((name, "string" if value.type == NULL else value.type))
    offset = axis_us if start is None else exp.Sub(this=axis_us, expression=start)
    bucket = flavor.int_div(exp.Paren(this=offset), step.sql)
    star = [n for n in rel.names if n not in taken]
    aggs: list[tuple[str, Typed, Typed]] = []  # name, aggregate, default
    for item in op.aggs:
        result = _aggregate(lowerer, item.assign.expr, star)
        if result.tuple_sql is not None or len(result.columns) != 1:
            raise lo.ctx.error(item.assign.pos, "make-series needs aggregations that return one number")
        default_name, value = result.columns[0]
        if value.type not in NUMERIC:
            raise lo.ctx.error(item.assign.pos, f"make-series aggregations must be numeric, not {value.type}")
        name = unique_name(item.assign.names[0] if item.assign.names else default_name, taken)
        taken.add(name)
        default = lo.scalar(env, []).lower(item.default) if item.default is not None else Typed(lit(0), "long", 0)
        aggs.append((name, value, default))
    axis_name = unique_name(auto_name(op.axis, 1), taken)
    conditions: list[exp.Expr] = [exp.Not(this=exp.Is(this=axis.sql, expression=exp.Null()))]
    if start is not None:
        conditions.append(exp.GTE(this=axis_us.copy(), expression=start.copy()))
    if end is not None:
        conditions.append(exp.LT(this=axis_us.copy(), expression=end.copy()))
    where: exp.Expr = conditions[0]
    for condition in conditions[1:]:
        where = exp.And(this=where, expression=condition)
    items = [*by_items, ("__k", bucket), *((name, value.sql) for name, value, _ in aggs)]
    buckets = (
        lo.wrap(rel, items)
        .where(where, copy=False)
        .group_by(*(sql.copy() for _, sql in by_items), bucket.copy(), copy=False)
    )
    layer1 = Relation(buckets, [*by_columns, ("__k", "long"), *((n, v.type) for n, v, _ in aggs)])

    # 2. one row per group, bins and values as parallel arrays
    lists: list[tuple[str, exp.Expr]] = [(n, col(n)) for n, _ in by_columns]
    lists.append(("__k", flavor.agg_list_all(col("__k"))))
    lists += [(name, flavor.agg_list_all(col(name))) for name, _, _ in aggs]
    lists += [("__kmin", exp.Min(this=col("__k"))), ("__kmax", exp.Max(this=col("__k")))]
    grouped = lo.wrap(layer1, lists)
    if by_columns:
        grouped = grouped.group_by(*(col(n) for n, _ in by_columns), copy=False)
    else:
        grouped = grouped.having(exp.GT(this=exp.Count(this=exp.Star()), expression=lit(0)), copy=False)
    inner_names = [n for n, _ in lists]
    layer2 = Relation(grouped, [(n, "dynamic") for n in inner_names])

    # 3. the first bin and the number of bins, shared by every group
    if start is None:
        first: exp.Expr = exp.Window(this=exp.Min(this=col("__kmin")))
        origin: exp.Expr = exp.Mul(this=col("__lo"), expression=step.sql.copy())
    else:
        first = lit(0)
        origin = start.copy()
    if end is None:
        count: exp.Expr = exp.Add(
            this=exp.Sub(this=exp.Window(this=exp.Max(this=col("__kmax"))), expression=col("__lo")), expression=lit(1)
        )
    else:
        span = exp.Sub(this=end.copy(), expression=origin.copy())
        count = flavor.int_div(
            exp.Paren(this=exp.Add(this=span, expression=exp.Sub(this=step.sql.copy(), expression=lit(1)))),
            step.sql.copy(),
        )
    with_lo = lo.wrap(layer2, [*((n, col(n)) for n in inner_names), ("__lo", first)])
    layer3a = Relation(with_lo, [*layer2.columns, ("__lo", "long")])
    bounds = lo.wrap(layer3a, [*((n, col(n)) for n in inner_names), ("__lo", col("__lo")), ("__n", count)])
    layer3 = Relation(bounds, [*layer3a.columns, ("__n", "long")])

    # 4. the arrays
    scalar = lo.scalar(env, [])
    bins = flavor.array_range(col("__n"))
    out_items: list[tuple[str, exp.Expr]] = [(n, col(n)) for n, _ in by_columns]
    out_columns: list[tuple[str, str]] = list(by_columns)
    for name, value, default in aggs:
        position = flavor.array_index_of(col("__k"), exp.Add(this=col("__lo"), expression=exp.column("i")))
        kind = "real" if "real" in (value.type, default.type) else value.type
        filler = default.sql if default.type == NULL else cast(default.sql, flavor.sql_type(kind))
        element = exp.Case(
            ifs=[exp.If(this=exp.EQ(this=position, expression=lit(0)), true=filler)],
            default=cast(flavor.array_get(col(name), position.copy()), flavor.sql_type(kind)),
        )
        out_items.append((name, flavor.to_json(flavor.array_map(bins.copy(), "i", element))))
        out_columns.append((name, "dynamic"))
    point: exp.Expr = exp.Add(this=origin.copy(), expression=exp.Mul(this=exp.column("i"), expression=step.sql.copy()))
    if axis.type == "datetime":
        point = scalar.convert(Typed(flavor.from_epoch_us(point), "datetime"), "string").sql
    elif axis.type == "timespan":
        point = scalar.convert(Typed(point, "timespan"), "string").sql
    out_items.append((axis_name, flavor.to_json(flavor.array_map(bins.copy(), "i", point))))
    out_columns.append((axis_name, "dynamic"))
    return Relation(lo.wrap(layer3, out_items), out_columns)
