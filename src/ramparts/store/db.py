"""Opening the control-plane database and bringing its schema to the newest Alembic revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint_in_background(engine: Engine) -> Callable[[], None] | None:
    """SQLite: stop commits from checkpointing the WAL themselves and return the checkpoint to run
    periodically instead (None for other databases).

    By default the commit that finds the WAL over 1,000 pages copies it into the database and fsyncs
    it, while the writer still holds the write lock; under steady traffic, with readers keeping the WAL
    from being reset, that is nearly every commit: ~10 ms added to a one-row insert, paid by whichever
    request came next. A PASSIVE checkpoint from a background thread waits for no reader or writer."""
    if engine.dialect.name != "sqlite":
        return None
    event.listen(engine, "connect", _no_autocheckpoint)
    engine.dispose()  # connections opened before follow the new rule too

    def checkpoint() -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    return checkpoint


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Apply every migration not yet applied; safe to call at each start."""
    command.upgrade(alembic_config(engine), "head")


def open_control_plane(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
