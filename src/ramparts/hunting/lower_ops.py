"""The single-input tabular operators: where, project*, extend, summarize, sort, top, take,
distinct, count, mv-expand, parse, render, invoke."""

from __future__ import annotations

import re

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.aggregates import AGGREGATES, AggResult
from ramparts.hunting.binder import BoundTabular, Env, FunctionLet, Relation, match_names
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.functions_series import is_multi_output, series_call
from ramparts.hunting.lower_scalar import ScalarLowerer, re_escape
from ramparts.hunting.lower_tabular import TabularLowerer, auto_name, col, operator, unique_name
from ramparts.hunting.types import NULL, Typed, normalize_type


@operator(ast.Where)
def where(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Where)
    predicate = lo.scalar(env, rel.columns).predicate(op.predicate)
    if rel.filterable:
        assert isinstance(rel.query, exp.Select)
        return Relation(rel.query.where(predicate, copy=False), rel.columns, filterable=True, order=rel.order)
    select = lo.wrap(rel, lo.passthrough(rel)).where(predicate, copy=False)
    return Relation(select, rel.columns, order=lo.keep_order(select, rel))


def _typed_column(value: Typed) -> str:
    return "string" if value.type == NULL else value.type


def _assigned(lo: TabularLowerer, lowerer: ScalarLowerer, assign: ast.Assign, index: int) -> list[tuple[str, Typed]]:
    """The columns one project/extend item assigns: one, or one per output of a function that returns
    several (`extend (flag, score, baseline) = series_decompose_anomalies(y)`)."""
    expr = assign.expr
    if isinstance(expr, ast.Call) and is_multi_output(expr):
        outputs = series_call(lowerer, expr)
        if assign.names and len(assign.names) != len(outputs):
            raise lo.ctx.error(assign.pos, f"{expr.name}() returns {len(outputs)} columns, not {len(assign.names)}")
        stem = f"{expr.name}_{auto_name(expr.args[0], index)}"
        return [(assign.names[i] if assign.names else f"{stem}_{suffix}", v) for i, (suffix, v) in enumerate(outputs)]
    value = lowerer.lower(expr)
    if len(assign.names) > 1:
        raise lo.ctx.error(assign.pos, "a tuple assignment needs a function that returns several columns")
    return [(assign.names[0] if assign.names else auto_name(expr, index), value)]


@operator(ast.Project)
def project(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Project)
    extend = op.name == "extend"
    items: list[tuple[str, exp.Expr]] = lo.passthrough(rel) if extend else []
    columns: list[tuple[str, str]] = list(rel.columns) if extend else []
    for index, assign in enumerate(op.items, start=1):
        lowerer = lo.scalar(env, rel.columns)
        if isinstance(assign.expr, ast.Star) and not extend:
            items += lo.passthrough(rel)
            columns += rel.columns
            continue
        # every item reads the input row: Kusto does not let an item see a column assigned earlier in
        # the same operator (`extend M = N * 2, P = M + 1` is an unknown-column error for M)
        for name, value in _assigned(lo, lowerer, assign, index):
            kind = _typed_column(value)
            names = [n for n, _ in columns]
            if name in names:
                position = names.index(name)
                items[position] = (name, value.sql)
                columns[position] = (name, kind)
            else:
                items.append((name, value.sql))
                columns.append((name, kind))
    select = lo.wrap(rel, items)
    return Relation(select, columns, order=lo.keep_order(select, rel))


@operator(ast.NameList)
def name_list(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.NameList)
    chosen: list[str] = []
    for pattern, pos in op.names:
        found = match_names(pattern, rel.names)
        if not found and "*" not in pattern:
            raise lo.ctx.error(pos, f"unknown column '{pattern}' in {op.name}")
        chosen += [name for name in found if name not in chosen]
    if op.name == "project-away":
        kept = [c for c in rel.columns if c[0] not in chosen]
    elif op.name == "project-keep":
        kept = [c for c in rel.columns if c[0] in chosen]
    else:  # project-reorder
        kept = [c for name in chosen for c in rel.columns if c[0] == name]
        kept += [c for c in rel.columns if c[0] not in chosen]
    select = lo.wrap(rel, [(name, col(name)) for name, _ in kept])
    return Relation(select, kept, order=lo.keep_order(select, rel))


@operator(ast.Rename)
def rename(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Rename)
    mapping: dict[str, str] = {}
    for new, old, pos in op.pairs:
        if old not in rel.names:
            raise lo.ctx.error(pos, f"unknown column '{old}' in project-rename")
        mapping[old] = new
    columns = [(mapping.get(name, name), kind) for name, kind in rel.columns]
    select = lo.wrap(rel, [(mapping.get(name, name), col(name)) for name in rel.names])
    return Relation(select, columns)


