"""The long-lived objects of one ramparts process, built once from Settings and passed to every edge."""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from ramparts.config import Settings
from ramparts.store.blobs import BlobStore
from ramparts.store.db import open_control_plane
from ramparts.telemetry.duckdb_store import DuckDBStore
from ramparts.telemetry.store import TelemetryStore
from ramparts.telemetry.writer import TelemetryWriter

Clock = Callable[[], dt.datetime]


def utc_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    telemetry: TelemetryStore
    writer: TelemetryWriter
    blobs: BlobStore
    clock: Clock = utc_clock
    extras: dict[str, object] = field(default_factory=dict)
    on_close: list[Callable[[], object]] = field(default_factory=list)
    """Stops background workers (e.g. the vendor verdict applier) before the stores close."""

    def close(self) -> None:
        for stop in self.on_close:
            stop()
        self.writer.flush()
        self.telemetry.close()
        self.sessions.kw["bind"].dispose()


class TelemetryElsewhere:
    """The telemetry store of a helper process (the vendor verdict applier): DuckDB admits one writing
    process, the server, so a helper hands its telemetry to the server instead of writing it."""

    dialect = "none"

    def _refuse(self) -> NoReturn:
        raise RuntimeError("this process does not own the telemetry store; the server writes telemetry")

    def append(self, table: str, batch: pa.Table) -> None:
        self._refuse()

    def update_latest(self, network_message_id: str, recipient: str, location: str, action: str) -> None:
        self._refuse()

    def has_rows(self, table: str, network_message_id: str) -> bool:
        self._refuse()

    def query(
        self, sql: str, params: Sequence[Any] = (), row_cap: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        self._refuse()

    def close(self) -> None:
        pass


def open_telemetry(settings: Settings, *, read_only: bool = False) -> TelemetryStore:
    if settings.telemetry_backend == "duckdb":
        return DuckDBStore(settings.telemetry_path, read_only=read_only, memory_limit=settings.telemetry_memory_limit)
    from ramparts.errors import ConfigError

    raise ConfigError(f"unknown telemetry backend {settings.telemetry_backend!r}")


def disk_barrier(paths: list[Path]) -> Callable[[], None]:
    """Syncs only the filesystems holding `paths` (syncfs(2)), not every disk of the machine as
    os.sync does; falls back to os.sync where syncfs is not available."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    syncfs = getattr(libc, "syncfs", None)
    if syncfs is None:
        return os.sync
    devices: dict[int, Path] = {}
    for path in paths:
        while not path.exists() and path != path.parent:  # not made yet: its filesystem is its parent's
            path = path.parent
        devices.setdefault(path.stat().st_dev, path)

    def barrier() -> None:
        for path in devices.values():
            fd = os.open(path, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    os.sync()
            finally:
                os.close(fd)

    return barrier


def open_services(settings: Settings, *, clock: Clock = utc_clock, telemetry_here: bool = True) -> Services:
    """telemetry_here=False: for a helper process of the server (see TelemetryElsewhere)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sessions = open_control_plane(settings.control_url)
    telemetry: TelemetryStore = open_telemetry(settings) if telemetry_here else TelemetryElsewhere()
    return Services(
        settings=settings,
        sessions=sessions,
        telemetry=telemetry,
        writer=TelemetryWriter(
            telemetry,
            barrier=disk_barrier([settings.data_dir, settings.mail_dir, settings.blob_dir, settings.spool_dir]),
        ),
        blobs=BlobStore(settings.blob_dir),
        clock=clock,
    )
