"""The `ramparts` command."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import ramparts
from ramparts.cli_options import DataDir, JsonFlag
from ramparts.config import Settings, load_settings
from ramparts.errors import RampartsError
from ramparts.hunt_command import hunt_command
from ramparts.identity.commands import app_commands
from ramparts.quarantine_commands import quarantine_app
from ramparts.risk_commands import risk_app
from ramparts.vendors.commands import vendor_app

app = typer.Typer(
    help="ramparts: an open, self-hostable email-security hub.", no_args_is_help=True, pretty_exceptions_enable=False
)
tenant_app = typer.Typer(help="Tenants, their accepted domains and mailboxes.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(app_commands, name="app")
app.add_typer(vendor_app, name="vendor")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(risk_app, name="risk")
app.command("hunt")(hunt_command)
console = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"ramparts {ramparts.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Gateway, multi-vendor verdicts and KQL hunting, on your own machines."""


def _split_hostport(text: str, option: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"expected HOST:PORT, got {text!r}", param_hint=option)
    return host.strip("[]"), int(port)


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir, **overrides)


def print_rows(columns: list[str], rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, default=_json_default, ensure_ascii=False) + "\n")
        return
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    console.print(table)
    console.print(f"[dim]{len(rows)} row(s)[/dim]")


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.timedelta):
        return str(value)
    return repr(value)


@app.command()
def serve(
    data_dir: DataDir = Path("ramparts-data"),
    smtp: Annotated[str, typer.Option(help="SMTP listen address HOST:PORT.")] = "127.0.0.1:2525",
    http: Annotated[str, typer.Option(help="HTTP listen address HOST:PORT.")] = "127.0.0.1:8025",
) -> None:
    """Run the SMTP gateway, the spool worker and the HTTP API in one process."""
    from ramparts.server import serve as run_server

    smtp_host, smtp_port = _split_hostport(smtp, "--smtp")
    http_host, http_port = _split_hostport(http, "--http")
    settings = settings_for(
        data_dir, smtp_host=smtp_host, smtp_port=smtp_port, http_host=http_host, http_port=http_port
    )
    asyncio.run(run_server(settings))


@tenant_app.command("add")
def tenant_add(
    name: Annotated[str, typer.Argument(help="Short tenant name (letters, digits, - and _).")],
    domain: Annotated[list[str], typer.Option("--domain", help="Accepted domain; repeat for several.")],
    data_dir: DataDir = Path("ramparts-data"),
    user: Annotated[
        list[str] | None, typer.Option("--user", help="Mailbox ADDRESS[:Display Name[:Standard|Strict]]; repeat.")
    ] = None,
    policy: Annotated[str, typer.Option(help="Default preset policy: Standard or Strict.")] = "Standard",
    as_json: JsonFlag = False,
) -> None:
    """Create a tenant with its accepted domains and mailboxes."""
    from ramparts.store.db import open_control_plane
    from ramparts.tenants import MailboxSpec, add_tenant

    sessions = open_control_plane(settings_for(data_dir).control_url)
    with sessions.begin() as session:
        tenant = add_tenant(
            session, name, domain, default_policy=policy, mailboxes=[MailboxSpec.parse(u) for u in user or []]
        )
        result = {"id": tenant.id, "name": tenant.name, "accepted_domains": sorted(d.lower() for d in domain)}
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        console.print(f"tenant [bold]{result['name']}[/bold] created: id {result['id']}")


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False) -> None:
    """List tenants with their accepted domains."""
    from ramparts.store.db import open_control_plane
    from ramparts.tenants import list_tenants

    sessions = open_control_plane(settings_for(data_dir).control_url)
    with sessions() as session:
        tenants = list_tenants(session)
    if as_json:
        sys.stdout.write(json.dumps(tenants) + "\n")
        return
    print_rows(
        ["name", "id", "default_policy", "accepted_domains", "mailboxes"],
        [{**t, "accepted_domains": ", ".join(t["accepted_domains"])} for t in tenants],  # type: ignore[arg-type]
        False,
    )


ListKind = Annotated[str, typer.Argument(help="sender, domain or url.")]
ListValue = Annotated[str, typer.Argument(help="An address, a domain (*.x.example for its subdomains) or a URL.")]


def _set_list_entry(data_dir: Path, tenant: str, kind: str, value: str, action: str, as_json: bool) -> None:
    from ramparts.store.db import open_control_plane
    from ramparts.tenant_lists import set_entry

    sessions = open_control_plane(settings_for(data_dir).control_url)
    with sessions.begin() as session:
        entry = set_entry(session, tenant, kind, value, action, actor="cli")
    if as_json:
        sys.stdout.write(json.dumps(entry) + "\n")
    else:
        console.print(f"{entry['action']}ed {entry['kind']} {entry['value']} for {tenant}", highlight=False)


