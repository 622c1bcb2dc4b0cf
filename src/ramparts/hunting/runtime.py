"""Running compiled KQL on an engine: backends with a row cap and a time budget, and JSON-ready rows."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ramparts.errors import KqlError
from ramparts.hunting.compiler import Dialect, compile_with_limit
from ramparts.hunting.functions_series import register_chdb, register_duckdb
from ramparts.telemetry import ddl
from ramparts.telemetry.schema import Table

if TYPE_CHECKING:
    import duckdb


# At most this many rows from a plugin's column-discovery query (bag keys, pivot values).
DISCOVER_ROW_CAP = 10_000


class HuntingBackend(Protocol):
    dialect: Literal["duckdb", "clickhouse"]

    def execute(
        self, sql: str, row_cap: int, time_budget_s: float
    ) -> tuple[list[str], list[tuple[Any, ...]], bool]: ...


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[tuple[str, str], ...]
    rows: list[dict[str, Any]]
    render: str | None
    truncated: bool


class DuckDBBackend:
    dialect: Literal["duckdb", "clickhouse"] = "duckdb"

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        conn.execute("SET TimeZone = 'UTC'")
        register_duckdb(conn)

    def execute(self, sql: str, row_cap: int, time_budget_s: float) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        import duckdb

        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            self.conn.interrupt()

        timer = threading.Timer(time_budget_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            cursor = self.conn.execute(sql)
            names = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(row_cap + 1)
        except duckdb.InterruptException:
            raise KqlError(f"the query ran longer than its time budget of {time_budget_s:g} s") from None
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise KqlError(f"the query ran longer than its time budget of {time_budget_s:g} s") from None
            raise KqlError(f"the query failed in the engine: {exc}") from None
        finally:
            timer.cancel()
        return names, rows[:row_cap], len(rows) > row_cap


class ChdbBackend:
    dialect: Literal["duckdb", "clickhouse"] = "clickhouse"

    def __init__(self, session: Any) -> None:
        self.session = session
        register_chdb()

    def execute(self, sql: str, row_cap: int, time_budget_s: float) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        # Per-query limits go into the query's own SETTINGS clause (compile_kql always ends ClickHouse
        # SQL with one), so they do not stay on a shared session.
        limits = f"max_execution_time = {max(1, math.ceil(time_budget_s))}"
        sql = f"{sql}, {limits}" if " SETTINGS " in sql[-200:] else f"{sql} SETTINGS {limits}"
        try:
            table = self.session.query(sql, "ArrowTable")
        except Exception as exc:  # chdb raises plain RuntimeError for engine errors
            text = str(exc)
            if "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text:
                raise KqlError(f"the query ran longer than its time budget of {time_budget_s:g} s") from None
            raise KqlError(f"the query failed in the engine: {text.strip()[:2000]}") from None
        names = list(table.column_names)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        rows = list(zip(*columns, strict=True)) if columns else []
        return names, rows[:row_cap], len(rows) > row_cap


def duckdb_backend(conn: duckdb.DuckDBPyConnection) -> HuntingBackend:
    return DuckDBBackend(conn)


def chdb_backend(session: Any) -> HuntingBackend:
    return ChdbBackend(session)


def create_tables_sql(dialect: Dialect) -> list[str]:
    """CREATE TABLE statements for the hunting tables (the telemetry store uses the same ones)."""
    return ddl.create_tables_sql(dialect)


# ------------------------------------------------------------------ values


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_timespan(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    seconds, fraction = divmod(micros, 1_000_000)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{fraction:06d}0" if fraction else "")


def convert_value(value: Any, kind: str) -> Any:
    if kind in ("string", "guid"):
        return "" if value is None else str(value)
    if value is None:
        return None
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        return str(value)
    if kind == "timespan":
        if isinstance(value, dt.timedelta):
            value = value // dt.timedelta(microseconds=1)
        return format_timespan(int(value))
    if kind == "dynamic":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if kind in ("long", "int"):
        return int(value)
    if kind == "real":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value


def run_kql(
    text: str,
    *,
    backend: HuntingBackend,
    now: dt.datetime | None = None,
    tenant_id: str | None = None,
    timespan: tuple[dt.datetime, dt.datetime] | None = None,
    row_cap: int = 100_000,
    time_budget_s: float = 30.0,
    schema: Mapping[str, Table] | None = None,
) -> QueryResult:
    compiled = compile_with_limit(
        text,
        dialect=backend.dialect,
        schema=schema,
        now=now,
        tenant_id=tenant_id,
        timespan=timespan,
        row_limit=row_cap + 1,
        discover=lambda sql: backend.execute(sql, DISCOVER_ROW_CAP, time_budget_s)[1],
    )
    _, rows, truncated = backend.execute(compiled.sql, row_cap, time_budget_s)
    names = [name for name, _ in compiled.columns]
    kinds = [kind for _, kind in compiled.columns]
    out = [{name: convert_value(v, kind) for name, kind, v in zip(names, kinds, row, strict=True)} for row in rows]
    return QueryResult(compiled.columns, out, compiled.render, truncated)
