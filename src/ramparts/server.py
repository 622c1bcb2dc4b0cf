"""`ramparts serve`: the SMTP listener, the HTTP API and the spool worker.

The SMTP listener runs in a child process (`ramparts.mailflow.smtp_process`) on a socket bound
here, so that replies never wait for the pipeline; it hands each message over through the spool and
tells the spool worker at once. HTTP, the spool worker, the pipeline and DuckDB share this process's
event loop. `serve(..., smtp_process=False)` keeps the listener on the same loop instead.

Start: open the services, recover every message left in the spool, listen for SMTP and HTTP, write
data_dir/server.json (how the CLI finds the running server). Stop (SIGTERM, SIGINT or the `stop`
event): refuse new SMTP transactions and let the open ones finish, let the worker finish what it
holds, flush the telemetry (which releases the messages from the spool), stop HTTP, remove
server.json, close the stores.

The spool worker takes entries in arrival order, in small batches, and hands them to the pipeline.
It releases an entry from the spool only when the pipeline calls the entry's `on_durable` (after the
telemetry batch holding it is committed), so a crash at any point means the message is processed
again at the next start, and the pipeline recognises it by its NetworkMessageId. Each processing
attempt is counted in the spool file name; an entry that failed or was in flight during a crash is
retried alone, and after the spool's `max_attempts` it is moved to failed/.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import uvicorn

from ramparts.config import Settings
from ramparts.mailflow.message import Envelope
from ramparts.mailflow.smtp import AcceptedDomainCache, GatewayHandler, SmtpListener, start_smtp, tls_context
from ramparts.mailflow.smtp_limits import RateLimiter
from ramparts.mailflow.smtp_process import SmtpProcess
from ramparts.mailflow.spool import Spool, SpoolCorrupt, SpoolEntry
from ramparts.runtime import server_file

log = logging.getLogger("ramparts.server")

OnDurable = Callable[[], None]
BatchItem = tuple[Envelope, bytes, OnDurable]
ProcessBatch = Callable[[list[BatchItem]], Awaitable[object]]

FLUSH_INTERVAL = 0.5
"""Seconds between telemetry flushes, so that spool entries are released under low traffic too."""
GIL_SWITCH_INTERVAL = 0.001
"""Seconds a busy thread (a telemetry flush, the mail pipeline) keeps the GIL while others wait; the
default 5 ms is paid several times by each request (event loop, worker thread, back)."""
SCAN_INTERVAL = 1.0
"""Seconds between looks at incoming/ for entries written by other processes (`ramparts ingest`)."""


class SpoolWorker:
    """Feeds spool entries to the pipeline in arrival order and releases them once durable."""

    def __init__(
        self,
        spool: Spool,
        process_batch: ProcessBatch,
        *,
        concurrency: int = 2,
        batch_size: int = 32,
        scan_interval: float = SCAN_INTERVAL,
        retry_delay: float = 1.0,
    ) -> None:
        self.spool = spool
        self.process_batch = process_batch
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.scan_interval = scan_interval
        self.retry_delay = retry_delay
        self.processed = 0
        self.released = 0
        self.failed = 0
        self._queue: asyncio.Queue[SpoolEntry | None] = asyncio.Queue()
        self._known: set[str] = set()
        """Keys queued, in process or waiting for on_durable: never queued twice."""
        self._tasks: list[asyncio.Task[None]] = []
        self._scanner: asyncio.Task[None] | None = None
        self._stopping = False
        self._released_since_sync = 0

    # -- feeding -------------------------------------------------------------------------------------

    def notify(self, entry: SpoolEntry) -> None:
        """A new entry was spooled by this process (called by the SMTP handler after its 250)."""
        if not self._stopping:
            self._enqueue(entry)

    def _enqueue(self, entry: SpoolEntry) -> None:
        if entry.key in self._known:
            return
        self._known.add(entry.key)
        self._queue.put_nowait(entry)

    async def scan(self) -> int:
        """Queue every entry of incoming/ not yet known; returns how many were new."""
        entries = await asyncio.to_thread(lambda: list(self.spool.pending()))
        new = 0
        for entry in entries:
            if entry.key not in self._known and not self._stopping:
                self._enqueue(entry)
                new += 1
        return new

    @property
    def backlog(self) -> int:
        """Entries known and not yet released (queued, in process, or waiting for their telemetry)."""
        return len(self._known)

    # -- running -------------------------------------------------------------------------------------

    async def start(self) -> int:
        """Clean up tmp/, queue what the last run left behind, start the workers; returns that count."""
        removed = await asyncio.to_thread(self.spool.remove_stale_tmp)
        if removed:
            log.warning("removed %d partial spool file(s) of a crashed writer", removed)
        recovered = await self.scan()
        if recovered:
            log.warning("recovering %d message(s) left in the spool", recovered)
        self._tasks = [asyncio.create_task(self._work(), name=f"spool-worker-{i}") for i in range(self.concurrency)]
        self._scanner = asyncio.create_task(self._scan_loop(), name="spool-scanner")
        return recovered

    async def stop(self, timeout: float = 30.0) -> None:
        """Take no new entries; wait (up to timeout) for the batches in process to finish."""
        self._stopping = True
        if self._scanner is not None:
            self._scanner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scanner
        for _ in range(self.concurrency):
            self._queue.put_nowait(None)
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("spool task %s failed: %r", task.get_name(), task.exception())

    async def _scan_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.scan_interval)
            try:
                await self.scan()
            except OSError:
                log.exception("scanning the spool failed")

    async def _work(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None or self._stopping:
                return
            batch = [first]
            while len(batch) < self.batch_size and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    self._queue.put_nowait(None)
                    break
                batch.append(more)
            try:
                await self._run_batch(batch)
            except Exception:
                log.exception("spool worker error")

    async def _run_batch(self, batch: list[SpoolEntry]) -> None:
        fresh = [entry for entry in batch if entry.attempts == 0]
        retried = [entry for entry in batch if entry.attempts > 0]
        if fresh:
            loaded = await asyncio.to_thread(self._begin_all, fresh)
            if len(loaded) == 1 or not await self._try(loaded):
                for item in loaded:
                    await self._one(item)
        for entry in retried:
            for item in await asyncio.to_thread(self._begin_all, [entry]):
                await self._one(item)

    def _begin_all(self, entries: list[SpoolEntry]) -> list[tuple[SpoolEntry, Envelope, bytes]]:
        """Count an attempt on each entry and read it; gives up on exhausted or corrupt ones (thread)."""
        loaded = []
        for entry in entries:
            if self.spool.exhausted(entry):
                self._give_up(entry, f"gave up after {entry.attempts} attempts (each failed or crashed the server)")
                continue
            try:
                begun = self.spool.begin(entry)
            except FileNotFoundError:
                self._known.discard(entry.key)
                continue
            try:
                envelope, raw = self.spool.load(begun)
            except (SpoolCorrupt, OSError) as exc:
                self._give_up(begun, f"unreadable spool file: {exc}")
                continue
            loaded.append((begun, envelope, raw))
        return loaded

    def _give_up(self, entry: SpoolEntry, reason: str) -> None:
        try:
            self.spool.fail(entry, reason)
        except OSError:
            log.exception("moving %s to failed/ did not work", entry.key)
        self.failed += 1
        self._known.discard(entry.key)

    async def _try(self, items: list[tuple[SpoolEntry, Envelope, bytes]]) -> bool:
        try:
            await self.process_batch([(env, raw, functools.partial(self._durable, entry)) for entry, env, raw in items])
        except Exception:
            log.exception("a batch of %d spooled messages failed; retrying them one by one", len(items))
            return False
        self.processed += len(items)
        return True

    async def _one(self, item: tuple[SpoolEntry, Envelope, bytes]) -> None:
        entry, envelope, raw = item
        try:
            await self.process_batch([(envelope, raw, functools.partial(self._durable, entry))])
        except Exception as exc:
            log.exception("processing spooled message %s failed (attempt %d)", entry.key, entry.attempts)
            if self.spool.exhausted(entry):
                await asyncio.to_thread(self._give_up, entry, f"pipeline error on attempt {entry.attempts}: {exc!r}")
            elif not self._stopping:
                asyncio.get_running_loop().call_later(self.retry_delay * entry.attempts, self._retry, entry)
            return
        self.processed += 1

    def _retry(self, entry: SpoolEntry) -> None:
        self._known.discard(entry.key)
        if not self._stopping:
            self._enqueue(entry)

    def _durable(self, entry: SpoolEntry) -> None:
        """on_durable of one entry; may run in the telemetry flush thread."""
        self.spool.done(entry, sync=False)
        self._known.discard(entry.key)
        self.released += 1
        self._released_since_sync += 1

    def sync_released(self) -> None:
        """One directory sync for every entry released since the last call (thread)."""
        if self._released_since_sync:
            self._released_since_sync = 0
            self.spool.sync()


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the ramparts server stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose protocol is IPPROTO_TCP, not 0 (as socket.create_server leaves it):
    asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP, and without it every
    response written in two parts waits ~40 ms for the client's delayed ACK (Nagle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


async def _bind_smtp(host: str, port: int, *, wait: float = 5.0) -> socket.socket:
    """Bind the SMTP socket; while the port is in use, retry for `wait` seconds (the SMTP process of a
    server that was just killed may still hold it for a moment)."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return _listen_socket(host, port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.1)