@tenant_app.command("allow")
def tenant_allow(
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    kind: ListKind,
    value: ListValue,
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Allow a sender, domain or URL (malware and high confidence phishing are never let through)."""
    _set_list_entry(data_dir, tenant, kind, value, "allow", as_json)


@tenant_app.command("block")
def tenant_block(
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    kind: ListKind,
    value: ListValue,
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Block a sender or domain (high confidence spam) or a URL (phishing; its clicks are blocked too)."""
    _set_list_entry(data_dir, tenant, kind, value, "block", as_json)


@tenant_app.command("unlist")
def tenant_unlist(
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    kind: ListKind,
    value: ListValue,
    data_dir: DataDir = Path("ramparts-data"),
) -> None:
    """Take a sender, domain or URL off the tenant's allow or block list."""
    from ramparts.store.db import open_control_plane
    from ramparts.tenant_lists import remove_entry

    sessions = open_control_plane(settings_for(data_dir).control_url)
    with sessions.begin() as session:
        remove_entry(session, tenant, kind, value, actor="cli")
    console.print(f"removed {kind} {value} from {tenant}'s lists", highlight=False)


@tenant_app.command("lists")
def tenant_lists(
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """The tenant's allow and block entries."""
    from ramparts.store.db import open_control_plane
    from ramparts.tenant_lists import list_entries

    sessions = open_control_plane(settings_for(data_dir).control_url)
    with sessions() as session:
        entries = list_entries(session, tenant)
    if as_json:
        sys.stdout.write(json.dumps(entries) + "\n")
        return
    print_rows(["kind", "action", "value", "created"], entries, False)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def _print_summary(summary: Any, seconds: float) -> None:
    table = Table("", "count", title="Summary")
    table.add_row("messages processed", str(summary.messages))
    table.add_row("recipient copies", str(summary.copies))
    for location, count in summary.locations.most_common():
        table.add_row(f"  {location}", str(count))
    for verdict, count in summary.verdicts.most_common():
        table.add_row(f"  verdict {verdict}", str(count))
    table.add_row("skipped", str(summary.skipped))
    for reason, count in summary.skip_reasons.most_common():
        table.add_row(f"  {reason}", str(count))
    rate = summary.messages / seconds if seconds > 0 else 0.0
    table.add_row("elapsed", f"{seconds:.1f} s ({rate:.0f} msg/s)")
    err.print(table)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help=".eml files, mbox files, Maildir folders or directories.")],
    data_dir: DataDir = Path("ramparts-data"),
    tenant: Annotated[
        str | None, typer.Option(help="Put every recipient in this tenant (for mail of other domains).")
    ] = None,
) -> None:
    """Send stored messages through the pipeline, with a progress bar and a summary."""
    import time

    from ramparts.mailflow.ingest import ingest_paths

    settings = settings_for(data_dir)
    started = time.perf_counter()
    with _progress() as progress:
        summary = ingest_paths(settings, paths, tenant=tenant, progress=progress)
    _print_summary(summary, time.perf_counter() - started)
    if summary.errors:
        for problem in summary.errors[:20]:
            err.print(f"[yellow]warning:[/yellow] {problem}")


@app.command()
def demo(
    data_dir: DataDir = Path("ramparts-data"),
    messages: Annotated[int, typer.Option("--messages", min=0, help="How many demo messages to send.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed for the traffic generator.")] = 7,
    safe_links_url: Annotated[
        str, typer.Option("--safe-links-url", help="Turn on link checks at this base URL (kept in ramparts.toml).")
    ] = "",
) -> None:
    """Create demo tenants and users, and send realistic mixed traffic through the real pipeline."""
    import time

    from ramparts.mailflow.ingest import enable_safe_links, run_demo

    settings = settings_for(data_dir)
    if safe_links_url:
        settings = enable_safe_links(settings, safe_links_url)
    started = time.perf_counter()
    with _progress() as progress:
        summary = run_demo(settings, messages, seed=seed, progress=progress)
    _print_summary(summary, time.perf_counter() - started)
    for problem in summary.errors[:20]:
        err.print(f"[yellow]warning:[/yellow] {problem}")


clicks_app = typer.Typer(help="Clicks on checked links in delivered mail.", no_args_is_help=True)
app.add_typer(clicks_app, name="clicks")


@clicks_app.command("simulate")
def clicks_simulate(
    url: Annotated[str, typer.Option("--url", help="The running server, e.g. http://127.0.0.1:8025.")],
    data_dir: DataDir = Path("ramparts-data"),
    share: Annotated[float, typer.Option("--share", min=0.0, max=1.0, help="Share of messages clicked.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed for choosing the messages.")] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Play people clicking links in their Inbox and Junk mail, through the server's link checks."""
    from ramparts.click_simulation import simulate_clicks

    settings = settings_for(data_dir)
    summary = simulate_clicks(settings.mail_dir, url, share=share, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(summary.as_json()) + "\n")
    else:
        table = Table("", "count", title="Clicks")
        table.add_row("messages read", str(summary.messages_read))
        table.add_row("links clicked", str(summary.clicks))
        for outcome, count in summary.outcomes.most_common():
            table.add_row(f"  {outcome}", str(count))
        console.print(table)
    for problem in summary.errors[:20]:
        err.print(f"[yellow]warning:[/yellow] {problem}")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A read-only SQL query on the telemetry store.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Run read-only SQL on the telemetry store (DuckDB dialect)."""
    from ramparts.telemetry.readonly import run_readonly_sql

    columns, rows = run_readonly_sql(settings_for(data_dir), query)
    print_rows(columns, rows, as_json)


def main() -> None:
    """Entry point: errors are one readable line (set RAMPARTS_DEBUG=1 for the traceback)."""
    try:
        app()
    except RampartsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("RAMPARTS_DEBUG"):
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        err.print("[dim]run again with RAMPARTS_DEBUG=1 to see the traceback[/dim]")
        sys.exit(1)
