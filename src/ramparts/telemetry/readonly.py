"""Read-only SQL on the telemetry store, for `ramparts sql` and the admin API."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from ramparts.config import Settings
from ramparts.errors import InvalidInput
from ramparts.runtime import running_server
from ramparts.telemetry.duckdb_store import DuckDBStore

_READ_ONLY_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Describe, exp.Show)


def check_read_only(sql: str) -> None:
    """Refuse anything but a single query: writes, DDL, PRAGMA, COPY, ATTACH, file readers."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise InvalidInput(f"SQL syntax error: {exc.errors[0]['description'] if exc.errors else exc}") from None
    if len(statements) != 1 or statements[0] is None:
        raise InvalidInput("give exactly one SQL statement")
    statement = statements[0]
    if not isinstance(statement, _READ_ONLY_ROOTS):
        raise InvalidInput(f"only read-only queries are allowed, not {statement.key.upper()}")
    for node in statement.walk():
        if isinstance(node, exp.ReadCSV) or (
            isinstance(node, exp.Anonymous) and node.name.lower().startswith(("read_", "glob", "parquet_scan"))
        ):
            raise InvalidInput("reading files from SQL is not allowed")


def rows_as_dicts(columns: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def run_readonly_sql(settings: Settings, sql: str, *, row_cap: int = 100_000) -> tuple[list[str], list[dict[str, Any]]]:
    check_read_only(sql)
    server = running_server(settings.data_dir)
    if server is not None:
        from ramparts.local_client import LocalClient

        client = LocalClient(settings.data_dir, server.http)
        try:
            body = client.post("/api/sql", {"query": sql})
        finally:
            client.close()
        return list(body["columns"]), list(body["rows"])
    if not settings.telemetry_path.exists():
        raise InvalidInput(f"no telemetry store in {settings.data_dir}; run `ramparts demo` or `ramparts serve` first")
    store = DuckDBStore(settings.telemetry_path, read_only=True)
    try:
        columns, rows = store.query(sql, row_cap=row_cap)
    finally:
        store.close()
    return columns, rows_as_dicts(columns, rows)