@operator(ast.Summarize)
def summarize(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Summarize)
    alias = lo.ctx.alias()
    lowerer = lo.scalar(env, rel.columns)
    taken: set[str] = set()
    by_items: list[tuple[str, exp.Expr]] = []
    columns: list[tuple[str, str]] = []
    group: list[exp.Expr] = []
    for index, assign in enumerate(op.by, start=1):
        value = lowerer.lower(assign.expr)
        if value.type == "dynamic":
            pass
        name = assign.names[0] if assign.names else _by_name(assign.expr, index)
        name = unique_name(name, taken)
        taken.add(name)
        by_items.append((name, value.sql))
        columns.append((name, _typed_column(value)))
        group.append(value.sql)
    by_names = {name for name, _ in by_items}
    star_columns = [name for name in rel.names if name not in by_names]
    agg_items: list[tuple[str, exp.Expr]] = []
    tuples: list[tuple[str, list[tuple[str, str]]]] = []
    slots: list[tuple[str, list[tuple[str, str]]]] = []
    """Output columns in the order the aggregations were written: ("", [(name, kind)]) for a plain
    column, (internal tuple column, its fields) for arg_max/arg_min read back into several columns."""
    for assign in op.aggs:
        result = _aggregate(lowerer, assign.expr, star_columns)
        if result.tuple_sql is not None:
            internal = f"__arg{len(tuples)}"
            outs = list(result.tuple_columns)
            if assign.names:
                outs = [(assign.names[i] if i < len(assign.names) else n, t) for i, (n, t) in enumerate(outs)]
            renamed = []
            for name, kind in outs:
                name = unique_name(name, taken)
                taken.add(name)
                renamed.append((name, kind))
            tuples.append((internal, renamed))
            slots.append((internal, renamed))
            agg_items.append((internal, result.tuple_sql))
            continue
        for i, (default, value) in enumerate(result.columns):
            name = assign.names[i] if i < len(assign.names) else default
            name = unique_name(name, taken)
            taken.add(name)
            agg_items.append((name, value.sql))
            columns.append((name, _typed_column(value)))
            slots.append(("", [(name, _typed_column(value))]))
    select = lo.wrap(rel, by_items + agg_items, alias)
    if group:
        select = select.group_by(*(g.copy() for g in group), copy=False)
    if not tuples:
        return Relation(select, columns)
    # read arg_max/arg_min tuples back into columns
    outer: list[tuple[str, exp.Expr]] = [(name, col(name)) for name, _ in columns[: len(by_items)]]
    final_columns = list(columns[: len(by_items)])
    for internal, outs in slots:
        for i, (name, kind) in enumerate(outs):
            outer.append((name, lo.ctx.flavor.tuple_get(col(internal), i) if internal else col(name)))
            final_columns.append((name, kind))
    inner = Relation(select, columns)
    return Relation(lo.wrap(inner, outer), final_columns)


def _by_name(node: ast.Expr, index: int) -> str:
    if (
        isinstance(node, ast.Call)
        and node.name.lower()
        in (
            "bin",
            "floor",
            "startofday",
            "startofweek",
            "startofmonth",
        )
        and node.args
        and isinstance(node.args[0], ast.Name)
    ):
        return node.args[0].name
    return auto_name(node, index)


def _aggregate(lowerer: object, node: ast.Expr, star_columns: list[str]) -> AggResult:
    from ramparts.hunting.lower_scalar import ScalarLowerer

    assert isinstance(lowerer, ScalarLowerer)
    if isinstance(node, ast.Call):
        handler = AGGREGATES.get(node.name) or AGGREGATES.get(node.name.lower())
        if handler is not None:
            return handler(lowerer, node, star_columns)
    # an expression over aggregates: count() * 2, round(avg(x), 2), ...
    seen: list[str] = []

    def hook(call: ast.Call) -> Typed:
        handler = AGGREGATES.get(call.name) or AGGREGATES[call.name.lower()]
        result = handler(lowerer, call, star_columns)
        if len(result.columns) != 1:
            raise lowerer.error(call, f"'{call.name}' cannot be used inside an expression")
        seen.append(result.columns[0][0])
        return result.columns[0][1]

    lowerer.aggregate_hook = hook
    try:
        value = lowerer.lower(node)
    finally:
        lowerer.aggregate_hook = None
    if not seen:
        raise lowerer.error(node, "summarize needs an aggregation function such as count() or dcount()")
    return AggResult([(f"Column{len(star_columns) and 1}", value)])


