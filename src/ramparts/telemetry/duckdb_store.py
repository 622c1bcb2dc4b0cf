"""The embedded telemetry store: one DuckDB file, written by one process in Arrow batches."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ramparts.errors import InvalidInput
from ramparts.telemetry.ddl import create_tables_sql, quote
from ramparts.telemetry.schema import TABLES
from ramparts.telemetry.writer import LatestUpdate


class DuckDBStore:
    dialect = "duckdb"

    def __init__(self, path: Path | str, *, read_only: bool = False, memory_limit: str = "") -> None:
        self.path = str(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        self.connection = duckdb.connect(self.path, read_only=read_only)
        if not read_only:
            for statement in create_tables_sql("duckdb"):
                self.connection.execute(statement)
        self.connection.execute("SET enable_external_access = false")
        if memory_limit:
            self.connection.execute("SET memory_limit = ?", [memory_limit])
        if not read_only:
            _warm_arrow_scans(self.connection)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for a reader thread (DuckDB connections are not shared across threads)."""
        return self.connection.cursor()

    def append(self, table: str, batch: pa.Table) -> None:
        if table not in TABLES:
            raise InvalidInput(f"unknown telemetry table {table!r}", field="table")
        if batch.num_rows == 0:
            return
        with self._lock:
            cursor = self.connection.cursor()
            try:
                cursor.register("_incoming", batch)
                cursor.execute(f"INSERT INTO {quote(table)} BY NAME SELECT * FROM _incoming")
            finally:
                cursor.unregister("_incoming")
                cursor.close()

    def update_latest(self, network_message_id: str, recipient: str, location: str, action: str) -> None:
        with self._lock:
            self.connection.execute(
                'UPDATE "EmailEvents" SET "LatestDeliveryLocation" = ?, "LatestDeliveryAction" = ? '
                'WHERE "NetworkMessageId" = ? AND lower("RecipientEmailAddress") = lower(?)',
                [location, action, network_message_id, recipient],
            )

    def update_latest_many(self, updates: Sequence[LatestUpdate]) -> None:
        """update_latest for many copies at once: one join. When every update knows its copy's received
        time (EmailEvents.Timestamp), the oldest bounds the scan, so DuckDB skips older row groups by
        their min/max: a flush of recent moves reads the newest days, not the whole table."""
        if not updates:
            return
        batch = pa.table(
            {
                "nmid": [u[0] for u in updates],
                "rcpt": [u[1].lower() for u in updates],
                "loc": [u[2] for u in updates],
                "act": [u[3] for u in updates],
            }
        )
        received = [u[4] for u in updates]
        since = None if any(r is None for r in received) else min(r for r in received if r is not None)
        bound = ' AND "EmailEvents"."Timestamp" >= ?' if since is not None else ""
        with self._lock:
            cursor = self.connection.cursor()
            try:
                cursor.register("_latest", batch)
                cursor.execute(
                    'UPDATE "EmailEvents" SET "LatestDeliveryLocation" = _latest.loc, '
                    '"LatestDeliveryAction" = _latest.act '
                    'FROM _latest WHERE "EmailEvents"."NetworkMessageId" = _latest.nmid '
                    'AND lower("EmailEvents"."RecipientEmailAddress") = _latest.rcpt' + bound,
                    [since] if since is not None else [],
                )
            finally:
                cursor.unregister("_latest")
                cursor.close()

    def has_rows(self, table: str, network_message_id: str) -> bool:
        cursor = self.connection.cursor()
        try:
            row = cursor.execute(
                f'SELECT 1 FROM {quote(table)} WHERE "NetworkMessageId" = ? LIMIT 1', [network_message_id]
            ).fetchone()
        finally:
            cursor.close()
        return row is not None

    def query(
        self, sql: str, params: Sequence[Any] = (), row_cap: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.connection.cursor()
        try:
            result = cursor.execute(sql, list(params))
            names = [d[0] for d in result.description or []]
            rows = result.fetchmany(row_cap) if row_cap is not None else result.fetchall()
        finally:
            cursor.close()
        return names, rows

    def close(self) -> None:
        self.connection.close()


def _warm_arrow_scans(connection: duckdb.DuckDBPyConnection) -> None:
    """Scan a one-row Arrow table now: DuckDB imports pandas at the first Arrow scan (~0.2-1 s holding
    the GIL), which would otherwise stall the requests in flight at the first telemetry flush."""
    cursor = connection.cursor()
    try:
        cursor.register("_warm", pa.table({"x": [1]}))
        cursor.execute("SELECT count(*) FROM _warm").fetchall()
        cursor.unregister("_warm")
    finally:
        cursor.close()
