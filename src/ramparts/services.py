"""The long-lived objects of one ramparts process, built once from Settings and passed to every edge."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field

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

    def close(self) -> None:
        self.writer.flush()
        self.telemetry.close()
        self.sessions.kw["bind"].dispose()


def open_telemetry(settings: Settings, *, read_only: bool = False) -> TelemetryStore:
    if settings.telemetry_backend == "duckdb":
        return DuckDBStore(settings.telemetry_path, read_only=read_only, memory_limit=settings.telemetry_memory_limit)
    from ramparts.errors import ConfigError

    raise ConfigError(f"unknown telemetry backend {settings.telemetry_backend!r}")


def open_services(settings: Settings, *, clock: Clock = utc_clock) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sessions = open_control_plane(settings.control_url)
    telemetry = open_telemetry(settings)
    return Services(
        settings=settings,
        sessions=sessions,
        telemetry=telemetry,
        writer=TelemetryWriter(telemetry, barrier=os.sync),
        blobs=BlobStore(settings.blob_dir),
        clock=clock,
    )
