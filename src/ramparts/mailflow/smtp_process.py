"""The SMTP listener in a process of its own, so that the pipeline's CPU work never delays a reply.

`ramparts serve` binds the SMTP socket, then runs ``python -m ramparts.mailflow.smtp_process`` with
the socket and the write end of a pipe inherited, and the settings as one JSON line on stdin. The
child accepts mail exactly as the in-process listener does (every message fsynced into the spool
before its 250) and reports on the pipe, one line each::

    ready
    queued <spool file name>

so that the parent's spool worker takes the message at once. The spool is the durable hand-off: a
lost line only delays a message until the worker's next scan of incoming/. DuckDB stays in the
parent; the child only reads the accepted domains from the control plane.

The child stops gracefully on SIGTERM (open transactions may finish) and at once when the parent
goes away: it asks the kernel for SIGKILL on the parent's death and also treats EOF on stdin as a
stop. `SmtpProcess` (in the parent) starts the child, restarts it when it dies, and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

from ramparts.config import Settings
from ramparts.process_tree import die_with_parent

log = logging.getLogger(__name__)

READY = b"ready"
QUEUED = b"queued "
START_TIMEOUT = 60.0
RESTART_DELAY = 1.0
"""Seconds before restarting a child that died (the listening socket stays open meanwhile)."""


async def run_child(settings: Settings, listen: socket.socket, report_fd: int, *, grace: float = 10.0) -> None:
    """The child's life: listen until SIGTERM or EOF on stdin, then stop the listener gracefully."""
    from ramparts.mailflow.smtp import AcceptedDomainCache, GatewayHandler, start_smtp, tls_context
    from ramparts.mailflow.smtp_limits import RateLimiter
    from ramparts.mailflow.spool import Spool, SpoolEntry
    from ramparts.store.db import open_control_plane

    loop = asyncio.get_running_loop()
    report, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(report_fd, "wb", buffering=0))

    def queued(entry: SpoolEntry) -> None:
        if not report.is_closing():
            report.write(QUEUED + entry.name.encode() + b"\n")

    sessions = open_control_plane(settings.control_url)
    handler = GatewayHandler(
        Spool(settings.spool_dir),
        AcceptedDomainCache(sessions),
        hostname=settings.hostname,
        max_recipients=settings.max_recipients,
        rate=RateLimiter(settings.max_messages_per_minute_per_client),
        on_queued=queued,
    )
    tls = None
    if settings.tls_cert_file and settings.tls_key_file:
        tls = tls_context(settings.tls_cert_file, settings.tls_key_file)
    listener = await start_smtp(
        handler,
        sock=listen,
        hostname=settings.hostname,
        max_message_bytes=settings.max_message_bytes,
        max_connections_per_client=settings.max_connections_per_client,
        tls=tls,
        require_starttls=settings.smtp_require_starttls,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, lambda: None)  # the parent decides (Ctrl-C reaches the group)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    parent_gone = asyncio.create_task(stdin.read())
    stopping = asyncio.create_task(stop.wait())
    report.write(READY + b"\n")
    await asyncio.wait([parent_gone, stopping], return_when=asyncio.FIRST_COMPLETED)
    await listener.stop(grace=grace if stop.is_set() else 0.0)
    for task in (parent_gone, stopping):
        task.cancel()
    report.close()
    log.info("SMTP process stopped after accepting %d message(s)", handler.accepted)


def child_main() -> None:
    """Entry point of ``python -m ramparts.mailflow.smtp_process PARENT_PID SOCKET_FD REPORT_FD``."""
    parent, listen_fd, report_fd = (int(arg) for arg in sys.argv[1:4])
    die_with_parent(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    settings = Settings.model_validate_json(sys.stdin.buffer.readline())
    listen = socket.socket(fileno=listen_fd)
    asyncio.run(run_child(settings, listen, report_fd))


class SmtpProcess:
    """The parent's handle on the SMTP child: start, restart on death, stop; forwards its reports."""

    def __init__(
        self,
        settings: Settings,
        listen: socket.socket,
        on_queued: Callable[[str], None],
        *,
        restart_delay: float = RESTART_DELAY,
    ) -> None:
        self.settings = settings
        self.listen = listen
        self.on_queued = on_queued
        self.restart_delay = restart_delay
        self.starts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and return once it listens."""
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="smtp-process")

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ramparts.mailflow.smtp_process",
                str(os.getpid()),
                str(self.listen.fileno()),
                str(write_fd),
                stdin=subprocess.PIPE,
                pass_fds=(self.listen.fileno(), write_fd),
            )
        finally:
            os.close(write_fd)
        self.starts += 1
        self.process = process
        reports = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reports), os.fdopen(read_fd, "rb"))
        assert process.stdin is not None
        process.stdin.write(self.settings.model_dump_json().encode() + b"\n")
        try:
            first = await asyncio.wait_for(reports.readline(), START_TIMEOUT)
        except TimeoutError:
            process.kill()
            raise RuntimeError("the SMTP process did not start in time") from None
        if first.strip() != READY:
            await process.wait()
            raise RuntimeError(f"the SMTP process did not start (exit code {process.returncode})")
        log.info("SMTP process %d listening", process.pid)
        self._reader_task = asyncio.create_task(self._forward(reports), name="smtp-reports")

    async def _forward(self, reports: asyncio.StreamReader) -> None:
        async for line in reports:
            if line.startswith(QUEUED):
                self.on_queued(line[len(QUEUED) :].strip().decode())

    async def _supervise(self) -> None:
        while True:
            assert self.process is not None
            code = await self.process.wait()
            if self._reader_task is not None:
                await self._reader_task  # EOF: the child's reports are all forwarded
            if self._stopping:
                return
            log.error("the SMTP process exited with %s; restarting it in %.1f s", code, self.restart_delay)
            await asyncio.sleep(self.restart_delay)
            if self._stopping:
                return
            try:
                await self._spawn()
            except (OSError, RuntimeError):
                log.exception("restarting the SMTP process failed; trying again")

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the child (open transactions may finish within `grace`), then kill it if needed."""
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace + 5.0)
            except TimeoutError:
                log.error("the SMTP process did not stop in time; killing it")
                process.kill()
                await process.wait()
        if self._supervisor is not None:
            await self._supervisor  # returns once the last report of the child is forwarded


if __name__ == "__main__":
    child_main()