def _sort_keys(lo: TabularLowerer, rel: Relation, keys: list[ast.SortKey], env: Env) -> list[exp.Ordered]:
    lowerer = lo.scalar(env, rel.columns)
    out: list[exp.Ordered] = []
    for key in keys:
        value = lowerer.lower(key.expr)
        nulls_first = key.nulls_first if key.nulls_first is not None else not key.desc
        sql = value.sql
        if value.type in ("string", "guid"):
            sql = lowerer.as_string(value)
        out.append(exp.Ordered(this=sql, desc=key.desc, nulls_first=nulls_first))
    return out


@operator(ast.Sort)
def sort(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Sort)
    keys = _sort_keys(lo, rel, op.keys, env)
    select = lo.wrap(rel, lo.passthrough(rel)).order_by(*keys, copy=False)
    plain = [k for k in keys if isinstance(k.this, (exp.Column, exp.Coalesce))]
    order = []
    if len(plain) == len(keys):
        for k in keys:
            column = k.this if isinstance(k.this, exp.Column) else k.this.this
            if isinstance(column, exp.Column):
                order.append(
                    exp.Ordered(this=col(column.name), desc=k.args.get("desc"), nulls_first=k.args.get("nulls_first"))
                )
    return Relation(select, rel.columns, order=order if len(order) == len(keys) else [])


@operator(ast.Top)
def top(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Top)
    count = lo.scalar(env, []).lower(op.count)
    sorted_rel = sort(lo, rel, ast.Sort(op.pos, "sort", op.keys), env)
    assert isinstance(sorted_rel.query, exp.Select)
    return Relation(sorted_rel.query.limit(count.sql, copy=False), rel.columns, order=sorted_rel.order)


@operator(ast.Take)
def take(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Take)
    count = lo.scalar(env, []).lower(op.count)
    query = rel.query
    if isinstance(query, exp.Select) and query.args.get("order") and not query.args.get("limit"):
        # sort | take: one ORDER BY ... LIMIT (a top-N), not a full sort wrapped in a limited copy
        return Relation(query.limit(count.sql, copy=False), rel.columns, order=rel.order)
    select = lo.wrap(rel, lo.passthrough(rel))
    order = lo.keep_order(select, rel)
    return Relation(select.limit(count.sql, copy=False), rel.columns, order=order)


@operator(ast.Distinct)
def distinct(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Distinct)
    if len(op.items) == 1 and isinstance(op.items[0], ast.Star):
        select = lo.wrap(rel, lo.passthrough(rel)).distinct(copy=False)
        return Relation(select, rel.columns)
    lowerer = lo.scalar(env, rel.columns)
    items: list[tuple[str, exp.Expr]] = []
    columns: list[tuple[str, str]] = []
    for index, node in enumerate(op.items, start=1):
        value = lowerer.lower(node)
        name = auto_name(node, index)
        items.append((name, value.sql))
        columns.append((name, _typed_column(value)))
    return Relation(lo.wrap(rel, items).distinct(copy=False), columns)


