"""The telemetry outbox between the applier process and the server (see models.TelemetryOutbox).

The applier writes one row per batch inside the batch's transaction; the server's periodic flush
moves the rows into the telemetry store, flushes it, and only then deletes them. A server killed
between its flush and the delete writes the same rows again at its next start: the first drain of a
process therefore skips EmailPostDeliveryEvents rows whose ReportId (fixed by the verdict record and
the copy) the store already holds; Latest* changes are the same when applied twice.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ramparts.delivery.zap import RemediationResult, telemetry_of
from ramparts.services import Services
from ramparts.store.base import table_of
from ramparts.telemetry.rows import Row
from ramparts.telemetry.writer import LatestUpdate
from ramparts.vendors.models import TelemetryOutbox
from ramparts.vendors.writelock import write_lock

DRAIN_ROWS = 50
"""Outbox rows (batches) moved per drain."""
_OUTBOX = table_of(TelemetryOutbox)
_PDE = "EmailPostDeliveryEvents"
_DATETIME = "$datetime"


def _default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _object_hook(value: dict[str, Any]) -> object:
    if len(value) == 1 and _DATETIME in value:
        return dt.datetime.fromisoformat(value[_DATETIME])
    return value


def encode(rows: Sequence[Row], latest: Sequence[LatestUpdate]) -> str:
    return json.dumps({"rows": {_PDE: list(rows)}, "latest": list(latest)}, default=_default)


def decode(payload: str) -> tuple[dict[str, list[Row]], list[LatestUpdate]]:
    body = json.loads(payload, object_hook=_object_hook)
    return body["rows"], [(n, r, loc, act, at) for n, r, loc, act, at in body["latest"]]


def payload_of(results: Sequence[RemediationResult]) -> str | None:
    """A batch's telemetry as an outbox payload (None when it has none); encode it before taking the
    write lock, write() inserts it under the lock."""
    rows, latest = telemetry_of(results)
    return encode(rows, latest) if rows or latest else None


def write(session: Session, payload: str | None, now: dt.datetime) -> None:
    """Add a payload_of() to the outbox, in the caller's transaction."""
    if payload is not None:
        session.execute(insert(_OUTBOX), {"created_at": now, "payload": payload})


class OutboxDrain:
    """Moves outbox rows into this process's telemetry writer (the server's)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.moved = 0
        self._first = True
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Move every outbox row present now; returns how many batches."""
        total = 0
        while count := self._drain_some():
            total += count
        return total

    def _drain_some(self) -> int:
        with self._lock:
            with self.services.sessions() as session:
                found = session.execute(
                    select(_OUTBOX.c.id, _OUTBOX.c.payload).order_by(_OUTBOX.c.id).limit(DRAIN_ROWS)
                ).all()
            if not found:
                self._first = False
                return 0
            tables: dict[str, list[Row]] = {}
            changes: list[LatestUpdate] = []
            for _, payload in found:
                rows, latest = decode(payload)
                for table, table_rows in rows.items():
                    tables.setdefault(table, []).extend(table_rows)
                changes.extend(latest)
            if self._first and tables.get(_PDE):
                tables[_PDE] = self._not_yet_written(tables[_PDE])
            writer = self.services.writer
            writer.add({t: r for t, r in tables.items() if r})
            writer.update_latest(changes)
            writer.flush()
            last = found[-1][0]
            with write_lock(self.services), self.services.sessions.begin() as session:
                session.execute(delete(_OUTBOX).where(_OUTBOX.c.id <= last))
            self.moved += len(found)
            return len(found)

    def _not_yet_written(self, rows: list[Row]) -> list[Row]:
        """The rows a previous process did not write before it died (only the first drain looks)."""
        ids = sorted({str(r["ReportId"]) for r in rows})
        written: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            _, found = self.services.telemetry.query(
                f'SELECT "ReportId" FROM "{_PDE}" WHERE "ReportId" IN ({marks})', chunk
            )
            written.update(str(row[0]) for row in found)
        return [r for r in rows if str(r["ReportId"]) not in written]
