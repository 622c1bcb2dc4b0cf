"""`ramparts risk attacked --tenant T`: the most attacked people, through the server when it runs (it holds
the telemetry store), else on the store opened read-only here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ramparts.cli_options import DataDir, JsonFlag, emit_json
from ramparts.config import load_settings
from ramparts.errors import InvalidInput
from ramparts.runtime import running_server
from ramparts.services import utc_clock

risk_app = typer.Typer(help="Human risk: who is attacked most, who clicks on what.", no_args_is_help=True)
console = Console()
_SHORT = {"impersonation": "BEC"}


def _through_server(data_dir: Path, http: str, report: str, tenant: str, top: int) -> dict[str, Any]:
    from ramparts.local_client import LocalClient

    client = LocalClient(data_dir, http)
    try:
        return dict(client.get(f"/api/risk/{report}", {"tenant": tenant, "top": top}))
    finally:
        client.close()


def _report(data_dir: Path, report: str, tenant: str, top: int) -> dict[str, Any]:
    settings = load_settings(data_dir)
    server = running_server(settings.data_dir)
    if server:
        return _through_server(settings.data_dir, server.http, report, tenant, top)
    return _here(data_dir, report, tenant, top)


def _here(data_dir: Path, report: str, tenant: str, top: int) -> dict[str, Any]:
    from ramparts.risk.report import most_attacked, riskiest_clickers
    from ramparts.store.db import open_control_plane
    from ramparts.telemetry.duckdb_store import DuckDBStore
    from ramparts.tenants import find_tenant

    settings = load_settings(data_dir)
    if not settings.telemetry_path.exists():
        raise InvalidInput(f"no telemetry store in {settings.data_dir}; run `ramparts demo` or `ramparts serve` first")
    sessions = open_control_plane(settings.control_url)
    with sessions() as session:
        tenant_id = find_tenant(session, tenant).id
    sessions.kw["bind"].dispose()
    store = DuckDBStore(settings.telemetry_path, read_only=True)
    try:
        build = most_attacked if report == "attacked" else riskiest_clickers
        return build(store, tenant_id, utc_clock(), top=top, time_budget_s=settings.hunting_time_budget_seconds)
    finally:
        store.close()


@risk_app.command("attacked")
def risk_attacked(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="How many people.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """People by Attack Factor (0-10): the threats aimed at them in the last 60 days, halved every 14 days."""
    report = _report(data_dir, "attacked", tenant, top)
    if as_json:
        emit_json(report)
        return
    table = Table("Person", "AF", "Index", "VAP", "Threats", "Exposed", "Mostly")
    table.columns[0].no_wrap = True
    for person in report["people"]:
        families = person["byFamily"]
        table.add_row(
            person["person"],
            f"{person['attackFactor']:.1f}",
            f"{person['attackIndex']:.1f}",
            "yes" if person["veryAttacked"] else "",
            str(person["threats"]),
            str(person["exposed"]),
            _SHORT.get(top_family, top_family) if (top_family := max(families, key=families.get, default="")) else "",
        )
    console.print(table)
    console.print(
        f"{report['peopleAttacked']} people attacked; an attack index of {report['reference']:g} scores 10;"
        f" very attacked from {report['veryAttackedThreshold']:g}"
    )


@risk_app.command("behaviour")
def risk_behaviour(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="How many people.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """People by human risk score (0-10) from their clicks on checked links (needs safe_links_url)."""
    report = _report(data_dir, "behaviour", tenant, top)
    if as_json:
        emit_json(report)
        return
    if not report["hasClickData"]:
        console.print("no clicks logged for this tenant: set safe_links_url so that links are checked when clicked")
        return
    table = Table("Person", "HRS", "Band", "Clicks", "Blocked", "Risky")
    table.columns[0].no_wrap = True
    for person in report["people"]:
        table.add_row(
            person["person"],
            f"{person['humanRiskScore']:.1f}",
            person["band"],
            str(person["clicks"]),
            str(person["blockedClicks"]),
            str(person["riskyClicks"]),
        )
    console.print(table)
