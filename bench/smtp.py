"""SMTP load: acknowledged and end-to-end msg/s of `ramparts serve`, beside a plain aiosmtpd server.

    .venv/bin/python bench/smtp.py [--messages 3000] [--clients 8] [--skip-baseline]

Every run measures, with the same clients and the same demo message mix (``DemoTraffic``):

1. baseline: a plain aiosmtpd server (stock ``SMTP`` class, line-by-line DATA reader) whose handler
   does nothing but answer 250, in its own process;
2. ramparts: a real ``ramparts serve`` (durable spool, pipeline, Maildir, DuckDB telemetry).

The clients are N threads of ``smtplib`` (one connection each) in a separate process, on the same
machine, so they share its cores with the server. Acknowledged msg/s counts 250 replies; end-to-end
msg/s waits until the spool is empty (every message processed and its telemetry committed). After
stopping the server the telemetry is checked: each acknowledged message must appear exactly once.
Peak RSS is the sum over the server's process tree, sampled from /proc every 20 ms. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import pickle
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result

HOST = "127.0.0.1"
SEED = 12
TIME_LIMIT = 600.0
"""Seconds a phase may take before the benchmark gives up (bounded load)."""


# -- the client process ------------------------------------------------------------------------------


Message = tuple[str, list[str], bytes]


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def demo_messages(count: int) -> list[Message]:
    """The demo mix with CRLF line ends, as a real client sends it (smtplib leaves bytes alone)."""
    from ramparts.demo import DemoTraffic

    traffic = DemoTraffic(SEED, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    return [
        (
            env.mail_from or "bench@partner.example",
            list(env.rcpt_tos),
            raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        )
        for env, raw, _ in traffic.messages(count)
    ]


def run_clients(port: int, clients: int, messages_file: Path) -> None:
    """Send the pickled messages over `clients` connections; print one JSON line with the timings."""
    messages: list[Message] = pickle.loads(messages_file.read_bytes())
    shares = [messages[i::clients] for i in range(clients)]
    acked = [0] * clients
    errors: list[str] = []
    start = threading.Barrier(clients + 1)

    def send(index: int) -> None:
        try:
            with smtplib.SMTP(HOST, port, timeout=60) as client:
                client.ehlo("bench.example")
                start.wait()
                for sender, rcpts, raw in shares[index]:
                    client.sendmail(sender, rcpts, raw)
                    acked[index] += 1
        except Exception as exc:  # reported, and the benchmark fails
            errors.append(repr(exc))
            start.abort()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    finished = time.monotonic()
    print(json.dumps({"acked": sum(acked), "started": started, "finished": finished, "errors": errors[:5]}))


# -- the baseline server process -----------------------------------------------------------------------


def run_baseline_server(port: int) -> None:
    """Plain aiosmtpd with a handler that accepts everything and keeps nothing."""
    from aiosmtpd.smtp import SMTP

    class NullHandler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = NullHandler()
        server = await loop.create_server(
            lambda: SMTP(handler, data_size_limit=50 * 1024 * 1024, enable_SMTPUTF8=True, loop=loop),
            HOST,
            port,
            backlog=1024,
        )
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the measuring parent ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """pid and its descendants."""
    pids, index = [pid], 0
    while index < len(pids):
        try:
            children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children").read_text().split()
        except OSError:
            children = []
        pids.extend(int(child) for child in children)
        index += 1
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class Watcher:
    """Samples the peak RSS (summed over the process tree) of a server while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.main_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(self.pid)))
            self.main_peak_kb = max(self.main_peak_kb, _rss_kb(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load(port: int, clients: int, messages_file: Path) -> dict[str, Any]:
    """Run the client process against host:port; its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, "--client", str(port), str(clients), str(messages_file)],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"client process failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"clients failed: {result['errors']}")
    return result


def measure_baseline(clients: int, messages_file: Path) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--baseline-server", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the baseline server did not start")
        with Watcher(server.pid) as watcher:
            cpu_before = _cpu_seconds(server.pid)
            result = load(port, clients, messages_file)
            cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    seconds = result["finished"] - result["started"]
    return {
        "acked": result["acked"],
        "acked_msgs_per_s": result["acked"] / seconds,
        "server_cpu_ms_per_msg": 1000 * cpu / max(1, result["acked"]),
        "server_peak_rss_mb": watcher.peak_kb / 1024,
    }


def _telemetry_counts(data: Path) -> tuple[int, int]:
    """(distinct NetworkMessageIds, rows) in EmailEvents."""
    from ramparts.telemetry.duckdb_store import DuckDBStore

    store = DuckDBStore(data / "telemetry.duckdb", read_only=True)
    try:
        row = (
            store.cursor().execute('SELECT count(DISTINCT "NetworkMessageId"), count(*) FROM "EmailEvents"').fetchone()
        )
    finally:
        store.close()
    assert row is not None
    return int(row[0]), int(row[1])


def measure_ramparts(clients: int, messages_file: Path, workdir: Path) -> dict[str, Any]:
    from ramparts.config import load_settings
    from ramparts.mailflow.ingest import ensure_demo_tenants

    data = workdir / "ramparts"
    shutil.rmtree(data, ignore_errors=True)
    ensure_demo_tenants(load_settings(data))
    smtp_port, http_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "ramparts", "serve", "--data-dir", str(data)]
    command += ["--smtp", f"{HOST}:{smtp_port}", "--http", f"{HOST}:{http_port}"]
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (data / "server.json").exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("ramparts serve did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.05)
        incoming = data / "spool" / "incoming"
        with Watcher(server.pid) as watcher:
            cpu_before = sum(_cpu_seconds(p) for p in _tree(server.pid))
            result = load(smtp_port, clients, messages_file)
            deadline = time.monotonic() + TIME_LIMIT
            while any(incoming.iterdir()):
                if time.monotonic() > deadline:
                    raise RuntimeError("the spool did not drain in time")
                time.sleep(0.01)
            drained = time.monotonic()
            cpu = sum(_cpu_seconds(p) for p in _tree(server.pid)) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=60)
    if server.returncode != 0:
        raise RuntimeError(f"ramparts serve exited with {server.returncode}:\n" + log_path.read_text()[-3000:])
    messages, rows = _telemetry_counts(data)
    acked = result["acked"]
    failed = sum(1 for _ in (data / "spool" / "failed").glob("*.msg"))
    return {
        "acked": acked,
        "acked_msgs_per_s": acked / (result["finished"] - result["started"]),
        "end_to_end_msgs_per_s": acked / (drained - result["started"]),
        "server_cpu_ms_per_msg": 1000 * cpu / max(1, acked),
        "server_peak_rss_mb": watcher.peak_kb / 1024,
        "main_process_peak_rss_mb": watcher.main_peak_kb / 1024,
        "telemetry_messages": messages,
        "telemetry_rows": rows,
        "spool_failed": failed,
        "exactly_once": messages == acked and rows == acked and failed == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/smtp.json")
    parser.add_argument("--client", nargs=3, metavar=("PORT", "CLIENTS", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run_clients(int(args.client[0]), int(args.client[1]), Path(args.client[2]))
        return
    if args.baseline_server:
        run_baseline_server(args.baseline_server)
        return

    messages = demo_messages(args.messages)
    mean_kib = sum(len(raw) for _, _, raw in messages) / len(messages) / 1024
    workdir = Path(tempfile.mkdtemp(prefix="ramparts-bench-smtp-"))
    try:
        messages_file = workdir / "messages.pickle"
        messages_file.write_bytes(pickle.dumps(messages))
        baseline = {} if args.skip_baseline else measure_baseline(args.clients, messages_file)
        ramparts = measure_ramparts(args.clients, messages_file, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{args.messages} demo messages (mean {mean_kib:.1f} KiB), {args.clients} clients, {os.cpu_count()} CPUs")
    if baseline:
        print(
            f"baseline aiosmtpd, null handler : {baseline['acked_msgs_per_s']:7.0f} msg/s acknowledged, "
            f"{baseline['server_cpu_ms_per_msg']:.2f} ms server CPU/msg, RSS {baseline['server_peak_rss_mb']:.0f} MB"
        )
    print(
        f"ramparts serve                  : {ramparts['acked_msgs_per_s']:7.0f} msg/s acknowledged, "
        f"{ramparts['end_to_end_msgs_per_s']:.0f} msg/s end to end (target >= 300), "
        f"{ramparts['server_cpu_ms_per_msg']:.2f} ms server CPU/msg"
    )
    print(
        f"server peak RSS                 : {ramparts['server_peak_rss_mb']:7.0f} MB summed over its processes "
        f"(target < 300), main process {ramparts['main_process_peak_rss_mb']:.0f} MB"
    )
    ratio: dict[str, float] = {}
    if baseline:
        ratio = {
            "acked": ramparts["acked_msgs_per_s"] / baseline["acked_msgs_per_s"],
            "end_to_end": ramparts["end_to_end_msgs_per_s"] / baseline["acked_msgs_per_s"],
        }
        print(f"ratio vs baseline               : {ratio['acked']:7.2f} acked, {ratio['end_to_end']:.2f} end to end")
    print(
        f"exactly once                    : {ramparts['exactly_once']} "
        f"({ramparts['telemetry_messages']} messages in telemetry for {ramparts['acked']} acknowledged, "
        f"{ramparts['spool_failed']} failed)"
    )
    if not args.no_write:
        path = write_result(
            "smtp",
            {
                "messages": args.messages,
                "clients": args.clients,
                "mean_message_bytes": mean_kib * 1024,
                "baseline": baseline,
                "ramparts": ramparts,
                "ratio_vs_baseline": ratio,
            },
        )
        print(f"written: {path}")
    if not ramparts["exactly_once"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
