"""The applier process's telemetry reaches the server's store through the outbox table: written in
the batch's transaction, moved by the server, never lost and never written twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ramparts.vendors.applier import Applier
from ramparts.vendors.models import TelemetryOutbox
from ramparts.vendors.outbox import OutboxDrain, decode, encode
from tests.vendors.support import World, submission
from tests.vendors.test_applier import ALICE, _accept

BOB = "bob@contoso.example"


def _outbox_rows(world: World) -> list[str]:
    with world.services.sessions() as session:
        return list(session.scalars(select(TelemetryOutbox.payload).order_by(TelemetryOutbox.id)))


def _pde_count(world: World, nmid: str) -> int:
    rows = world.sql('SELECT count(*) FROM "EmailPostDeliveryEvents" WHERE "NetworkMessageId" = ?', nmid)
    return int(rows[0][0])


def test_payload_round_trip_keeps_datetimes() -> None:
    stamp = dt.datetime(2026, 12, 5, 9, 30, 1, 250000, tzinfo=dt.UTC)
    rows = [{"Timestamp": stamp, "ReportId": "r-1", "ActionResult": "Success"}]
    latest = [("n-1", "alice@contoso.example", "Quarantine", "Quarantined", stamp)]
    assert decode(encode(rows, latest)) == ({"EmailPostDeliveryEvents": rows}, latest)


def test_a_batch_leaves_its_telemetry_in_the_outbox_until_the_server_moves_it(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    nmid = world.deliver("Through the outbox", ALICE)
    _accept(world, submission(nmid, "Phishing", "o-1"))
    assert Applier(world.services, to_outbox=True).drain() == 1
    assert len(_outbox_rows(world)) == 1
    assert _pde_count(world, nmid) == 0  # this process's writer got nothing directly

    assert OutboxDrain(world.services).drain() == 1
    assert _outbox_rows(world) == []
    assert _pde_count(world, nmid) == 1
    latest = world.sql('SELECT "LatestDeliveryLocation" FROM "EmailEvents" WHERE "NetworkMessageId" = ?', nmid)
    assert [tuple(r) for r in latest] == [("Quarantine",)]


def test_a_server_that_died_after_writing_but_before_deleting_writes_nothing_twice(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    first, second = world.deliver("Written before the crash", ALICE), world.deliver("Not yet written", BOB)
    _accept(world, submission(first, "Phishing", "c-1"))
    Applier(world.services, to_outbox=True).drain()
    (payload,) = _outbox_rows(world)
    rows, latest = decode(payload)
    world.services.writer.add(rows)  # what the dead server had flushed, without deleting the outbox row
    world.services.writer.update_latest(latest)
    world.services.writer.flush()
    _accept(world, submission(second, "Phishing", "c-2"))
    Applier(world.services, to_outbox=True).drain()

    restarted = OutboxDrain(world.services)  # the next server process
    assert restarted.drain() == 2
    assert (_pde_count(world, first), _pde_count(world, second)) == (1, 1)
    with world.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TelemetryOutbox)) == 0
