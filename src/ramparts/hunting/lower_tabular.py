"""Tabular KQL -> sqlglot queries: a table from operator name to a function that extends a query.

Every operator reads the previous relation as a subquery (`SELECT ... FROM (prev) AS _tN`), except
`where` directly after a table scan, which adds to the scan's WHERE. Output columns are always listed
by name, so each relation knows its columns and their KQL types.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.aggregates import AGGREGATES, AggResult, arg_name
from ramparts.hunting.binder import (
    BoundScalar,
    BoundTabular,
    Context,
    Env,
    FunctionLet,
    Relation,
    RowScope,
    ScalarLet,
    TabularLet,
    match_names,
)
from ramparts.hunting.dialects import cast, lit
from ramparts.hunting.lower_scalar import ScalarLowerer
from ramparts.hunting.types import NULL, Typed, normalize_type

OpHandler = Callable[["TabularLowerer", Relation, ast.Operator, Env], Relation]
OPERATORS: dict[type[ast.Operator], OpHandler] = {}

_CONVERTERS = frozenset(
    {"tostring", "toint", "tolong", "todouble", "toreal", "tobool", "todatetime", "todynamic", "parse_json"}
)


def operator(*kinds: type[ast.Operator]) -> Callable[[OpHandler], OpHandler]:
    def deco(handler: OpHandler) -> OpHandler:
        for kind in kinds:
            OPERATORS[kind] = handler
        return handler

    return deco


def col(name: str, table: str | None = None) -> exp.Column:
    # the nodes built directly: exp.column() is twice as slow, and lowering makes thousands
    if table is None:
        return exp.Column(this=exp.Identifier(this=name, quoted=True))
    return exp.Column(this=exp.Identifier(this=name, quoted=True), table=exp.Identifier(this=table, quoted=True))


def auto_name(node: ast.Expr, index: int) -> str:
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Member):
        return node.name
    if isinstance(node, ast.Index) and isinstance(node.index, ast.Literal) and isinstance(node.index.value, str):
        return node.index.value
    if isinstance(node, ast.Call) and node.name.lower() in _CONVERTERS and len(node.args) == 1:
        inner = auto_name(node.args[0], index)
        if not inner.startswith("Column"):
            return inner
    return f"Column{index}"


def unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    i = 1
    while f"{name}{i}" in taken:
        i += 1
    return f"{name}{i}"


class TabularLowerer:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.render: str | None = None

    # ------------------------------------------------------------ helpers

    def scalar(self, env: Env, columns: list[tuple[str, str]], qualifier: str | None = None) -> ScalarLowerer:
        return ScalarLowerer(self.ctx, env, RowScope(list(columns), qualifier), self)

    def wrap(self, rel: Relation, items: list[tuple[str, exp.Expr]], alias: str | None = None) -> exp.Select:
        """SELECT items FROM (rel) AS alias, keeping rel's order when its sort columns are still there."""
        alias = alias or self.ctx.alias()
        # built directly rather than with exp.select().from_(): the builders copy and re-check each item
        return exp.Select(
            expressions=[self._aliased(sql, name) for name, sql in items],
            from_=exp.From(this=rel.query.subquery(alias, copy=False)),
        )

    @staticmethod
    def _aliased(sql: exp.Expr, name: str) -> exp.Expr:
        if isinstance(sql, exp.Column):
            this = sql.args.get("this")
            same = this.args.get("this") == name if type(this) is exp.Identifier else sql.name == name
            if same and not sql.table:
                return sql
        if "alias" in sql.arg_types:  # alias_ sets the node's own alias (Unnest, Subquery, ...)
            return exp.alias_(sql, name, quoted=True, copy=False)
        return exp.Alias(this=sql, alias=exp.Identifier(this=name, quoted=True))

    @staticmethod
    def keep_order(select: exp.Select, rel: Relation) -> list[exp.Ordered]:
        names = set(rel.names)
        if rel.order and all(o.this.name in names for o in rel.order):
            for ordered in rel.order:
                select.order_by(ordered.copy(), append=True, copy=False)
            return [o.copy() for o in rel.order]
        return []

    def passthrough(self, rel: Relation) -> list[tuple[str, exp.Expr]]:
        return [(name, col(name)) for name in rel.names]

    # ------------------------------------------------------------ statements

    def script(self, script: ast.Script, env: Env) -> Relation:
        last: ast.Statement | None = None
        for statement in script.statements:
            if isinstance(statement, ast.Let):
                self.let(statement, env)
            last = statement
        assert isinstance(last, ast.ExprStatement)
        return self.relation_of(last.value, env)

    def let(self, statement: ast.Let, env: Env) -> None:
        value = statement.value
        if isinstance(value, ast.LetFunction):
            env.names[statement.name] = FunctionLet(value, env, statement.name)
        elif isinstance(value, ast.Tabular) or self.is_tabular(value, env):
            env.names[statement.name] = TabularLet(value, env)
        else:
            env.names[statement.name] = ScalarLet(value, env)

    def is_tabular(self, value: ast.Expr, env: Env) -> bool:
        if isinstance(value, ast.TabularExpr):
            return True
        if isinstance(value, ast.Name):
            entry = env.lookup(value.name)
            if entry is None:
                return value.name in self.ctx.schema
            if isinstance(entry, FunctionLet):
                return self.returns_table(entry)
            return isinstance(entry, TabularLet | BoundTabular)
        if isinstance(value, ast.Call):
            if value.name in ("materialize", "view", "table"):
                return True
            entry = env.lookup(value.name)
            return isinstance(entry, FunctionLet) and self.returns_table(entry)
        return False

    def returns_table(self, entry: FunctionLet) -> bool:
        body = entry.func.body
        if not body or not isinstance(body[-1], ast.ExprStatement):
            return False
        value = body[-1].value
        if isinstance(value, ast.Tabular):
            return True
        inner = Env(
            {p.name: BoundTabular(Relation(exp.select("1"), [])) for p in entry.func.params if p.type == "table"},
            entry.env,
        )
        return self.is_tabular(value, inner)

    def run_body(self, func: ast.LetFunction, env: Env, scalar: ScalarLowerer | None = None) -> Relation | Typed:
        try:
            result: ast.Expr | ast.Tabular | None = None
            for statement in func.body:
                if isinstance(statement, ast.Let):
                    self.let(statement, env)
                else:
                    result = statement.value
            if result is None:
                raise self.ctx.error(func.pos, "the function body has no result expression")
            if isinstance(result, ast.Tabular) or self.is_tabular(result, env):
                return self.relation_of(result, env)
            return self.scalar(env, []).lower(result)
        finally:
            self.ctx.call_depth -= 1

    # ------------------------------------------------------------ sources

    def relation_of(self, node: ast.Tabular | ast.Expr, env: Env) -> Relation:
        if isinstance(node, ast.Tabular):
            rel = self.source(node.source, env)
            for op in node.ops:
                rel = self.apply(rel, op, env)
            return rel
        if isinstance(node, ast.TabularExpr):
            return self.relation_of(node.query, env)
        if isinstance(node, ast.Name):
            return self.named(node.pos, node.name, env)
        if isinstance(node, ast.Call):
            return self.call_source(node, env)
        raise self.ctx.error(node.pos, "expected a tabular expression")

    def apply(self, rel: Relation, op: ast.Operator, env: Env) -> Relation:
        handler = OPERATORS.get(type(op))
        if handler is None:
            raise self.ctx.error(op.pos, f"the '{op.name}' operator is not supported yet")
        return handler(self, rel, op, env)

    def named(self, pos: int, name: str, env: Env) -> Relation:
        entry = env.lookup(name)
        if isinstance(entry, TabularLet):
            return self.relation_of(entry.query, entry.env)
        if isinstance(entry, BoundTabular):  # a tabular argument may be read several times: copy it
            relation = entry.relation
            return Relation(relation.query.copy(), list(relation.columns), relation.filterable, list(relation.order))
        if isinstance(entry, ScalarLet):
            return self.relation_of(entry.expr, entry.env)
        if isinstance(entry, FunctionLet):
            return self.call_source(ast.Call(pos, name, []), env)
        if isinstance(entry, BoundScalar):
            raise self.ctx.error(pos, f"'{name}' is a scalar, not a table")
        return self.table(pos, name)

    def table(self, pos: int, name: str) -> Relation:
        table = self.ctx.schema.get(name)
        if table is None:
            lowered = {t.lower(): t for t in self.ctx.schema}
            hint = f"; did you mean '{lowered[name.lower()]}'?" if name.lower() in lowered else ""
            raise self.ctx.error(pos, f"unknown table '{name}'{hint}")
        if name not in self.ctx.tables_read:
            self.ctx.tables_read.append(name)
        columns: list[tuple[str, str]] = [(c.name, c.type) for c in table.columns]
        # SELECT * (the engines read only the columns used; readers name them): cheaper to build and
        # prune than 54 column names; compile_with_limit spells the columns out if it stays outermost
        select = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(name, quoted=True)), copy=False)
        names = {c for c, _ in columns}
        flavor = self.ctx.flavor
        if self.ctx.tenant_id is not None and "TenantId" in names:
            select = select.where(exp.EQ(this=col("TenantId"), expression=lit(self.ctx.tenant_id)), copy=False)
        if self.ctx.tenant_id is not None and "TenantId" not in names:
            raise self.ctx.error(pos, f"table '{name}' has no TenantId column and cannot be confined to a tenant")
        if self.ctx.timespan is not None and "Timestamp" in names:
            start, end = self.ctx.timespan
            select = select.where(
                exp.Between(
                    this=col("Timestamp"), low=flavor.datetime_literal(start), high=flavor.datetime_literal(end)
                ),
                copy=False,
            )
        return Relation(select, columns, filterable=True)

    def call_source(self, node: ast.Call, env: Env) -> Relation:
        entry = env.lookup(node.name)
        if isinstance(entry, FunctionLet):
            lowerer = self.scalar(env, [])
            body_env = lowerer.bind_arguments(node, entry)
            result = self.run_body(entry.func, body_env)
            if not isinstance(result, Relation):
                raise self.ctx.error(node.pos, f"'{node.name}' returns a scalar, not a table")
            return result
        name = node.name.lower()
        if name in ("materialize", "view") and len(node.args) == 1:
            return self.relation_of(node.args[0], env)
        if name == "table" and len(node.args) == 1 and isinstance(node.args[0], ast.Literal):
            return self.named(node.pos, str(node.args[0].value), env)
        if name in ("externaldata", "external_data"):
            raise self.ctx.error(node.pos, "externaldata is not supported: hunting queries cannot download data")
        raise self.ctx.error(node.pos, f"unknown tabular function '{node.name}'")

    def source(self, src: ast.Source, env: Env) -> Relation:
        if isinstance(src, ast.TableRef):
            if "*" in src.name:
                raise self.ctx.error(src.pos, "a table wildcard is only allowed in union")
            return self.named(src.pos, src.name, env)
        if isinstance(src, ast.FuncSource):
            return self.call_source(src.call, env)
        if isinstance(src, ast.Nested):
            return self.relation_of(src.query, env)
        if isinstance(src, ast.Union):
            from ramparts.hunting.joins import union_sources

            return union_sources(self, None, src, env)
        if isinstance(src, ast.Datatable):
            return self.datatable(src, env)
        if isinstance(src, ast.Print):
            lowerer = self.scalar(env, [])
            items: list[tuple[str, exp.Expr]] = []
            columns: list[tuple[str, str]] = []
            for i, assign in enumerate(src.items):
                value = lowerer.lower(assign.expr)
                name = assign.names[0] if assign.names else f"print_{i}"
                items.append((name, value.sql))
                columns.append((name, "string" if value.type == NULL else value.type))
            return Relation(exp.select(*(self._aliased(s, n) for n, s in items)), columns)
        if isinstance(src, ast.UnsupportedSource):
            if src.what in ("externaldata", "external_data"):
                raise self.ctx.error(src.pos, "externaldata is not supported: hunting queries cannot download data")
            raise self.ctx.error(src.pos, f"'{src.what}' is not supported yet")
        if isinstance(src, ast.Range):
            return self.range_source(src, env)
        raise self.ctx.error(src.pos, "unknown tabular source")

    def range_source(self, src: ast.Range, env: Env) -> Relation:
        """range x from start to stop step step: one row per value, stop included."""
        lowerer = self.scalar(env, [])
        start, stop, step = lowerer.lower(src.start), lowerer.lower(src.stop), lowerer.lower(src.step)
        flavor = self.ctx.flavor
        if start.type == "datetime" and stop.type == "datetime" and step.type == "timespan":
            low, high, kind = flavor.epoch_us(start.sql), flavor.epoch_us(stop.sql), "datetime"
        elif {start.type, stop.type, step.type} <= {"long", "int"} or (
            start.type == stop.type == step.type == "timespan"
        ):
            low, high, kind = start.sql, stop.sql, "long" if start.type == "int" else start.type
        else:
            raise self.ctx.error(src.pos, "range needs long, datetime or timespan bounds (and a timespan step)")
        count = exp.Add(
            this=flavor.int_div(exp.Paren(this=exp.Sub(this=high, expression=low.copy())), step.sql), expression=lit(1)
        )
        numbers = Relation(
            exp.select(exp.alias_(flavor.unnest(flavor.array_range(count)), "__i", quoted=True, copy=False)), []
        )
        value: exp.Expr = exp.Add(this=low.copy(), expression=exp.Mul(this=col("__i"), expression=step.sql.copy()))
        if kind == "datetime":
            value = flavor.from_epoch_us(value)
        numbers.columns = [("__i", "long")]
        return Relation(self.wrap(numbers, [(src.column, value)]), [(src.column, kind)])

    def datatable(self, src: ast.Datatable, env: Env) -> Relation:
        columns: list[tuple[str, str]] = []
        for name, type_name in src.columns:
            kind = normalize_type(type_name)
            if kind is None:
                raise self.ctx.error(src.pos, f"unknown type '{type_name}' in datatable")
            columns.append((name, kind))
        width = len(columns)
        if width and not src.values:  # an empty table of these columns
            typed = [self._aliased(self.ctx.flavor.typed_null(kind), name) for name, kind in columns]
            return Relation(exp.select(*typed).where(exp.false(), copy=False), columns)
        if width == 0 or len(src.values) % width:
            raise self.ctx.error(src.pos, f"datatable has {len(src.values)} values for {width} columns")
        lowerer = self.scalar(env, [])
        rows: list[exp.Select] = []
        for start in range(0, len(src.values), width):
            items = []
            for (name, kind), node in zip(columns, src.values[start : start + width], strict=True):
                value = lowerer.lower(node)
                sql = value.sql
                if value.type == NULL:
                    sql = self.ctx.flavor.typed_null(kind)
                elif value.type != kind:
                    sql = lowerer.convert(value, kind).sql
                    if kind in ("long", "int", "real", "bool", "timespan"):
                        sql = cast(value.sql, self.ctx.flavor.sql_type(kind))
                items.append(self._aliased(sql, name))
            rows.append(exp.select(*items))
        query: exp.Query = rows[0]
        for row in rows[1:]:
            query = exp.union(query, row, distinct=False)
        if len(rows) > 1:
            query = exp.select(*(col(n) for n, _ in columns)).from_(
                query.subquery(self.ctx.alias(), copy=False), copy=False
            )
        return Relation(query, columns)


# operators are registered by their modules
from ramparts.hunting import joins, lower_ops, plugins, series  # noqa: E402, F401

_ = (AGGREGATES, AggResult, arg_name, match_names, Typed)
