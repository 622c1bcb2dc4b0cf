"""Messages per second through the whole pipeline, beside a stdlib parse of the same messages.

    .venv/bin/python bench/pipeline.py [--messages 2000] [--smtp-messages 3000] [--clients 8]

1. parse-only baseline: email.parser.BytesParser(policy=default).parsebytes on each message;
2. pipeline: spool (durable), parse, builtin detection, merge, policy, Maildir, telemetry (DuckDB),
   all in this process, as `ramparts ingest` runs it;
3. telemetry writes alone: rows/s into DuckDB through the Arrow writer;
SMTP throughput and server RSS are measured by bench/smtp.py (a real `ramparts serve`, concurrent clients).
The mix is the demo generator's (business mail, newsletters, spam, phishing, malware, impersonation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
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
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ratio = rate / parse_rate
    print(f"messages: {len(raws)} (mean {size / 1024:.1f} KiB), mix by location: {locations}")
    print(f"stdlib parse only      : {parse_rate:8.0f} msg/s")
    print(f"ramparts pipeline      : {rate:8.0f} msg/s   ratio {ratio:.2f} x parse-only (target >= 0.5)")
    print(f"telemetry writes       : {rows_rate:8.0f} rows/s (target >= 50,000)")
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
            "cpu_count": os.cpu_count(),
        },
    )
    print(f"written: {path}")


if __name__ == "__main__":
    main()
