"""The vendor verdict applier in a process of its own, so that applying batches (mailbox moves,
control-plane writes) runs on another core and never holds the GIL that the API's requests need.

`ramparts serve` starts ``python -m ramparts.vendors.applier_process PARENT_PID REPORT_FD`` with the
settings as one JSON line on stdin. Every further byte on stdin means "verdicts are pending"; EOF
means stop after the current batch (SIGTERM and SIGINT are ignored: see child_main). The child
reports on the pipe with pickled tuples (multiprocessing.connection framing):

    ("ready",)          the control plane is open; applying has started
    ("idle", bool)      nothing pending / work again

The control plane (SQLite or PostgreSQL) is the hand-off both ways: accepted verdicts wait there as
pending intake rows until a batch commits, so a child that dies loses nothing but a batch in progress,
which the restarted child applies again; and each batch leaves its telemetry in the outbox table in
the same transaction, which the server moves into the telemetry store (vendors.outbox: DuckDB admits
one writing process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ramparts.config import Settings
from ramparts.process_tree import die_with_parent
from ramparts.services import Services, open_services
from ramparts.store.db import checkpoint_in_background
from ramparts.vendors.applier import Applier

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
"""Seconds a stopping child may take to finish its batch before it is killed."""
RESTART_DELAY = 1.0


def child_main() -> None:
    """Entry point of the child: apply until EOF on stdin."""
    parent, report_fd = int(sys.argv[1]), int(sys.argv[2])
    die_with_parent(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.model_validate_json(sys.stdin.buffer.readline())
    report = Connection(report_fd, readable=False)
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            report.send(message)

    # Ctrl-C and a service manager's SIGTERM reach the whole process group: the parent decides when
    # this process stops (EOF on stdin), so that it never restarts a child that stopped on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    services = open_services(settings, telemetry_here=False)
    checkpoint_in_background(services.sessions.kw["bind"])  # the server checkpoints, outside the write lock
    worker = Applier(services, to_outbox=True, on_idle_change=lambda idle: send(("idle", idle)))
    send(("ready",))
    worker.wake()
    while os.read(sys.stdin.fileno(), 4096):
        worker.wake()
    worker.stop()
    services.close()
    log.info("vendor applier process stopped after applying %d verdict(s)", worker.applied)
    report.close()


class ApplierProcess:
    """The server's handle on the applier child: start, wake, restart on death, stop."""

    def __init__(self, services: Services, *, restart_delay: float = RESTART_DELAY) -> None:
        self.services = services
        self.restart_delay = restart_delay
        self.starts = 0
        self._idle = False
        """Until the child says otherwise: it first applies what a killed process left pending, and the
        server empties the Maildir trash (which the re-applied removals look into) only when idle."""
        self._stopping = False
        self._process: subprocess.Popen[bytes] | None = None
        self._forwarder: threading.Thread | None = None
        self._life = threading.Lock()
        """Orders stop() against a restart in progress."""

    @property
    def idle(self) -> bool:
        return self._idle

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child and return once it has opened the control plane (blocking)."""
        reports = self._spawn()
        self._forwarder = threading.Thread(
            target=self._forward, args=(reports,), name="vendor-applier-reports", daemon=True
        )
        self._forwarder.start()

    def _spawn(self) -> Connection:
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "ramparts.vendors.applier_process", str(os.getpid()), str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        reports = Connection(read_fd, writable=False)
        assert process.stdin is not None
        process.stdin.write(self.services.settings.model_dump_json().encode() + b"\n")
        process.stdin.flush()
        os.set_blocking(process.stdin.fileno(), False)
        if not reports.poll(START_TIMEOUT):
            process.kill()
            reports.close()
            raise RuntimeError("the vendor applier process did not start in time")
        try:
            first = reports.recv()
        except EOFError:
            reports.close()
            process.wait()
            raise RuntimeError(f"the vendor applier process did not start (exit code {process.returncode})") from None
        if first != ("ready",):
            process.kill()
            reports.close()
            raise RuntimeError(f"the vendor applier process answered {first!r} instead of ready")
        self.starts += 1
        self._process = process
        log.info("vendor applier process %d started", process.pid)
        return reports

    def _forward(self, reports: Connection) -> None:
        """Forward reports; when the child dies, start another, unless stop() was called. Spawning
        happens under _life, so stop() always sees (and stops) the newest child."""
        while True:
            self._drain(reports)
            process = self._process
            assert process is not None
            code = process.wait()
            _close_stdin(process)
            with self._life:
                if self._stopping:
                    return
            log.error("the vendor applier process exited with %s; restarting it in %.1f s", code, self.restart_delay)
            while True:
                time.sleep(self.restart_delay)
                with self._life:
                    if self._stopping:
                        return
                    try:
                        reports = self._spawn()
                        break
                    except (OSError, RuntimeError):
                        log.exception("restarting the vendor applier process failed; trying again")

    def _drain(self, reports: Connection) -> None:
        """Forward the child's reports until it closes the pipe."""
        with reports:
            while True:
                try:
                    message = reports.recv()
                except (EOFError, OSError):
                    return
                if message[0] == "idle":
                    self._idle = bool(message[1])

    def wake(self) -> None:
        """Verdicts are pending: one byte on the child's stdin (a full pipe already says so)."""
        process = self._process
        if process is None or process.stdin is None:
            return
        with contextlib.suppress(BlockingIOError, OSError, ValueError):
            os.write(process.stdin.fileno(), b"w")

    def stop(self) -> None:
        """EOF on the child's stdin: it finishes its batch and exits; killed after STOP_TIMEOUT."""
        with self._life:
            self._stopping = True
            process = self._process
        if process is None:
            return
        _close_stdin(process)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error("the vendor applier process did not stop in %.0f s; killing it", STOP_TIMEOUT)
            process.kill()
            process.wait()
        if self._forwarder is not None:
            self._forwarder.join(STOP_TIMEOUT)


def _close_stdin(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()


if __name__ == "__main__":
    child_main()
