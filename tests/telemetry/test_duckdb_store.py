from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from ramparts.errors import InvalidInput
from ramparts.telemetry.ddl import arrow_schema, create_table_sql
from ramparts.telemetry.duckdb_store import DuckDBStore
from ramparts.telemetry.schema import EMAIL_EVENTS, TABLES
from ramparts.telemetry.writer import TelemetryWriter

WHEN = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


def test_tables_have_the_schema_columns_in_order(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    for name, table in TABLES.items():
        columns, _ = store.query(f'SELECT * FROM "{name}" LIMIT 0')
        assert tuple(columns) == table.column_names
        assert columns[-1] == "TenantId"
    store.close()


def test_writer_batches_and_calls_back_after_commit(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    barrier_calls: list[str] = []
    writer = TelemetryWriter(store, max_rows=3, barrier=lambda: barrier_calls.append("sync"))
    committed: list[int] = []
    writer.add(
        {"EmailEvents": [{"Timestamp": WHEN, "NetworkMessageId": "m1", "RecipientEmailAddress": "a@x.com"}]},
        on_commit=lambda: committed.append(1),
    )
    assert committed == []
    assert store.query('SELECT count(*) FROM "EmailEvents"')[1] == [(0,)]
    writer.add(
        {
            "EmailEvents": [{"Timestamp": WHEN, "NetworkMessageId": "m2", "RecipientEmailAddress": "b@x.com"}],
            "EmailUrlInfo": [
                {"Timestamp": WHEN, "NetworkMessageId": "m2", "Url": "https://x.com", "UrlChainPosition": 0}
            ],
        },
        on_commit=lambda: committed.append(2),
    )
    assert committed == [1, 2]
    assert barrier_calls == ["sync"]
    assert store.query('SELECT count(*) FROM "EmailEvents"')[1] == [(2,)]
    assert store.has_rows("EmailUrlInfo", "m2") and not store.has_rows("EmailUrlInfo", "m1")
    store.update_latest("m1", "A@X.com", "Quarantine", "Quarantined")
    assert store.query(
        'SELECT "LatestDeliveryLocation", "LatestDeliveryAction" FROM "EmailEvents" WHERE "NetworkMessageId" = ?',
        ["m1"],
    )[1] == [("Quarantine", "Quarantined")]
    store.close()


def test_append_is_all_or_nothing_and_refuses_unknown_tables(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "t.duckdb")
    with pytest.raises(InvalidInput):
        store.append("Nope", pa.table({"a": [1]}))
    bad = pa.Table.from_pylist([{"Timestamp": WHEN, "NetworkMessageId": "m"}], schema=arrow_schema(EMAIL_EVENTS))
    store.append("EmailEvents", bad)
    assert store.query('SELECT count(*) FROM "EmailEvents"')[1] == [(1,)]
    store.close()


def test_read_only_store_cannot_write(tmp_path: Path) -> None:
    DuckDBStore(tmp_path / "t.duckdb").close()
    reader = DuckDBStore(tmp_path / "t.duckdb", read_only=True)
    with pytest.raises(Exception, match="read-only"):
        reader.query('DELETE FROM "EmailEvents"')
    reader.close()


def test_clickhouse_ddl_is_nullable_mergetree() -> None:
    sql = create_table_sql(EMAIL_EVENTS, "clickhouse")
    assert "ENGINE = MergeTree" in sql
    assert "\"Timestamp\" Nullable(DateTime64(6, 'UTC'))" in sql


def test_writer_applies_latest_changes_after_the_rows_it_holds(tmp_path: Path) -> None:
    """A Latest* change queued before the copy's delivery row was written still lands on that row,
    and for one copy the last change queued wins."""
    store = DuckDBStore(tmp_path / "t.duckdb")
    writer = TelemetryWriter(store, max_rows=1000)
    writer.add({"EmailEvents": [{"Timestamp": WHEN, "NetworkMessageId": "m1", "RecipientEmailAddress": "A@x.com"}]})
    writer.update_latest([("m1", "a@X.com", "Junk folder", "Moved to junk folder", None)])
    writer.update_latest(
        [("m1", "A@x.com", "Quarantine", "Quarantined", None), ("m9", "z@x.com", "Junk folder", "x", None)]
    )
    assert writer.pending == 3
    assert store.query('SELECT count(*) FROM "EmailEvents"')[1] == [(0,)]
    writer.flush()
    assert writer.pending == 0
    assert store.query('SELECT "LatestDeliveryLocation", "LatestDeliveryAction" FROM "EmailEvents"')[1] == [
        ("Quarantine", "Quarantined")
    ]
    store.close()


def test_latest_changes_with_received_times_reach_rows_at_or_after_the_oldest(tmp_path: Path) -> None:
    """The received times bound the scan (Timestamp >= the oldest); rows they name are all inside it."""
    store = DuckDBStore(tmp_path / "t.duckdb")
    writer = TelemetryWriter(store, max_rows=1000)
    days = [WHEN + dt.timedelta(days=d) for d in range(3)]
    writer.add(
        {
            "EmailEvents": [
                {"Timestamp": day, "NetworkMessageId": f"m{d}", "RecipientEmailAddress": "a@x.com"}
                for d, day in enumerate(days)
            ]
        }
    )
    writer.flush()
    writer.update_latest([("m1", "a@x.com", "Quarantine", "Quarantined", days[1])])
    writer.update_latest([("m2", "A@x.com", "Junk folder", "Moved to junk folder", days[2])])
    writer.flush()
    rows = store.query('SELECT "NetworkMessageId", "LatestDeliveryLocation" FROM "EmailEvents" ORDER BY 1')[1]
    assert rows == [("m0", None), ("m1", "Quarantine"), ("m2", "Junk folder")]
    writer.update_latest(
        [("m0", "a@x.com", "Deleted items", "Soft delete", None), ("m2", "a@x.com", "x", "y", days[2])]
    )
    writer.flush()  # one update without a received time: no bound, the whole table is read
    rows = store.query('SELECT "NetworkMessageId", "LatestDeliveryLocation" FROM "EmailEvents" ORDER BY 1')[1]
    assert rows == [("m0", "Deleted items"), ("m1", "Quarantine"), ("m2", "x")]
    store.close()
