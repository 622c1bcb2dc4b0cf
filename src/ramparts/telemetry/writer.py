"""Batches telemetry rows per table and writes them as Arrow tables.

Rows wait in memory until a batch fills or flush() is called; callbacks registered with a row run
only after the batch holding it is committed, which is how the spool knows a message's telemetry
is durable before it forgets the message.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from ramparts.telemetry.ddl import arrow_schema
from ramparts.telemetry.schema import TABLES
from ramparts.telemetry.store import TelemetryStore

Row = Mapping[str, Any]
LatestUpdate = tuple[str, str, str, str, dt.datetime | None]
"""(network message id, recipient, LatestDeliveryLocation, LatestDeliveryAction, the copy's received
time = its EmailEvents Timestamp, when known: lets the store skip older row groups)."""


class TelemetryWriter:
    def __init__(
        self, store: TelemetryStore, *, max_rows: int = 5000, barrier: Callable[[], None] | None = None
    ) -> None:
        """barrier runs after a batch is committed and before its callbacks: the services pass a sync of
        the data directories' filesystems (services.disk_barrier), so the Maildir files and blobs written
        without an fsync each are on disk before the spool lets go."""
        self.store = store
        self.barrier = barrier
        self.max_rows = max_rows
        self._pending: dict[str, list[Row]] = {name: [] for name in TABLES}
        self._callbacks: list[Callable[[], None]] = []
        self._latest: dict[tuple[str, str], tuple[str, str, dt.datetime | None]] = {}
        """(network message id, recipient) -> (LatestDeliveryLocation, LatestDeliveryAction, received)."""
        self._count = 0
        self._lock = threading.Lock()
        """Guards the pending buffers only, so add() never waits for a DuckDB append."""
        self._flush_lock = threading.Lock()
        """Serialises flushes, so batches are committed (and their callbacks run) in order."""
        self._schemas = {name: arrow_schema(table) for name, table in TABLES.items()}
        self.rows_written = 0

    def add(self, rows: Mapping[str, Sequence[Row]], on_commit: Callable[[], None] | None = None) -> None:
        """Queue rows for several tables at once; flush when the batch is full."""
        with self._lock:
            for table, table_rows in rows.items():
                self._pending[table].extend(table_rows)
                self._count += len(table_rows)
            if on_commit is not None:
                self._callbacks.append(on_commit)
            full = self._count >= self.max_rows
        if full:
            self.flush()

    def update_latest(self, updates: Sequence[LatestUpdate]) -> None:
        """Queue changes of EmailEvents' Latest* columns, as (network message id, recipient, location,
        action); the next flush applies them after appending its rows, so a copy's delivery row still
        waiting here is updated too. For one copy the last change queued wins."""
        with self._lock:
            for nmid, recipient, location, action, received in updates:
                self._latest[(nmid, recipient.lower())] = (location, action, received)
            full = len(self._latest) >= self.max_rows
        if full:
            self.flush()

    def _arrow(self, table: str, rows: list[Row]) -> pa.Table:
        """Column lists built in one pass per column (faster than pa.Table.from_pylist on wide rows)."""
        schema = self._schemas[table]
        return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in schema.names}, schema=schema)

    @property
    def pending(self) -> int:
        return self._count + len(self._latest)

    def flush(self) -> int:
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {name: [] for name in TABLES}
                callbacks, self._callbacks = self._callbacks, []
                latest, self._latest = self._latest, {}
                count, self._count = self._count, 0
            for table, rows in pending.items():
                if rows:
                    self.store.append(table, self._arrow(table, rows))
            if latest:
                self._apply_latest([(n, r, loc, act, at) for (n, r), (loc, act, at) in latest.items()])
            self.rows_written += count
            if callbacks and self.barrier is not None:
                self.barrier()
            for callback in callbacks:
                callback()
        return count

    def _apply_latest(self, updates: list[LatestUpdate]) -> None:
        many = getattr(self.store, "update_latest_many", None)
        if many is not None:
            many(updates)
        else:
            for nmid, recipient, location, action, _ in updates:
                self.store.update_latest(nmid, recipient, location, action)
