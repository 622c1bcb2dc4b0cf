"""join, lookup and union: the operators with more than one input.

join kinds follow Kusto: a bare join is `innerunique` (one row per key kept from the left side,
chosen deterministically here by the event id, see _dedupe_left), right-side columns whose names
clash get a numeric suffix (`Timestamp1`), semi and anti joins return one side only.
"""

from __future__ import annotations

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.binder import Env, Relation, tables_matching
from ramparts.hunting.dialects import lit
from ramparts.hunting.lower_tabular import TabularLowerer, col, operator
from ramparts.hunting.types import NULL, Typed

_KINDS = {
    "innerunique": ("INNER", None),
    "inner": ("INNER", None),
    "leftouter": ("LEFT", None),
    "rightouter": ("RIGHT", None),
    "fullouter": ("FULL", None),
    "leftanti": ("LEFT", "ANTI"),
    "anti": ("LEFT", "ANTI"),
    "leftantisemi": ("LEFT", "ANTI"),
    "leftsemi": ("LEFT", "SEMI"),
    "semi": ("LEFT", "SEMI"),
    "rightanti": ("RIGHT", "ANTI"),
    "rightantisemi": ("RIGHT", "ANTI"),
    "rightsemi": ("RIGHT", "SEMI"),
}


def _key(lo: TabularLowerer, node: ast.Expr, side: str, rel: Relation, env: Env, qualifier: str) -> Typed:
    if isinstance(node, ast.Member) and isinstance(node.target, ast.Name) and node.target.name in ("$left", "$right"):
        if node.target.name != side:
            raise lo.ctx.error(node.pos, f"expected {side}.<column> on this side of '=='")
        node = ast.Name(node.pos, node.name)
    if isinstance(node, ast.Name) and node.name not in rel.names and rel.columns:
        found = lo.scalar(env, rel.columns).scope.find(node.name)
        if found is None:
            which = "left" if side == "$left" else "right"
            raise lo.ctx.error(node.pos, f"unknown column '{node.name}' on the {which} side of the join")
    return lo.scalar(env, rel.columns, qualifier).lower(node)


# Columns that identify a Defender event: when the left side has them all, innerunique keeps the
# first row per key by these alone (a short sort); otherwise by every column.
EVENT_ID = ("ReportId", "Timestamp")


def _dedupe_left(lo: TabularLowerer, rel: Relation, keys: list[exp.Expr]) -> Relation:
    """innerunique: keep one left row per key value. Kusto keeps an arbitrary one; here it is the first
    by the event id (ReportId, Timestamp) when the rows have one, else by all columns, so that every
    engine keeps the same row."""
    flavor = lo.ctx.flavor
    if all(n in rel.names for n in EVENT_ID):
        # one hash aggregation: arg_min(row, (ReportId, Timestamp)) per key, read back into columns
        order_key = flavor.make_tuple([col(n) for n in EVENT_ID])
        picked = flavor.arg_pick([col(n) for n in rel.names], order_key, largest=False)
        # a key that is a plain column is read from the grouping itself (the join can use it directly)
        plain = {k.name for k in keys if isinstance(k, exp.Column) and not k.table and k.name in rel.names}
        items: list[tuple[str, exp.Expr]] = [(n, col(n)) for n in rel.names if n in plain]
        grouped = lo.wrap(rel, [*items, ("__row", picked)]).group_by(*(k.copy() for k in keys), copy=False)
        inner = Relation(grouped, [*((n, "dynamic") for n, _ in items), ("__row", "dynamic")])
        unpacked = [(n, col(n) if n in plain else flavor.tuple_get(col("__row"), i)) for i, n in enumerate(rel.names)]
        return Relation(lo.wrap(inner, unpacked), rel.columns)
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[k.copy() for k in keys],
        order=exp.Order(expressions=[exp.Ordered(this=col(n), nulls_first=True) for n in rel.names]),
    )
    numbered = lo.wrap(rel, [*lo.passthrough(rel), ("__rn", window)])
    numbered_rel = Relation(numbered, [*rel.columns, ("__rn", "long")])
    select = lo.wrap(numbered_rel, lo.passthrough(rel)).where(exp.EQ(this=col("__rn"), expression=lit(1)), copy=False)
    return Relation(select, rel.columns)


