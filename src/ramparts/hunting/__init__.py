"""Advanced hunting: KQL compiled to SQL for DuckDB and ClickHouse, and run with a row cap and a
time budget.

    text -> lexer.tokenize -> parser.parse (ast) -> lower_tabular / lower_scalar (names and types
    resolved through binder, functions from functions*.py, aggregates.py) -> sqlglot tree -> SQL
"""

from __future__ import annotations

from ramparts.hunting.catalog import (
    refused_functions,
    supported_aggregates,
    supported_functions,
    supported_operators,
    supported_plugins,
    supported_scalar_operators,
    supported_sources,
)
from ramparts.hunting.compiler import CompiledQuery, Discover, compile_kql
from ramparts.hunting.runtime import (
    HuntingBackend,
    QueryResult,
    chdb_backend,
    create_tables_sql,
    duckdb_backend,
    run_kql,
)

__all__ = [
    "CompiledQuery",
    "Discover",
    "HuntingBackend",
    "QueryResult",
    "chdb_backend",
    "compile_kql",
    "create_tables_sql",
    "duckdb_backend",
    "refused_functions",
    "run_kql",
    "supported_aggregates",
    "supported_functions",
    "supported_operators",
    "supported_plugins",
    "supported_scalar_operators",
    "supported_sources",
]
