from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from ramparts.store.all_models import Base
from ramparts.store.db import checkpoint_in_background, open_control_plane
from ramparts.store.models import AcceptedDomain, Tenant


def _check_round_trip(url: str) -> None:
    sessions = open_control_plane(url)
    engine = sessions.kw["bind"]
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    stamp = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with sessions.begin() as session:
        tenant = Tenant(name="contoso", created_at=stamp)
        session.add(tenant)
        session.flush()
        session.add(AcceptedDomain(domain="contoso.com", tenant_id=tenant.id))
    with sessions() as session:
        loaded = session.scalar(select(Tenant).where(Tenant.name == "contoso"))
        assert loaded is not None
        assert loaded.created_at == stamp
        assert loaded.created_at.tzinfo is not None
    again = open_control_plane(url)  # migrating again is a no-op
    again.kw["bind"].dispose()
    engine.dispose()


def test_sqlite_migrates_and_keeps_utc(tmp_path: Path) -> None:
    _check_round_trip(f"sqlite:///{tmp_path / 'control.sqlite3'}")


def test_postgresql_migrates_with_the_same_models(postgres_url: str) -> None:
    _check_round_trip(postgres_url)


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    sessions = open_control_plane(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    session = sessions()
    session.add(Tenant(name="x", created_at=dt.datetime(2024, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()
    session.close()
    sessions.kw["bind"].dispose()


def test_commits_leave_the_wal_to_the_background_checkpoint(tmp_path: Path) -> None:
    sessions = open_control_plane(f"sqlite:///{tmp_path / 'control.sqlite3'}")
    engine = sessions.kw["bind"]
    checkpoint = checkpoint_in_background(engine)
    assert checkpoint is not None
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    for number in range(300):  # well over the 1,000-page default threshold in WAL frames
        with sessions.begin() as session:
            session.add(Tenant(name=f"t{number}", display_name="x" * 4000))
    with engine.connect() as connection:
        _busy, frames, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert frames > 1000 and copied == frames  # nothing had copied them: commits no longer checkpoint
    checkpoint()
    engine.dispose()


def test_only_sqlite_needs_a_background_checkpoint(postgres_url: str) -> None:
    sessions = open_control_plane(postgres_url)
    try:
        assert checkpoint_in_background(sessions.kw["bind"]) is None
    finally:
        sessions.kw["bind"].dispose()


def _schema_drift(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    sessions = open_control_plane(url)
    engine = sessions.kw["bind"]
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_models_on_sqlite(tmp_path: Path) -> None:
    assert _schema_drift(f"sqlite:///{tmp_path / 'control.sqlite3'}") == []


def test_the_migrations_build_exactly_the_models_on_postgresql(postgres_url: str) -> None:
    assert _schema_drift(postgres_url) == []
