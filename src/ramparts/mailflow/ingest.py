"""`ramparts ingest` and `ramparts demo`: messages from files or the demo generator into the pipeline.

When a server runs on the data directory, messages are handed to it through its spool (the server
owns the telemetry store); otherwise they are processed here.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from rich.progress import Progress

from ramparts.config import Settings
from ramparts.demo import DEMO_TENANTS, DemoTraffic, demo_dns
from ramparts.demo_dns import DemoDns
from ramparts.mailflow.message import Envelope
from ramparts.mailflow.runner import RunSummary, run_offline
from ramparts.runtime import running_server
from ramparts.services import open_services
from ramparts.store.db import open_control_plane


def _hand_to_server(settings: Settings, items: Iterable[tuple[Envelope, bytes]], progress: Progress) -> RunSummary:
    from ramparts.mailflow.spool import Spool

    spool = Spool(settings.spool_dir)
    task = progress.add_task("queued to the running server", total=None)
    summary = RunSummary()
    batch: list[tuple[Envelope, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= 64:
            spool.put_many(batch)
            progress.advance(task, len(batch))
            summary.messages += len(batch)
            batch = []
    if batch:
        spool.put_many(batch)
        progress.advance(task, len(batch))
        summary.messages += len(batch)
    return summary


def _run(
    settings: Settings,
    items: Iterable[tuple[Envelope, bytes]],
    total: int | None,
    description: str,
    progress: Progress,
    tenant: str | None = None,
) -> RunSummary:
    if running_server(settings.data_dir) is not None:
        return _hand_to_server(settings, items, progress)
    services = open_services(settings)
    try:
        task = progress.add_task(description, total=total)
        return run_offline(services, items, tenant=tenant, progress=lambda n: progress.advance(task, n))
    finally:
        services.close()


def ingest_paths(settings: Settings, paths: Sequence[Path], *, tenant: str | None, progress: Progress) -> RunSummary:
    from ramparts.mailflow.sources import count_messages, iter_sources

    errors: list[str] = []

    def items() -> Iterator[tuple[Envelope, bytes]]:
        for source in iter_sources(paths):
            if source.error:
                errors.append(f"{source.origin}: {source.error}")
                continue
            yield (
                Envelope(
                    mail_from=source.mail_from,
                    rcpt_tos=tuple(source.rcpt_tos),
                    received_at=dt.datetime.now(dt.UTC),
                    network_message_id=str(uuid.uuid4()),
                    source="ingest",
                ),
                source.raw,
            )

    summary = _run(settings, items(), count_messages(paths), "ingesting", progress, tenant)
    summary.errors.extend(errors)
    return summary


def ensure_demo_tenants(settings: Settings) -> None:
    from sqlalchemy import select

    from ramparts.store.models import Tenant
    from ramparts.tenants import add_tenant

    sessions = open_control_plane(settings.control_url)
    with sessions.begin() as session:
        existing = set(session.scalars(select(Tenant.name)).all())
        for demo in DEMO_TENANTS:
            if demo.name not in existing:
                add_tenant(
                    session,
                    demo.name,
                    demo.domains,
                    display_name=demo.display_name,
                    default_policy=demo.policy,
                    mailboxes=demo.users,
                    actor="demo",
                )
    sessions.kw["bind"].dispose()


DEMO_DNS_DIR = Path("demo-dns")
DEMO_ZONE = DEMO_DNS_DIR / "demo.zone"
"""Where `ramparts demo` writes its zone, relative to the data directory (keys go in demo-dns/keys/)."""


def install_demo_dns(settings: Settings, seed: int) -> tuple[Settings, DemoDns]:
    """Write the demo's zone and DKIM keys into the data directory and point `dns_zone_file` at the zone.

    The setting goes into the data directory's ramparts.toml too, so that `ramparts serve` on it checks
    mail for the demo domains against the same records. A zone file the operator set is left alone.
    """
    dns = demo_dns(seed, key_dir=settings.data_dir / DEMO_DNS_DIR / "keys")
    dns.write(settings.data_dir / DEMO_ZONE)
    if settings.dns_zone_file is not None:
        return settings, dns
    config = settings.data_dir / "ramparts.toml"
    existing = config.read_text() if config.exists() else ""
    # First in the file: a top-level key must come before any [table].
    config.write_text(f'dns_zone_file = "{DEMO_ZONE.as_posix()}"  # written by `ramparts demo`\n' + existing)
    return settings.model_copy(update={"dns_zone_file": DEMO_ZONE}), dns


def enable_safe_links(settings: Settings, url: str) -> Settings:
    """Turn link checks on at `url` for the demo, in the data directory's ramparts.toml too (so that
    `ramparts serve` rewrites links the same way); a URL the operator set is left alone."""
    if settings.safe_links_url:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = settings.data_dir / "ramparts.toml"
    existing = config.read_text() if config.exists() else ""
    config.write_text(f"safe_links_url = {json.dumps(url)}  # written by `ramparts demo`\n" + existing)
    return settings.model_copy(update={"safe_links_url": url})


def run_demo(settings: Settings, count: int, *, seed: int, progress: Progress) -> RunSummary:
    ensure_demo_tenants(settings)
    configured = settings.dns_zone_file
    settings, dns = install_demo_dns(settings, seed)
    traffic = DemoTraffic(seed, now=dt.datetime.now(dt.UTC), dns=dns)
    items = ((envelope, raw) for envelope, raw, _ in traffic.messages(count))
    summary = _run(settings, items, count, "demo traffic", progress)
    if configured is None and running_server(settings.data_dir) is not None:
        summary.errors.append("restart the server to check demo mail against the demo DNS zone (dns_zone_file)")
    return summary