def _format_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def write_server_file(data_dir: Path, info: dict[str, object]) -> Path:
    """Atomically write data_dir/server.json."""
    target = server_file(data_dir)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def remove_server_file(data_dir: Path) -> None:
    """Remove server.json if it still names this process."""
    target = server_file(data_dir)
    try:
        info = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if info.get("pid") == os.getpid():
        target.unlink(missing_ok=True)


async def _periodic_flush(flush: Callable[[], None], interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(flush)
        except Exception:
            log.exception("telemetry flush failed; retrying")


async def serve(
    settings: Settings,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    smtp_grace: float = 10.0,
    smtp_process: bool = True,
) -> None:
    """Run until SIGTERM/SIGINT (in the main thread) or until `stop` is set; then stop gracefully.

    `ready` is set once both listeners accept connections and server.json is written.
    """
    from ramparts.api.app import create_app

    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    from ramparts.delivery.zap import mailbox_backend
    from ramparts.mailflow.pipeline import Pipeline
    from ramparts.services import open_services
    from ramparts.store.db import checkpoint_in_background
    from ramparts.vendors.applier import background_applier, register_background
    from ramparts.vendors.applier_process import ApplierProcess
    from ramparts.vendors.outbox import OutboxDrain

    configure_logging()
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    services = await asyncio.to_thread(open_services, settings)
    checkpoint = checkpoint_in_background(services.sessions.kw["bind"])  # in the periodic flush
    smtp: SmtpListener | None = None
    smtp_child: SmtpProcess | None = None
    smtp_socket: socket.socket | None = None
    worker: SpoolWorker | None = None
    flusher: asyncio.Task[None] | None = None
    http: _EmbeddedUvicorn | None = None
    http_task: asyncio.Task[None] | None = None
    signals: list[signal.Signals] = []
    try:
        pipeline = Pipeline(services)
        spool = Spool(settings.spool_dir)
        worker = SpoolWorker(spool, pipeline.process_batch)
        handler = GatewayHandler(
            spool,
            AcceptedDomainCache(services.sessions),
            hostname=settings.hostname,
            max_recipients=settings.max_recipients,
            rate=RateLimiter(settings.max_messages_per_minute_per_client),
            clock=services.clock,
            on_queued=worker.notify,
        )
        tls = None
        if settings.tls_cert_file and settings.tls_key_file:
            tls = tls_context(settings.tls_cert_file, settings.tls_key_file)

        vendor_applier = ApplierProcess(services)  # first applies what a killed server left pending
        await asyncio.to_thread(vendor_applier.start)
        register_background(services, vendor_applier)
        applier_telemetry = OutboxDrain(services)
        services.on_close.append(applier_telemetry.drain)  # runs after the applier's stop

        http_socket = _listen_socket(settings.http_host, settings.http_port)
        config = uvicorn.Config(create_app(services), lifespan="on", log_level="warning", timeout_graceful_shutdown=5)
        http = _EmbeddedUvicorn(config)
        http_task = asyncio.create_task(http.serve(sockets=[http_socket]), name="http")
        while not http.started and not http_task.done():
            await asyncio.sleep(0.01)
        if http_task.done():
            http_task.result()
            raise RuntimeError("the HTTP server stopped during start-up")

        await worker.start()
        if smtp_process:
            smtp_socket = await _bind_smtp(settings.smtp_host, settings.smtp_port)

            def queued(name: str) -> None:
                assert worker is not None
                try:
                    worker.notify(spool.incoming_entry(name))
                except ValueError:
                    log.warning("the SMTP process reported a bad spool name %r", name)

            smtp_child = SmtpProcess(settings, smtp_socket, queued)
            await smtp_child.start()
            smtp_host, smtp_port = smtp_socket.getsockname()[:2]
        else:
            smtp = await start_smtp(
                handler,
                host=settings.smtp_host,
                port=settings.smtp_port,
                hostname=settings.hostname,
                max_message_bytes=settings.max_message_bytes,
                max_connections_per_client=settings.max_connections_per_client,
                tls=tls,
                require_starttls=settings.smtp_require_starttls,
            )
            smtp_host, smtp_port = smtp.address

        def flush() -> None:
            applier_telemetry.drain()
            services.writer.flush()
            if checkpoint is not None:
                checkpoint()
            assert worker is not None
            worker.sync_released()
            spool.empty_trash()
            empty_mail_trash = getattr(mailbox_backend(services), "empty_trash", None)
            if empty_mail_trash is not None and background_applier(services).idle:  # files of quarantined copies
                empty_mail_trash()

        flusher = asyncio.create_task(_periodic_flush(flush, FLUSH_INTERVAL), name="telemetry-flush")

        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
                signals.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):
                break

        http_host, http_port = http_socket.getsockname()[:2]
        smtp_text = _format_hostport(smtp_host, smtp_port)
        http_text = f"http://{_format_hostport(http_host, http_port)}"
        write_server_file(
            settings.data_dir,
            {
                "pid": os.getpid(),
                "smtp": smtp_text,
                "http": http_text,
                "started_at": dt.datetime.now(dt.UTC).isoformat(),
                "tls": tls is not None,
            },
        )
        log.info("ramparts listening: SMTP on %s%s, HTTP on %s", smtp_text, " (STARTTLS)" if tls else "", http_text)
        if ready is not None:
            ready.set()

        stop_waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_waiter, http_task], return_when=asyncio.FIRST_COMPLETED)
        stop_waiter.cancel()
        if http_task.done() and not stop.is_set():
            log.error("the HTTP server stopped on its own; stopping")
        log.info("stopping")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if smtp is not None:
            await smtp.stop(grace=smtp_grace)
        if smtp_child is not None:
            await smtp_child.stop(grace=smtp_grace)
        if smtp_socket is not None:
            smtp_socket.close()
        if worker is not None:
            await worker.stop()
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        try:
            await asyncio.to_thread(services.writer.flush)
            if worker is not None:
                await asyncio.to_thread(worker.sync_released)
        finally:
            if http is not None and http_task is not None:
                http.should_exit = True
                with contextlib.suppress(Exception):
                    await http_task
            remove_server_file(settings.data_dir)
            await asyncio.to_thread(services.close)
            log.info("ramparts stopped")
