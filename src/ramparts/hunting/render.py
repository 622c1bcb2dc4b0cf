"""A lowered query tree -> SQL text for one engine (parentheses, ClickHouse settings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from ramparts.hunting.dialects import Flavor, lit
from ramparts.hunting.prune import descendants, prune

# Runs one SQL query on the engine the query is compiled for and returns its rows. The compiler
# calls it for plugins whose output columns depend on the data (evaluate bag_unpack, pivot).
Discover = Callable[[str], list[tuple[Any, ...]]]

# ClickHouse settings that make its SQL follow standard semantics the lowering relies on:
# outer joins yield NULL (not type defaults) for missing rows; a column name wins over an alias
# of the same name in the same SELECT.
CLICKHOUSE_SETTINGS: Mapping[str, int] = {"join_use_nulls": 1, "prefer_column_name_to_alias": 1}


def parenthesize(query: exp.Query) -> exp.Query:
    """Lowering nests operator nodes freely; sqlglot prints them without adding parentheses, so
    every operator operand that is itself an operator is wrapped (a - b) // c."""
    for node in descendants(query):
        if isinstance(node, exp.Binary) and not isinstance(node, exp.Dot | exp.PropertyEQ):
            for key in ("this", "expression"):
                child = node.args.get(key)
                if isinstance(child, exp.Binary) and not isinstance(child, exp.Dot):
                    node.set(key, exp.Paren(this=child))
    return query


# one instance per dialect name: sqlglot's `Expr.sql(dialect=...)` builds a new Dialect per call
_DIALECTS: dict[str, Dialect] = {}


def to_sql(query: exp.Query, flavor: Flavor) -> str:
    """The SQL text of a query tree (the tree is changed in place: pass a copy to keep it)."""
    query = parenthesize(prune(query))
    if flavor.name == "clickhouse":
        settings = [exp.EQ(this=exp.var(k), expression=lit(v)) for k, v in CLICKHOUSE_SETTINGS.items()]
        if not isinstance(query, exp.Select):
            query = exp.select(exp.Star()).from_(query.subquery("_q", copy=False), copy=False)
        query.set("settings", settings)
    dialect = _DIALECTS.get(flavor.DIALECT)
    if dialect is None:
        dialect = _DIALECTS[flavor.DIALECT] = Dialect.get_or_raise(flavor.DIALECT)
    # copy=False: the tree is ours and thrown away; sqlglot's default copies all of it first
    return dialect.generate(query, copy=False)