@operator(ast.Join)
def join(lo: TabularLowerer, left: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Join)
    right = lo.relation_of(op.right, env)
    lookup = op.name == "lookup"
    side, special = _KINDS[op.kind]
    lq, rq = lo.ctx.alias("l"), lo.ctx.alias("r")
    conditions: list[exp.Expr] = []
    unqualified_left: list[exp.Expr] = []
    same_name_keys: set[str] = set()
    for left_node, right_node in op.on:
        lkey = _key(lo, left_node, "$left", left, env, lq)
        rkey = _key(lo, right_node, "$right", right, env, rq)
        if isinstance(left_node, ast.Name) and left_node is right_node:
            same_name_keys.add(left_node.name)
        elif lookup and isinstance(_strip_side(right_node), ast.Name):
            # lookup keeps the left key only: the right key column is not repeated
            stripped = _strip_side(right_node)
            assert isinstance(stripped, ast.Name)
            same_name_keys.add(stripped.name)
        if lkey.type == "dynamic" or rkey.type == "dynamic" or lkey.type != rkey.type:
            a = lo.scalar(env, left.columns, lq).as_string(lkey) if lkey.type != rkey.type else lkey.sql
            b = lo.scalar(env, right.columns, rq).as_string(rkey) if lkey.type != rkey.type else rkey.sql
        else:
            a, b = lkey.sql, rkey.sql
        conditions.append(exp.EQ(this=a, expression=b))
        unqualified_left.append(lo.scalar(env, left.columns).lower(_strip_side(left_node)).sql)
    if op.kind == "innerunique":
        left = _dedupe_left(lo, left, unqualified_left)
    on = conditions[0]
    for condition in conditions[1:]:
        on = exp.And(this=on, expression=condition)
    if special is not None:
        keep, keep_alias = (left, lq) if side == "LEFT" else (right, rq)
        items = [(n, col(n, keep_alias)) for n in keep.names]
        columns = list(keep.columns)
    else:
        items = [(n, col(n, lq)) for n in left.names]
        columns = list(left.columns)
        taken = set(left.names)
        for name, kind in right.columns:
            if lookup and name in same_name_keys:
                continue
            new = _suffixed(name, taken) if name in taken else name
            taken.add(new)
            items.append((new, col(name, rq)))
            columns.append((new, kind))
    duck = lo.ctx.flavor.name == "duckdb"
    outer, inner = (right, rq), (left, lq)
    if not (duck and special is not None and side == "RIGHT"):
        outer, inner = (left, lq), (right, rq)
    join_node = exp.Join(this=inner[0].query.subquery(inner[1], copy=False), on=on)
    if special is None:
        if side == "INNER":
            join_node.set("kind", "INNER")
        else:
            join_node.set("side", side)
    else:
        join_node.set("kind", special)
        if not duck:
            join_node.set("side", side)
    select = exp.select(*(lo._aliased(sql, name) for name, sql in items)).from_(
        outer[0].query.subquery(outer[1], copy=False), copy=False
    )
    select.append("joins", join_node)
    return Relation(select, columns)


def _suffixed(name: str, taken: set[str]) -> str:
    i = 1
    while f"{name}{i}" in taken:
        i += 1
    return f"{name}{i}"


def _strip_side(node: ast.Expr) -> ast.Expr:
    if isinstance(node, ast.Member) and isinstance(node.target, ast.Name) and node.target.name in ("$left", "$right"):
        return ast.Name(node.pos, node.name)
    return node


@operator(ast.Union)
def union_op(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Union)
    return union_sources(lo, rel, op, env)


def union_sources(lo: TabularLowerer, first: Relation | None, op: ast.Union, env: Env) -> Relation:
    parts: list[tuple[str, Relation]] = []
    if first is not None:
        parts.append(("union_arg0", first))
    for source in op.sources:
        if not source.ops and isinstance(source.source, ast.TableRef) and "*" in source.source.name:
            names = tables_matching(lo.ctx.schema, source.source.name)
            if not names and not op.isfuzzy:
                raise lo.ctx.error(source.pos, f"no table matches '{source.source.name}'")
            parts += [(name, lo.table(source.pos, name)) for name in names]
            continue
        try:
            relation = lo.relation_of(source, env)
        except Exception:
            if op.isfuzzy and isinstance(source.source, ast.TableRef):
                continue
            raise
        label = source.source.name if isinstance(source.source, ast.TableRef) else f"union_arg{len(parts)}"
        parts.append((label, relation))
    if not parts:
        raise lo.ctx.error(op.pos, "union has no tables to read")
    columns: list[tuple[str, str]] = []
    for _, relation in parts:
        for name, kind in relation.columns:
            if all(name != c for c, _ in columns):
                columns.append((name, kind))
    if op.kind == "inner":  # only the columns every source has
        columns = [(n, k) for n, k in columns if all(r.column_type(n) is not None for _, r in parts)]
    if op.withsource:
        columns.insert(0, (op.withsource, "string"))
    query: exp.Query | None = None
    for label, relation in parts:
        items: list[exp.Expr] = []
        for name, kind in columns:
            if name == op.withsource:
                items.append(exp.alias_(lit(label), name, quoted=True, copy=False))
            elif relation.column_type(name) is None:
                items.append(exp.alias_(lo.ctx.flavor.typed_null(kind), name, quoted=True, copy=False))
            elif relation.column_type(name) != kind and kind != NULL:
                converted = lo.scalar(env, relation.columns).convert(
                    Typed(col(name), relation.column_type(name) or kind), kind
                )
                items.append(exp.alias_(converted.sql, name, quoted=True, copy=False))
            else:
                items.append(col(name))
        select = exp.select(*items).from_(relation.query.subquery(lo.ctx.alias(), copy=False), copy=False)
        query = select if query is None else exp.union(query, select, distinct=False)
    assert query is not None
    outer = exp.select(*(col(n) for n, _ in columns)).from_(query.subquery(lo.ctx.alias(), copy=False), copy=False)
    return Relation(outer, columns)