@operator(ast.Count)
def count(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    return Relation(lo.wrap(rel, [("Count", cast(exp.Count(this=exp.Star()), "BIGINT"))]), [("Count", "long")])


@operator(ast.Render)
def render(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Render)
    lo.render = op.chart
    return rel


@operator(ast.AsOp)
def as_op(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    return rel


@operator(ast.Invoke)
def invoke(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Invoke)
    call = op.call
    entry = env.lookup(call.name)
    if not isinstance(entry, FunctionLet):
        raise lo.ctx.error(call.pos, f"invoke needs a user function; '{call.name}' is not one")
    params = entry.func.params
    if not params or params[0].type != "table":
        raise lo.ctx.error(call.pos, f"'{call.name}' has no tabular first parameter to invoke it with")
    body = entry.env.child()
    body.names[params[0].name] = BoundTabular(rel)
    rest = FunctionLet(ast.LetFunction(entry.func.pos, params[1:], []), body, call.name)
    lowerer = lo.scalar(env, [])
    bound = lowerer.bind_arguments(call, rest)
    result = lo.run_body(entry.func, bound)
    if not isinstance(result, Relation):
        raise lo.ctx.error(call.pos, f"'{call.name}' returns a scalar, not a table")
    return result


@operator(ast.Unsupported)
def unsupported(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    raise lo.ctx.error(op.pos, f"the '{op.name}' operator is not supported yet")


@operator(ast.MvExpand)
def mv_expand(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    """One row per element; several columns expand in parallel (the shorter padded with nulls)."""
    assert isinstance(op, ast.MvExpand)
    flavor = lo.ctx.flavor
    limit = lo.scalar(env, []).lower(op.limit) if op.limit is not None else None
    lowerer = lo.scalar(env, rel.columns)
    values: list[Typed] = []
    for _, node, _ in op.items:
        value = lowerer.lower(node)
        if value.type == "string":
            value = Typed(value.sql, "dynamic")
        if value.type != "dynamic":
            raise lo.ctx.error(node.pos, f"mv-expand needs a dynamic array or bag, not {value.type}")
        values.append(value)
    # a JSON shape the engine reads in one parse (bag_keys(parse_json(c)), parse_json(c).k), looking through
    # the extend that named it
    direct: list[tuple[exp.Expr | None, exp.Expr] | None] = []
    for i, ((_, _, type_name), value) in enumerate(zip(op.items, values, strict=True)):
        as_string = type_name is not None and normalize_type(type_name) == "string"
        inlined = _inline_definitions(rel, value.sql)
        direct.append(flavor.json_expansion(inlined, col(f"__mv{i}"), op.kind == "array", strings=as_string))
    base = rel
    computed: list[tuple[str, exp.Expr]] = []
    for i, (value, fast) in enumerate(zip(values, direct, strict=True)):
        if fast is not None:
            if fast[0] is not None:
                computed.append((f"__mv{i}", fast[0]))
        elif not isinstance(value.sql, exp.Column):
            # compute each expanded value once, in a layer below (the expansion reads it several times)
            computed.append((f"__mv{i}", value.sql))
            values[i] = Typed(col(f"__mv{i}"), "dynamic")
    if computed:
        base = Relation(
            lo.wrap(rel, [*lo.passthrough(rel), *computed]), [*rel.columns, *((n, "dynamic") for n, _ in computed)]
        )
    targets: list[tuple[str, exp.Expr, str | None]] = []  # name, SQL array of JSON texts, typeof()
    strings: set[str] = set()  # targets expanded straight to tostring() of each element
    for (name, node, type_name), value, fast in zip(op.items, values, direct, strict=True):
        as_string = type_name is not None and normalize_type(type_name) == "string"
        if fast is not None:
            array = fast[1]
        else:
            elements = flavor.json_elements(value.sql, op.kind == "array", strings=as_string)
            array = flavor.null_as_one_element(elements, value.sql.copy())
        if as_string:
            strings.add(name or auto_name(node, 1))
        if limit is not None:
            array = flavor.array_slice(array, limit.sql.copy())
        targets.append((name or auto_name(node, 1), array, type_name))
    arrays = [array for _, array, _ in targets]
    if op.index_name is not None:  # the element's position, as one more array expanded in parallel
        longest = arrays[0] if len(arrays) == 1 else fn("greatest", *(exp.ArraySize(this=a.copy()) for a in arrays))
        size = exp.ArraySize(this=longest.copy()) if len(arrays) == 1 else longest
        arrays.append(flavor.array_range(size))
    if len(arrays) == 1:
        source, expanded = base, [flavor.unnest(arrays[0])]
    else:  # zip the arrays into one array of tuples, expand that, then read each tuple back
        zipped = ("__z", flavor.unnest(flavor.array_zip(arrays)))
        select = lo.wrap(base, [*lo.passthrough(base), zipped])
        source = Relation(select, [*base.columns, ("__z", "dynamic")])
        expanded = [flavor.tuple_get(col("__z"), i) for i in range(len(arrays))]
    items: list[tuple[str, exp.Expr]] = [(n, col(n)) for n in rel.names]
    columns = list(rel.columns)
    if op.index_name is not None:
        items.append((op.index_name, cast(expanded.pop(), "BIGINT")))
        columns.append((op.index_name, "long"))
    for (target, _, _), sql in zip(targets, expanded, strict=True):
        target_type = "string" if target in strings else "dynamic"
        if target in strings:  # a KQL string is never null: a null element or a missing member reads as ""
            sql = exp.Coalesce(this=sql, expressions=[exp.Literal.string("")])
        if target in rel.names:
            position = rel.names.index(target)
            items[position] = (target, sql)
            columns[position] = (target, target_type)
        else:
            items.append((target, sql))
            columns.append((target, target_type))
    result = Relation(lo.wrap(source, items), columns)
    conversions: dict[str, str] = {}
    for target, _, type_name in targets:
        if type_name is None or target in strings:
            continue
        kind = normalize_type(type_name)
        if kind is None:
            raise lo.ctx.error(op.pos, f"unknown type '{type_name}'")
        if kind != "dynamic":
            conversions[target] = kind
    if not conversions:
        return result
    converter = lo.scalar(env, result.columns)
    items2 = [
        (n, converter.convert(Typed(col(n), "dynamic"), conversions[n]).sql if n in conversions else col(n))
        for n in result.names
    ]
    columns2 = [(n, conversions.get(n, t)) for n, t in result.columns]
    return Relation(lo.wrap(result, items2), columns2)


def _inline_definitions(rel: Relation, value: exp.Expr) -> exp.Expr:
    """value with each column that rel's select defines from columns it passes through unchanged replaced by
    that definition (mv-expand looks through `extend x = bag_keys(parse_json(c))` to see what x is)."""
    query = rel.query
    if not isinstance(query, exp.Select) or any(
        v for k, v in query.args.items() if k not in ("expressions", "from_", "where", "order")
    ):
        return value
    definitions: dict[str, exp.Expr] = {}
    for projection in query.expressions:
        if isinstance(projection, exp.Alias):
            definitions[projection.alias] = projection.this
        elif isinstance(projection, exp.Column):
            definitions[projection.name] = projection
        else:
            return value
    kept = {n for n, d in definitions.items() if isinstance(d, exp.Column) and d.name == n and not d.table}

    def readable(definition: exp.Expr) -> bool:
        return all(not c.table and c.name in kept for c in definition.find_all(exp.Column))

    columns = [value] if isinstance(value, exp.Column) else list(value.find_all(exp.Column))
    targets = [c for c in columns if not c.table and c.name in definitions and c.name not in kept]
    if not targets or not all(readable(definitions[c.name]) for c in targets):
        return value
    if isinstance(value, exp.Column):
        return definitions[value.name].copy()
    value = value.copy()
    for column in list(value.find_all(exp.Column)):
        if not column.table and column.name in definitions and column.name not in kept:
            column.replace(definitions[column.name].copy())
    return value


_PARSE_TYPES = {
    "string": "string",
    "long": "long",
    "int": "int",
    "real": "real",
    "double": "real",
    "datetime": "datetime",
    "bool": "bool",
}


@operator(ast.Parse)
def parse(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Parse)
    lowerer = lo.scalar(env, rel.columns)
    text = lowerer.as_string(lowerer.lower(op.source))
    regex = ""
    names: list[str] = []
    pieces = op.pattern
    for i, (kind, value) in enumerate(pieces):
        last = i == len(pieces) - 1
        if kind == "lit":
            assert value is not None
            regex += value if op.kind == "regex" else re_escape(value)
        elif value is None:
            regex += ".*?" if not last else ".*"
        else:
            names.append(value)
            column_type = op.types.get(value, "string")
            if column_type in ("long", "int"):
                regex += r"(-?\d+)"
            elif column_type in ("real", "double"):
                regex += r"(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
            else:
                regex += "(.*?)" if not last else "(.*)"
    if op.kind != "regex":
        regex = "^" + regex
    if "i" in op.flags.lower():
        regex = "(?i)" + regex
    if op.flags and set(op.flags.lower()) - {"i", "u"}:
        raise lo.ctx.error(op.pos, f"parse flags '{op.flags}' are not supported")
    if re.compile(regex).groups != len(names):
        raise lo.ctx.error(op.pos, "parse: capture groups in the regex patterns are not supported")
    items = lo.passthrough(rel)
    columns = list(rel.columns)
    for group, name in enumerate(names, start=1):
        parse_kind = _PARSE_TYPES.get(op.types.get(name, "string").lower())
        if parse_kind is None:
            raise lo.ctx.error(op.pos, f"unsupported parse type '{op.types.get(name)}'")
        kind = parse_kind
        raw = Typed(lo.ctx.flavor.regex_extract(text, lit(regex), group), "string")
        sql = exp.Coalesce(this=raw.sql, expressions=[lit("")]) if kind == "string" else lowerer.convert(raw, kind).sql
        if name in rel.names:
            position = rel.names.index(name)
            items[position] = (name, sql)
            columns[position] = (name, kind)
        else:
            items.append((name, sql))
            columns.append((name, kind))
    select = lo.wrap(rel, items)
    if op.where:
        select = select.where(exp.RegexpLike(this=text.copy(), expression=lit(regex)), copy=False)
    return Relation(select, columns, order=lo.keep_order(select, rel))


_ = fn
