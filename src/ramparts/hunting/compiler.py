"""compile_kql: KQL text -> SQL text for one engine, with the result's columns and KQL types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from ramparts.errors import KqlError
from ramparts.hunting.binder import Context, Env
from ramparts.hunting.dialects import Flavor, lit
from ramparts.hunting.flavor_clickhouse import ClickHouseFlavor
from ramparts.hunting.flavor_duckdb import DuckDBFlavor
from ramparts.hunting.lower_tabular import TabularLowerer
from ramparts.hunting.parser import parse
from ramparts.telemetry.schema import TABLES, Table

Dialect = Literal["duckdb", "clickhouse"]
FLAVORS: Mapping[str, type[Flavor]] = {"duckdb": DuckDBFlavor, "clickhouse": ClickHouseFlavor}

# ClickHouse settings that make its SQL follow standard semantics the lowering relies on:
# outer joins yield NULL (not type defaults) for missing rows; a column name wins over an alias
# of the same name in the same SELECT.
CLICKHOUSE_SETTINGS: Mapping[str, int] = {"join_use_nulls": 1, "prefer_column_name_to_alias": 1}


def _wrap_binary_children(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Binary) and not isinstance(node, exp.Dot | exp.PropertyEQ):
        for key in ("this", "expression"):
            child = node.args.get(key)
            if isinstance(child, exp.Binary) and not isinstance(child, exp.Dot):
                node.set(key, exp.Paren(this=child))
    return node


def parenthesize(query: exp.Query) -> exp.Query:
    """Lowering nests operator nodes freely; sqlglot prints them without adding parentheses, so
    every operator operand that is itself an operator is wrapped (a - b) // c."""
    result = query.transform(_wrap_binary_children, copy=False)
    assert isinstance(result, exp.Query)
    return result


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    columns: tuple[tuple[str, str], ...]
    render: str | None
    tables: tuple[str, ...]


def compile_kql(
    text: str,
    *,
    dialect: Dialect,
    schema: Mapping[str, Table] | None = None,
    now: dt.datetime | None = None,
    tenant_id: str | None = None,
    timespan: tuple[dt.datetime, dt.datetime] | None = None,
) -> CompiledQuery:
    return compile_with_limit(text, dialect=dialect, schema=schema, now=now, tenant_id=tenant_id, timespan=timespan)


def compile_with_limit(
    text: str,
    *,
    dialect: Dialect,
    schema: Mapping[str, Table] | None = None,
    now: dt.datetime | None = None,
    tenant_id: str | None = None,
    timespan: tuple[dt.datetime, dt.datetime] | None = None,
    row_limit: int | None = None,
) -> CompiledQuery:
    """compile_kql, optionally with an outermost LIMIT (run_kql fetches row_cap + 1 rows)."""
    if dialect not in FLAVORS:
        raise KqlError(f"unknown SQL dialect '{dialect}'")
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    script = parse(text)
    ctx = Context(text, FLAVORS[dialect](), TABLES if schema is None else schema, now, tenant_id, timespan)
    lowerer = TabularLowerer(ctx)
    try:
        relation = lowerer.script(script, Env())
    except RecursionError:
        raise KqlError("the query is nested too deeply") from None
    query = parenthesize(relation.query)
    if row_limit is not None:
        if isinstance(query, exp.Select) and query.args.get("limit") is None:
            query = query.limit(row_limit)
        else:
            names = [name for name, _ in relation.columns]
            outer = exp.select(*(exp.column(n, quoted=True) for n in names)).from_(query.subquery("_limited"))
            for ordered in relation.order:
                outer = outer.order_by(ordered.copy())
            query = outer.limit(row_limit)
    if dialect == "clickhouse":
        settings = [exp.EQ(this=exp.var(k), expression=lit(v)) for k, v in CLICKHOUSE_SETTINGS.items()]
        if not isinstance(query, exp.Select):
            query = exp.select("*").from_(query.subquery("_q"))
        query.set("settings", settings)
    sql = query.sql(dialect=FLAVORS[dialect].DIALECT)
    return CompiledQuery(sql, tuple(relation.columns), lowerer.render, tuple(ctx.tables_read))
