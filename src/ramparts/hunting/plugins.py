"""evaluate: a table from plugin name to a function that extends a query, like the operators.

bag_unpack and pivot make one column per bag key or per distinct value, so their output columns
depend on the data. Kusto learns them at run time; here the compiler asks the engine first: it runs
one small discovery query through `Context.discover` (keys and value types, or distinct values),
then lowers the plugin with the columns it found. A query that gives an OutputSchema
(`evaluate bag_unpack(d) : (a:string, b:long)`) needs no discovery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.binder import Env, Relation
from ramparts.hunting.dialects import lit
from ramparts.hunting.lower_tabular import TabularLowerer, col, operator, unique_name
from ramparts.hunting.render import to_sql
from ramparts.hunting.types import Typed, normalize_type

PluginHandler = Callable[[TabularLowerer, Relation, ast.Evaluate, Env], Relation]
PLUGINS: dict[str, PluginHandler] = {}

# Most columns a discovered plugin output may have.
MAX_DISCOVERED_COLUMNS = 1000

# JSON value type names (DuckDB json_type, ClickHouse JSONType) -> KQL types; NULL is left out.
JSON_TYPES = {
    "VARCHAR": "string",
    "String": "string",
    "BIGINT": "long",
    "UBIGINT": "long",
    "Int64": "long",
    "UInt64": "long",
    "DOUBLE": "real",
    "Double": "real",
    "BOOLEAN": "bool",
    "Bool": "bool",
}

# Plugins that exist in Kusto and that ramparts refuses, with the reason.
REFUSED_PLUGINS = {
    "python": "it runs user code",
    "r": "it runs user code",
    "sql_request": "it reaches external databases",
    "http_request": "it reaches the network",
    "http_request_post": "it reaches the network",
    "cosmosdb_sql_request": "it reaches external databases",
    "mysql_request": "it reaches external databases",
    "postgresql_request": "it reaches external databases",
    "azure_digital_twins_query_request": "it reaches external services",
}


def plugin(*names: str) -> Callable[[PluginHandler], PluginHandler]:
    def deco(handler: PluginHandler) -> PluginHandler:
        for name in names:
            PLUGINS[name] = handler
        return handler

    return deco


@operator(ast.Evaluate)
def evaluate(lo: TabularLowerer, rel: Relation, op: ast.Operator, env: Env) -> Relation:
    assert isinstance(op, ast.Evaluate)
    name = op.call.name.lower()
    handler = PLUGINS.get(name)
    if handler is None:
        why = REFUSED_PLUGINS.get(name, "ramparts runs only these plugins: " + ", ".join(sorted(PLUGINS)))
        raise lo.ctx.error(op.call.pos, f"the '{op.call.name}' plugin of evaluate is not supported: {why}")
    return handler(lo, rel, op, env)


def discover(lo: TabularLowerer, pos: int, what: str, query: exp.Query) -> list[tuple[Any, ...]]:
    if lo.ctx.discover is None:
        raise lo.ctx.error(
            pos,
            f"{what} finds its output columns in the data: run the query (run_kql) or give an output"
            " schema such as `: (Name:string, Count:long)`",
        )
    return lo.ctx.discover(to_sql(query, lo.ctx.flavor))


def _column_arg(lo: TabularLowerer, rel: Relation, node: ast.Expr, what: str) -> tuple[str, str]:
    if not isinstance(node, ast.Name) or node.name not in rel.names:
        raise lo.ctx.error(node.pos, f"{what} needs a column of its input")
    kind = rel.column_type(node.name)
    assert kind is not None
    return node.name, kind


def _const_arg(lo: TabularLowerer, env: Env, node: ast.Expr) -> object:
    value = lo.scalar(env, []).lower(node)
    if not value.is_const:
        raise lo.ctx.error(node.pos, "expected a constant")
    return value.const


def _schema(lo: TabularLowerer, op: ast.Evaluate) -> list[tuple[str, str]]:
    assert op.schema is not None
    out = []
    for name, type_name in op.schema:
        kind = normalize_type(type_name)
        if kind is None:
            raise lo.ctx.error(op.pos, f"unknown type '{type_name}' in the output schema")
        out.append((name, kind))
    return out


@plugin("bag_unpack")
def bag_unpack(lo: TabularLowerer, rel: Relation, op: ast.Evaluate, env: Env) -> Relation:
    call = op.call
    if not 1 <= len(call.args) <= 4:
        raise lo.ctx.error(
            call.pos, "bag_unpack() takes a column, and optionally a prefix, a conflict rule and ignored keys"
        )
    bag, kind = _column_arg(lo, rel, call.args[0], "bag_unpack()")
    if kind not in ("dynamic", "string"):
        raise lo.ctx.error(call.args[0].pos, f"bag_unpack() needs a dynamic column, not {kind}")
    prefix = str(_const_arg(lo, env, call.args[1]) or "") if len(call.args) > 1 else ""
    conflict = str(_const_arg(lo, env, call.args[2])) if len(call.args) > 2 else "error"
    if conflict not in ("error", "replace_source", "keep_source"):
        raise lo.ctx.error(call.args[2].pos, f"unknown columnsConflict '{conflict}'")
    ignored = _const_arg(lo, env, call.args[3]) if len(call.args) > 3 else []
    if not isinstance(ignored, list):
        raise lo.ctx.error(call.args[3].pos, "bag_unpack()'s ignoredProperties must be a dynamic array")
    flavor = lo.ctx.flavor
    if op.schema is not None:  # the schema names input columns to keep and bag keys to unpack
        keys = [
            (name[len(prefix) :] if name.startswith(prefix) else name, k)
            for name, k in _schema(lo, op)
            if name not in rel.names or name == bag
        ]
    else:
        source = Relation(rel.query.copy(), rel.columns)  # the input is read again below
        keyed = lo.wrap(source, [("__bag", col(bag)), ("__key", flavor.unnest(flavor.json_key_array(col(bag))))])
        member = flavor.json_get(col("__bag"), col("__key"), key_is_string=True)
        typed = lo.wrap(Relation(keyed, [("__bag", "dynamic"), ("__key", "string")]), [("__key", col("__key"))])
        typed = typed.select(
            exp.alias_(flavor.json_type_name(member), "__type", quoted=True, copy=False), copy=False
        ).distinct(copy=False)
        found: dict[str, set[str]] = {}
        for key, type_name in discover(lo, call.pos, "bag_unpack()", typed):
            kinds = found.setdefault(str(key), set())
            if type_name is not None and str(type_name).upper() != "NULL":
                kinds.add(JSON_TYPES.get(str(type_name), "dynamic"))
        keys = [(key, kinds.pop() if len(kinds) == 1 else "dynamic") for key, kinds in sorted(found.items())]
    keys = [(key, k) for key, k in keys if key not in ignored]
    if len(keys) > MAX_DISCOVERED_COLUMNS:
        raise lo.ctx.error(call.pos, f"bag_unpack() would make {len(keys)} columns; at most {MAX_DISCOVERED_COLUMNS}")
    kept = [c for c in rel.columns if c[0] != bag or conflict == "keep_source"]
    items: list[tuple[str, exp.Expr]] = [(n, col(n)) for n, _ in kept]
    columns = list(kept)
    scalar = lo.scalar(env, rel.columns)
    for key, key_kind in keys:
        name = prefix + key
        if name in (n for n, _ in columns):
            if conflict == "keep_source":
                continue
            if conflict == "error" or name != bag:
                raise lo.ctx.error(call.pos, f"bag_unpack(): the key '{name}' clashes with an existing column")
        value = Typed(flavor.json_get(col(bag), lit(key)), "dynamic")
        sql = value.sql if key_kind == "dynamic" else scalar.convert(value, key_kind).sql
        items.append((name, sql))
        columns.append((name, key_kind))
    if op.schema is not None and not op.schema_star:
        wanted = {name for name, _ in op.schema}
        items = [item for item in items if item[0] in wanted]
        columns = [c for c in columns if c[0] in wanted]
    return Relation(lo.wrap(rel, items), columns)


_PIVOT_AGGREGATES = {
    "count": "countif",
    "sum": "sumif",
    "min": "minif",
    "max": "maxif",
    "avg": "avgif",
    "dcount": "dcountif",
    "take_any": "take_anyif",
    "any": "take_anyif",
    "make_list": "make_list_if",
    "make_set": "make_set_if",
}


@plugin("pivot")
def pivot(lo: TabularLowerer, rel: Relation, op: ast.Evaluate, env: Env) -> Relation:
    from ramparts.hunting.lower_ops import summarize

    call = op.call
    if not call.args:
        raise lo.ctx.error(call.pos, "pivot() takes the column to pivot on")
    pivot_column, _ = _column_arg(lo, rel, call.args[0], "pivot()")
    agg = call.args[1] if len(call.args) > 1 else ast.Call(call.pos, "count", [])
    if not isinstance(agg, ast.Call) or agg.name.lower() not in _PIVOT_AGGREGATES:
        names = ", ".join(f"{n}()" for n in sorted(_PIVOT_AGGREGATES))
        raise lo.ctx.error(getattr(agg, "pos", call.pos), f"pivot() aggregates with one of {names}")
    used = {a.name for a in agg.args if isinstance(a, ast.Name)}
    if len(call.args) > 2:
        by = [_column_arg(lo, rel, node, "pivot()")[0] for node in call.args[2:]]
    else:
        by = [n for n in rel.names if n != pivot_column and n not in used]
    scalar = lo.scalar(env, rel.columns)
    key = ast.Call(call.pos, "tostring", [ast.Name(call.pos, pivot_column)])
    if op.schema is not None:
        values = [name for name, _ in _schema(lo, op) if name not in by]
    else:
        text = scalar.lower(key).sql
        source = Relation(rel.query.copy(), rel.columns)  # the input is read again below
        distinct = lo.wrap(source, [("__value", text)]).distinct(copy=False)
        values = sorted({str(row[0] or "") for row in discover(lo, call.pos, "pivot()", distinct)})
    if len(values) > MAX_DISCOVERED_COLUMNS:
        raise lo.ctx.error(call.pos, f"pivot() would make {len(values)} columns; at most {MAX_DISCOVERED_COLUMNS}")
    aggs: list[ast.Assign] = []
    taken = set(by)
    for value in values:
        name = unique_name(value or "Column1", taken)
        taken.add(name)
        condition = ast.Binary(call.pos, "==", key, ast.Literal(call.pos, "string", value))
        conditional = ast.Call(agg.pos, _PIVOT_AGGREGATES[agg.name.lower()], [*agg.args, condition])
        aggs.append(ast.Assign(call.pos, [name], conditional))
    grouped = ast.Summarize(op.pos, "summarize", aggs, [ast.Assign(call.pos, [], ast.Name(call.pos, n)) for n in by])
    return summarize(lo, rel, grouped, env)
