"""The applier in its own process (as `ramparts serve` runs it): it applies what is pending, the
server's process writes the telemetry it reports, and a killed child is restarted and goes on."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from sqlalchemy import func, select

from ramparts.store.models import MessageCopy, QuarantineRecord
from ramparts.vendors.applier import background_applier, register_background
from ramparts.vendors.applier_process import ApplierProcess
from ramparts.vendors.models import VerdictIntake
from ramparts.vendors.outbox import OutboxDrain
from tests.vendors.support import World, submission
from tests.vendors.test_applier import ALICE, _accept

BOB = "bob@contoso.example"


def _eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _status(world: World, intake_id: str) -> str:
    with world.services.sessions() as session:
        return str(session.scalar(select(VerdictIntake.status).where(VerdictIntake.id == intake_id)))


def test_the_child_applies_and_this_process_writes_the_telemetry(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    nmid = world.deliver("Applied elsewhere", ALICE)
    (intake_id,) = _accept(world, submission(nmid, "Phishing", "p-1"))
    handle = ApplierProcess(world.services)
    handle.start()
    register_background(world.services, handle)
    assert background_applier(world.services) is handle
    assert handle.pid is not None and handle.pid != os.getpid()

    _eventually(lambda: _status(world, intake_id) == "completed")
    with world.services.sessions() as session:
        copy = session.get(MessageCopy, (nmid, ALICE))
    assert copy is not None and copy.latest_location == "Quarantine"
    assert world.mailbox.locate(ALICE, nmid) is None
    _eventually(lambda: handle.idle)
    drain = OutboxDrain(world.services)
    assert drain.drain() == 1
    rows = world.sql(
        'SELECT "ActionTrigger", "ActionResult", "DeliveryLocation" FROM "EmailPostDeliveryEvents" '
        'WHERE "NetworkMessageId" = ?',
        nmid,
    )
    assert [tuple(r) for r in rows] == [("ThirdParty", "Success", "Quarantine")]
    latest = world.sql('SELECT "LatestDeliveryLocation" FROM "EmailEvents" WHERE "NetworkMessageId" = ?', nmid)
    assert [tuple(r) for r in latest] == [("Quarantine",)]

    process = handle._process
    handle.stop()
    assert process is not None and process.returncode == 0


def test_a_killed_child_is_restarted_and_applies_what_came_after(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    first, second = world.deliver("Before the crash", ALICE), world.deliver("After the crash", BOB)
    handle = ApplierProcess(world.services, restart_delay=0.1)
    handle.start()
    try:
        (done,) = _accept(world, submission(first, "Phishing", "k-1"))
        handle.wake()
        _eventually(lambda: _status(world, done) == "completed")
        killed = handle.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        _eventually(lambda: handle.starts == 2 and handle.pid != killed)
        (later,) = _accept(world, submission(second, "Phishing", "k-2"))
        handle.wake()
        _eventually(lambda: _status(world, later) == "completed")
        with world.services.sessions() as session:
            copy = session.get(MessageCopy, (second, BOB))
        assert copy is not None and copy.latest_location == "Quarantine"
    finally:
        handle.stop()


def test_a_child_killed_in_the_middle_of_a_batch_loses_nothing_and_acts_once(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    users = ["alice", "bob", "carol"]
    nmids = [world.deliver(f"Batch {n}", *(f"{u}@contoso.example" for u in users)) for n in range(120)]
    ids = _accept(world, *(submission(nmid, "Phishing", f"m-{n}") for n, nmid in enumerate(nmids)))
    trash = world.services.settings.mail_dir / ".trash"
    handle = ApplierProcess(world.services, restart_delay=0.1)
    handle.start()
    try:
        first = handle.pid
        assert first is not None
        # Freeze the child once it has moved files but (as the intake rows show) not committed them.
        _eventually(lambda: trash.is_dir() and any(trash.iterdir()), timeout=30)
        os.kill(first, signal.SIGSTOP)
        assert sum(_status(world, i) == "pending" for i in ids) == len(ids), "the batch committed before the kill"
        os.kill(first, signal.SIGKILL)
        _eventually(lambda: all(_status(world, i) == "completed" for i in ids))
        assert handle.starts == 2
    finally:
        handle.stop()
    with world.services.sessions() as session:
        locations = session.scalars(
            select(MessageCopy.latest_location).where(MessageCopy.network_message_id.in_(nmids))
        )
        assert set(locations) == {"Quarantine"}
        held = session.scalar(
            select(func.count()).select_from(QuarantineRecord).where(QuarantineRecord.network_message_id.in_(nmids))
        )
    assert held == len(nmids) * len(users)
    assert OutboxDrain(world.services).drain() >= 1
    counts = world.sql(
        'SELECT count(*), count(DISTINCT "ReportId") FROM "EmailPostDeliveryEvents" WHERE "ActionResult" = ?', "Success"
    )
    assert tuple(counts[0]) == (len(nmids) * len(users),) * 2
