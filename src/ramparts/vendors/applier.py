"""The background half of the vendor API: applies accepted (pending) verdicts in arrival order, in
batches of up to BATCH, one transaction per batch that also marks the intake rows completed.

One Applier per data directory, one thread: batches never act on the same copy at once. `ramparts
serve` runs it in a process of its own (vendors.applier_process), so that applying never takes the
GIL from the requests; elsewhere (tests, tools) it runs as a thread of the calling process, started
with the first accepted verdict. Either way it first applies what a killed process left pending.
drain() applies everything pending in the caller's thread (tests, shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from ramparts.errors import Forbidden
from ramparts.services import Services
from ramparts.store.base import table_of
from ramparts.vendors.batch import Outcome, apply_batch
from ramparts.vendors.intake import VendorCaller, VerdictSubmission, load_caller
from ramparts.vendors.models import COMPLETED, NOT_FOUND, PENDING, VerdictIntake
from ramparts.vendors.writelock import write_lock

log = logging.getLogger(__name__)

BATCH = 1000
LINGER = 0.2
"""Seconds the thread waits after a partial batch: each batch costs a transaction, a database read of
the vendor's status and one directory sync per folder touched whatever its size, so a trickle of
single submits is applied in batches of tens, at most this much later (ZAP is not that urgent)."""
_KEY = "vendors.applier"
_PROCESS_KEY = "vendors.applier_process"
_INTAKE = table_of(VerdictIntake)
_MARK_APPLIED = update(_INTAKE).where(_INTAKE.c.seq == bindparam("row_seq"))
"""Core, not the ORM's bulk update: the batch path runs once per accepted verdict."""
_PENDING = (
    select(_INTAKE.c.seq, _INTAKE.c.id, _INTAKE.c.vendor_id, _INTAKE.c.client_id, _INTAKE.c.submission)
    .where(_INTAKE.c.status == PENDING)
    .order_by(_INTAKE.c.seq)
    .limit(BATCH)
)
"""Plain rows of the columns applying needs, oldest first."""


class BackgroundApplier(Protocol):
    """What the server and the API need of the applier, in a thread or in a process of its own."""

    @property
    def idle(self) -> bool: ...

    def wake(self) -> None: ...

    def stop(self) -> None: ...


class Applier:
    def __init__(
        self,
        services: Services,
        *,
        to_outbox: bool = False,
        on_idle_change: Callable[[bool], None] | None = None,
    ) -> None:
        """to_outbox: batches leave their telemetry in the outbox table (vendors.outbox) for the server."""
        self.services = services
        self.to_outbox = to_outbox
        self.on_idle_change = on_idle_change
        self.applied = 0
        self.idle = True
        """Nothing was pending at the thread's last look: a good time for housekeeping I/O (freeing the
        files of quarantined copies competes with the mailbox moves for the disk)."""
        self._lock = threading.Lock()
        """Held while a batch is applied (by the thread or by drain())."""
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wake(self) -> None:
        """New verdicts are pending: start the thread if needed and let it run."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(target=self._run, name="vendor-applier", daemon=True)
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread after its current batch; pending rows stay for the next start."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        reported = False
        while not self._stopping:
            try:
                count = self.apply_some()
                if self.idle != (count == 0) or not reported:
                    self.idle, reported = count == 0, True
                    if self.on_idle_change is not None:
                        self.on_idle_change(self.idle)
                if count == 0:
                    self._wake.wait(1.0)
                    self._wake.clear()
                elif count < BATCH:  # let a trickle of single submits gather: fewer, larger transactions
                    time.sleep(LINGER)
            except Exception:
                log.exception("applying vendor verdicts failed; retrying")
                self._wake.wait(1.0)
                self._wake.clear()

    def drain(self) -> int:
        """Apply every pending verdict now, in this thread; returns how many."""
        total = 0
        while count := self.apply_some():
            total += count
        return total

    def apply_some(self) -> int:
        """Apply one batch of pending verdicts; returns how many rows it took (0: none pending)."""
        with self._lock:
            with self.services.sessions() as session:
                rows = session.execute(_PENDING).all()
            if not rows:
                return 0
            for (vendor_id, client_id), group in groupby(rows, key=lambda r: (r.vendor_id, r.client_id)):
                self._apply(vendor_id, client_id, list(group))
            self.applied += len(rows)
            return len(rows)

    def _apply(self, vendor_id: str, client_id: str, rows: Sequence[Row[Any, Any, Any, Any, Any]]) -> None:
        caller = self._caller(vendor_id, client_id)
        items = [VerdictSubmission.model_validate(row.submission) for row in rows]
        ids = [row.id for row in rows]

        def finish(session: Session, outcomes: list[Outcome]) -> None:
            now = self.services.clock()
            session.execute(
                _MARK_APPLIED,
                [
                    {
                        "row_seq": row.seq,
                        "status": COMPLETED if outcome.status != NOT_FOUND else NOT_FOUND,
                        "applied_at": now,
                        "outcome": outcome.as_json(),
                    }
                    for row, outcome in zip(rows, outcomes, strict=True)
                ],
            )

        if caller is None:  # the vendor is gone or suspended: its pending verdicts act on nothing
            with write_lock(self.services), self.services.sessions.begin() as session:
                finish(session, [Outcome(item.vendorVerdictId, "", NOT_FOUND) for item in items])
            return
        apply_batch(self.services, caller, items, record_ids=ids, finish=finish, to_outbox=self.to_outbox)

    def _caller(self, vendor_id: str, client_id: str) -> VendorCaller | None:
        with self.services.sessions() as session:
            try:
                return load_caller(session, vendor_id, client_id)
            except Forbidden:
                return None


_made = threading.Lock()


def background_applier(services: Services) -> BackgroundApplier:
    """The applier process when the server started one, else this process's Applier thread."""
    found = services.extras.get(_PROCESS_KEY)
    if found is not None:
        return found  # type: ignore[return-value]
    return applier(services)


def register_background(services: Services, handle: BackgroundApplier) -> None:
    """Make `handle` (vendors.applier_process) the applier that background_applier() returns."""
    services.extras[_PROCESS_KEY] = handle
    services.on_close.append(handle.stop)


def applier(services: Services) -> Applier:
    """This process's Applier (made on first use; stopped by services.close())."""
    found = services.extras.get(_KEY)
    if found is None:
        with _made:
            found = services.extras.get(_KEY)
            if found is None:
                found = services.extras[_KEY] = Applier(services)
                services.on_close.append(found.stop)
    assert isinstance(found, Applier)
    return found
