"""Vendor API benchmark: verdict throughput through the batch route, and single-submit latency at a
fixed rate, each beside the authenticated no-op route (/ices/v1/ping) of the same server.

    .venv/bin/python bench/vendor_api.py [--copies 24000] [--rate 300] [--seconds 10]

Seeds a data directory with delivered copies (real Maildir files, EmailEvents rows), starts
`ramparts serve` on it in its own process (which runs the verdict applier as a child process of its
own), registers a vendor approved for the tenant, then:

1. batch: POST /ices/v1/verdicts:batch with 1,000 Phishing verdicts per request, on copies in the
   Inbox (so each verdict quarantines a real file and writes telemetry). Verdicts are applied in the
   background: verdicts/s counts until the last one is applied (its status URL says completed, and
   the copies moved are counted in the database), accepted/s until the last 202. Beside it, the
   same number of requests to /ices/v1/ping, sequentially: requests/s.
2. single: an open-loop load generator in a separate process (bench/loadgen.py: pre-encoded requests,
   keep-alive connections, latency from each request's due time) sends POST /ices/v1/verdicts at
   `rate` requests/s for `seconds`, then /ices/v1/ping the same way; p50/p99 latency of each, and
   the client's CPU use (a client near one core would be measuring itself).

Writes bench/results/vendor_api.json and prints the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import free_port

from bench.common import write_result
from bench.loadgen import encode_request, open_loop
from ramparts.config import load_settings
from ramparts.delivery.mailbox import Folder
from ramparts.delivery.maildir import MaildirBackend
from ramparts.services import open_services
from ramparts.store.db import make_engine
from ramparts.store.models import MessageCopy, MessageRecord
from ramparts.tenants import MailboxSpec, add_tenant
from ramparts.vendors import registry
from ramparts.vendors.models import PENDING, VerdictIntake

RAW = b"From: news@partner.example\r\nTo: u@contoso.example\r\nSubject: hello\r\n\r\nbody\r\n"


def seed(data_dir: Path, copies: int) -> tuple[list[tuple[str, str]], dict[str, str]]:
    settings = load_settings(data_dir)
    services = open_services(settings)
    users = [f"user{i}@contoso.example" for i in range(200)]
    with services.sessions.begin() as session:
        tenant = add_tenant(session, "contoso", ["contoso.example"], mailboxes=[MailboxSpec(u) for u in users])
        vendor, credentials = registry.add_vendor(session, name="Bench ICES")
        registry.approve(session, vendor.id, tenant.id)
    box = MaildirBackend(settings.mail_dir)
    now = dt.datetime.now(dt.UTC)
    blob = services.blobs.put(RAW)
    pairs: list[tuple[str, str]] = []
    messages, rows, events = [], [], []
    for i in range(copies):
        nmid, recipient = str(uuid.uuid4()), users[i % len(users)]
        ref = box.deliver(recipient, nmid, RAW, Folder.INBOX, received=now.timestamp())
        pairs.append((nmid, recipient))
        messages.append(
            {
                "network_message_id": nmid,
                "tenant_id": tenant.id,
                "internet_message_id": f"<{nmid}@partner.example>",
                "received_at": now,
                "from_address": "news@partner.example",
                "subject": "hello",
                "blob_sha256": blob,
            }
        )
        rows.append(
            {
                "network_message_id": nmid,
                "recipient": recipient,
                "tenant_id": tenant.id,
                "received_at": now,
                "original_verdict": "Clean",
                "verdict": "Clean",
                "delivery_action": "Delivered",
                "delivery_location": "Inbox/folder",
                "latest_location": "Inbox/folder",
                "latest_action": "Delivered",
                "mailbox_ref": ref,
                "delivered_at": now,
            }
        )
        events.append(
            {
                "Timestamp": now,
                "NetworkMessageId": nmid,
                "RecipientEmailAddress": recipient,
                "DeliveryLocation": "Inbox/folder",
                "LatestDeliveryLocation": "Inbox/folder",
                "DeliveryAction": "Delivered",
                "LatestDeliveryAction": "Delivered",
                "TenantId": tenant.id,
                "ReportId": str(i),
            }
        )
    with services.sessions.begin() as session:
        session.execute(insert(MessageRecord), messages)
        session.execute(insert(MessageCopy), rows)
    services.writer.add({"EmailEvents": events})
    services.close()
    return pairs, {"client_id": credentials.client_id, "client_secret": credentials.client_secret}


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    http_port, smtp_port = free_port(), free_port()
    log = (data_dir / "server.log").open("wb")
    command = [sys.executable, "-m", "ramparts", "serve", "--data-dir", str(data_dir)]
    command += ["--smtp", f"127.0.0.1:{smtp_port}", "--http", f"127.0.0.1:{http_port}"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start; see {data_dir / 'server.log'}")
        time.sleep(0.05)


def token(url: str, credentials: dict[str, str]) -> str:
    form = {"grant_type": "client_credentials", **credentials}
    return str(httpx.post(f"{url}/oauth2/token", data=form).json()["access_token"])


def bench_batch(url: str, headers: dict[str, str], pairs: list[tuple[str, str]], data_dir: Path) -> dict[str, float]:
    """Verdicts are accepted (202) and then applied in the background: accepted/s counts until the last
    202, applied/s until the last verdict's status URL says completed (they apply in arrival order)."""
    batches = [pairs[i : i + 1000] for i in range(0, len(pairs), 1000)]
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        client.get("/ices/v1/ping").raise_for_status()
        started = time.perf_counter()
        last = ""
        for number, batch in enumerate(batches):
            items = [
                {
                    "vendorVerdictId": f"b{number}-{i}",
                    "networkMessageId": n,
                    "recipient": r,
                    "verdict": "Phishing",
                    "confidence": 0.9,
                }
                for i, (n, r) in enumerate(batch)
            ]
            response = client.post("/ices/v1/verdicts:batch", json={"verdicts": items})
            response.raise_for_status()
            answers = response.json()["value"]
            assert all(a["status"] == "pending" for a in answers), answers[:3]
            last = answers[-1]["location"]
        accepted_seconds = time.perf_counter() - started
        while (status := client.get(last).json())["status"] == "pending":
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        assert status["status"] == "completed", status
        started = time.perf_counter()
        for _ in batches:
            client.get("/ices/v1/ping").raise_for_status()
        ping_seconds = time.perf_counter() - started
    verdicts = sum(len(b) for b in batches)
    return {
        "verdicts": verdicts,
        "verdicts_moved": moved_copies(data_dir, [n for n, _ in pairs]),
        "requests": len(batches),
        "verdicts_per_second": verdicts / seconds,
        "accepted_per_second": verdicts / accepted_seconds,
        "batch_request_ms_mean": accepted_seconds / len(batches) * 1000,
        "ping_request_ms_mean": ping_seconds / len(batches) * 1000,
    }


