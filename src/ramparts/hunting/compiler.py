"""compile_kql: KQL text -> SQL text for one engine, with the result's columns and KQL types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from ramparts.errors import KqlError
from ramparts.hunting.binder import Context, Env
from ramparts.hunting.dialects import Flavor
from ramparts.hunting.flavor_clickhouse import ClickHouseFlavor
from ramparts.hunting.flavor_duckdb import DuckDBFlavor
from ramparts.hunting.lower_tabular import TabularLowerer
from ramparts.hunting.parser import parse
from ramparts.hunting.render import CLICKHOUSE_SETTINGS, Discover, to_sql
from ramparts.telemetry.schema import TABLES, Table

Dialect = Literal["duckdb", "clickhouse"]
FLAVORS: Mapping[str, type[Flavor]] = {"duckdb": DuckDBFlavor, "clickhouse": ClickHouseFlavor}
__all__ = ["CLICKHOUSE_SETTINGS", "CompiledQuery", "Dialect", "Discover", "compile_kql", "compile_with_limit"]


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
    discover: Discover | None = None,
) -> CompiledQuery:
    """KQL -> SQL. `discover` runs a query on the target engine and returns its rows: the plugins
    whose output columns depend on the data (evaluate bag_unpack, pivot) call it once each to learn
    their columns; without it those plugins raise KqlError unless the query gives an output schema."""
    return compile_with_limit(
        text, dialect=dialect, schema=schema, now=now, tenant_id=tenant_id, timespan=timespan, discover=discover
    )


def compile_with_limit(
    text: str,
    *,
    dialect: Dialect,
    schema: Mapping[str, Table] | None = None,
    now: dt.datetime | None = None,
    tenant_id: str | None = None,
    timespan: tuple[dt.datetime, dt.datetime] | None = None,
    row_limit: int | None = None,
    discover: Discover | None = None,
) -> CompiledQuery:
    """compile_kql, optionally with an outermost LIMIT (run_kql fetches row_cap + 1 rows)."""
    if dialect not in FLAVORS:
        raise KqlError(f"unknown SQL dialect '{dialect}'")
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    script = parse(text)
    ctx = Context(text, FLAVORS[dialect](), TABLES if schema is None else schema, now, tenant_id, timespan)
    ctx.discover = discover
    lowerer = TabularLowerer(ctx)
    try:
        relation = lowerer.script(script, Env())
    except RecursionError:
        raise KqlError("the query is nested too deeply") from None
    query = relation.query
    if isinstance(query, exp.Select) and any(isinstance(e, exp.Star) for e in query.expressions):
        query.set("expressions", [exp.column(n, quoted=True) for n in relation.names])  # a bare table
    if row_limit is not None:
        if isinstance(query, exp.Select) and query.args.get("limit") is None:
            query = query.limit(row_limit, copy=False)
        else:
            names = [name for name, _ in relation.columns]
            outer = exp.select(*(exp.column(n, quoted=True) for n in names)).from_(
                query.subquery("_limited", copy=False), copy=False
            )
            for ordered in relation.order:
                outer = outer.order_by(ordered.copy(), copy=False)
            query = outer.limit(row_limit, copy=False)
    sql = to_sql(query, ctx.flavor)
    return CompiledQuery(sql, tuple(relation.columns), lowerer.render, tuple(ctx.tables_read))
