"""Messages per second through the whole pipeline, beside a stdlib parse of the same messages.

    .venv/bin/python bench/pipeline.py [--messages 2000] [--smtp-messages 3000] [--clients 8]

1. parse-only baseline: email.parser.BytesParser(policy=default).parsebytes on each message;
2. pipeline: spool (durable), parse, builtin detection, merge, policy, Maildir, telemetry (DuckDB),
   all in this process, as `ramparts ingest` runs it;
3. telemetry writes alone: rows/s into DuckDB through the Arrow writer;
4. SMTP: a real `ramparts serve` process, several concurrent smtplib clients; msg/s acknowledged and
   drained, and the server's peak RSS.
The mix is the demo generator's (business mail, newsletters, spam, phishing, malware, impersonation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import best_of, write_result
from ramparts.config import load_settings
from ramparts.demo import DemoTraffic
from ramparts.mailflow.ingest import ensure_demo_tenants
from ramparts.mailflow.runner import run_offline
from ramparts.services import open_services
from ramparts.telemetry.duckdb_store import DuckDBStore
from ramparts.telemetry.writer import TelemetryWriter


def parse_only(raws: list[bytes]) -> None:
    parser = BytesParser(policy=policy.default)
    for raw in raws:
        parser.parsebytes(raw)


def pipeline_rate(items: list[tuple[object, bytes]], workdir: Path) -> tuple[float, dict[str, int]]:
    data = workdir / "pipeline"
    shutil.rmtree(data, ignore_errors=True)
    settings = load_settings(data)
    ensure_demo_tenants(settings)
    services = open_services(settings)
    try:
        started = time.perf_counter()
        summary = run_offline(services, items)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    finally:
        services.close()
    return summary.messages / elapsed, dict(summary.locations)


def telemetry_rate(workdir: Path, rows: int = 200_000) -> float:
    store = DuckDBStore(workdir / "rows.duckdb")
    writer = TelemetryWriter(store, max_rows=20_000)
    when = dt.datetime.now(dt.UTC)
    template = {
        "Timestamp": when,
        "InternetMessageId": "<x@y>",
        "SenderFromAddress": "a@partner.example",
        "SenderFromDomain": "partner.example",
        "Subject": "Quarterly numbers for review",
        "DeliveryAction": "Delivered",
        "DeliveryLocation": "Inbox/folder",
        "ThreatTypes": "",
        "EmailDirection": "Inbound",
        "BulkComplaintLevel": 1,
        "AuthenticationDetails": '{"SPF":"pass","DKIM":"pass","DMARC":"pass","CompAuth":"pass"}',
        "TenantId": "t1",
    }
    batch = [
        {**template, "NetworkMessageId": f"m{i}", "RecipientEmailAddress": f"u{i % 50}@contoso.com", "ReportId": str(i)}
        for i in range(rows)
    ]
    started = time.perf_counter()
    for start in range(0, rows, 5000):
        writer.add({"EmailEvents": batch[start : start + 5000]})
    writer.flush()
    elapsed = time.perf_counter() - started
    store.close()
    return rows / elapsed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def smtp_rate(raws: list[tuple[list[str], bytes]], clients: int, workdir: Path) -> dict[str, float]:
    data = workdir / "smtp"
    shutil.rmtree(data, ignore_errors=True)
    settings = load_settings(data)
    ensure_demo_tenants(settings)
    smtp_port, http_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ramparts",
            "serve",
            "--data-dir",
            str(data),
            "--smtp",
            f"127.0.0.1:{smtp_port}",
            "--http",
            f"127.0.0.1:{http_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_kb(server.pid))
            time.sleep(0.05)

    try:
        deadline = time.monotonic() + 30
        while (data / "server.json").exists() is False:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start: " + (server.stderr.read().decode() if server.stderr else ""))
            time.sleep(0.05)
        threading.Thread(target=watch, daemon=True).start()
        shares = [raws[i::clients] for i in range(clients)]
        acked = [0] * clients

        def send(index: int) -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
                for rcpts, raw in shares[index]:
                    client.sendmail("bench@partner.example", rcpts, raw)
                    acked[index] += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = time.perf_counter() - started
        spool = data / "spool" / "incoming"
        while any(spool.iterdir()) if spool.exists() else False:
            if time.monotonic() > deadline + 600:
                break
            time.sleep(0.05)
        drained = time.perf_counter() - started
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    total = sum(acked)
    return {
        "acked": total,
        "accept_msgs_per_s": total / accepted,
        "end_to_end_msgs_per_s": total / drained,
        "server_peak_rss_mb": peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--smtp-messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    traffic = DemoTraffic(11, now=dt.datetime.now(dt.UTC))
    items = [(env, raw) for env, raw, _ in traffic.messages(args.messages)]
    raws = [raw for _, raw in items]
    size = sum(map(len, raws)) / len(raws)

    parse_seconds = best_of(3, lambda: parse_only(raws))
    parse_rate = len(raws) / parse_seconds
    workdir = Path(tempfile.mkdtemp(prefix="ramparts-bench-"))
    try:
        rate, locations = pipeline_rate(items, workdir)
        rows_rate = telemetry_rate(workdir)
        smtp_items = [(list(env.rcpt_tos), raw) for env, raw, _ in DemoTraffic(12).messages(args.smtp_messages)]
        smtp = smtp_rate(smtp_items, args.clients, workdir) if args.smtp_messages else {}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ratio = rate / parse_rate
    print(f"messages: {len(raws)} (mean {size / 1024:.1f} KiB), mix by location: {locations}")
    print(f"stdlib parse only      : {parse_rate:8.0f} msg/s")
    print(f"ramparts pipeline      : {rate:8.0f} msg/s   ratio {ratio:.2f} x parse-only (target >= 0.5)")
    print(f"telemetry writes       : {rows_rate:8.0f} rows/s (target >= 50,000)")
    if smtp:
        print(
            f"SMTP, {args.clients} clients        : {smtp['accept_msgs_per_s']:8.0f} msg/s acknowledged, "
            f"{smtp['end_to_end_msgs_per_s']:.0f} msg/s through the pipeline (target >= 300)"
        )
        print(f"server peak RSS        : {smtp['server_peak_rss_mb']:8.0f} MB (target < 300)")
    path = write_result(
        "pipeline",
        {
            "messages": len(raws),
            "mean_message_bytes": size,
            "parse_only_msgs_per_s": parse_rate,
            "pipeline_msgs_per_s": rate,
            "ratio_vs_parse_only": ratio,
            "telemetry_rows_per_s": rows_rate,
            "locations": locations,
            "smtp": smtp,
            "cpu_count": os.cpu_count(),
        },
    )
    print(f"written: {path}")


if __name__ == "__main__":
    main()