def moved_copies(data_dir: Path, nmids: list[str]) -> int:
    """How many of these copies the server moved to quarantine (read from its control-plane database)."""
    settings = load_settings(data_dir)
    engine = make_engine(settings.control_url)
    try:
        with engine.connect() as connection:
            moved = 0
            for start in range(0, len(nmids), 500):
                moved += int(
                    connection.execute(
                        select(func.count())
                        .select_from(MessageCopy)
                        .where(
                            MessageCopy.network_message_id.in_(nmids[start : start + 500]),
                            MessageCopy.latest_location == "Quarantine",
                        )
                    ).scalar_one()
                )
            return moved
    finally:
        engine.dispose()


def wait_applied(data_dir: Path, timeout: float = 600.0) -> float:
    """Seconds until the server has applied every accepted verdict (so the next phase meets an idle server)."""
    settings = load_settings(data_dir)
    engine = make_engine(settings.control_url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as connection:
                pending = connection.execute(
                    select(func.count()).select_from(VerdictIntake).where(VerdictIntake.status == PENDING)
                ).scalar_one()
            if not pending:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _client_process(url: str, requests: list[bytes], rate: float, out: Any) -> None:
    began = time.process_time()
    wall = time.perf_counter()
    latencies = asyncio.run(open_loop(url, requests, rate))
    out.put((latencies, (time.process_time() - began) / (time.perf_counter() - wall)))


def run_client(url: str, requests: list[bytes], rate: float) -> tuple[list[float], float]:
    """Latencies (ms) of `requests` sent at `rate` from another process, and that process's CPU use
    (cores): a client near 1.0 would be measuring itself."""
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    process = context.Process(target=_client_process, args=(url, requests, rate, queue))
    process.start()
    result: tuple[list[float], float] = queue.get()
    process.join()
    return result


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_ms": ordered[-1],
        "requests": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=24000, help="delivered copies to seed")
    parser.add_argument("--rate", type=float, default=300.0, help="single submits per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each fixed-rate run")
    args = parser.parse_args()
    single_count = int(args.rate * args.seconds)
    data_dir = Path(tempfile.mkdtemp(prefix="ramparts-bench-vendor-"))
    try:
        started = time.perf_counter()
        pairs, credentials = seed(data_dir, args.copies)
        print(f"seeded {len(pairs)} delivered copies in {time.perf_counter() - started:.1f} s")
        process, url = start_server(data_dir)
        try:
            headers = {"Authorization": f"Bearer {token(url, credentials)}"}
            single_pairs, batch_pairs = pairs[:single_count], pairs[single_count:]
            batch = bench_batch(url, headers, batch_pairs, data_dir)
            print(f"batch: {batch}", flush=True)
            submits = [
                encode_request(
                    "POST",
                    f"{url}/ices/v1/verdicts",
                    headers,
                    {
                        "vendorVerdictId": f"s-{i}",
                        "networkMessageId": n,
                        "recipient": r,
                        "verdict": "Phishing",
                        "confidence": 0.9,
                    },
                )
                for i, (n, r) in enumerate(single_pairs)
            ]
            latencies, submit_client_cpu = run_client(url, submits, args.rate)
            single = {**percentiles(latencies), "client_cpu_cores": submit_client_cpu}
            drained = wait_applied(data_dir)
            print(f"single submits applied {drained:.1f} s after the last 202", flush=True)
            pings = [encode_request("GET", f"{url}/ices/v1/ping", headers)] * single_count
            latencies, ping_client_cpu = run_client(url, pings, args.rate)
            ping = {**percentiles(latencies), "client_cpu_cores": ping_client_cpu}
        finally:
            process.terminate()
            process.wait(timeout=60)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {
        "batch": {
            **batch,
            "ratio_batch_request_to_ping": batch["batch_request_ms_mean"] / batch["ping_request_ms_mean"],
        },
        "single": {
            "rate_per_second": args.rate,
            "submit": single,
            "ping": ping,
            "ratio_p50": single["p50_ms"] / ping["p50_ms"],
            "ratio_p99": single["p99_ms"] / ping["p99_ms"],
            "applied_after_last_202_s": drained,
        },
        "targets": {"verdicts_per_second": 3000, "single_p99_ms": 50},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    print(
        f"batch: {batch['verdicts_per_second']:.0f} verdicts/s applied (target >= 3000), "
        f"{batch['accepted_per_second']:.0f}/s accepted; one 1,000-verdict request "
        f"{batch['batch_request_ms_mean']:.1f} ms vs ping {batch['ping_request_ms_mean']:.2f} ms"
    )
    print(
        f"single at {args.rate:.0f}/s: p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms (target < 50); "
        f"ping p50 {ping['p50_ms']:.1f} ms, p99 {ping['p99_ms']:.1f} ms; ratio p99 {result['single']['ratio_p99']:.2f}"
    )
    print(f"wrote {write_result('vendor_api', result)}")


if __name__ == "__main__":
    main()
