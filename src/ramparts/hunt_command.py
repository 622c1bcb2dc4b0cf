"""`ramparts hunt "QUERY"`: KQL from the command line, through the server when it runs.

While `ramparts serve` runs it holds the DuckDB file, so the query goes to POST /api/hunting/query
with the local admin credentials; otherwise the store is opened read-only here.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ramparts.config import Settings, load_settings
from ramparts.errors import InvalidInput
from ramparts.hunting_service import json_rows, parse_timespan, run_on_store
from ramparts.runtime import running_server
from ramparts.services import utc_clock
from ramparts.telemetry.duckdb_store import DuckDBStore

Rows = list[dict[str, Any]]


def _via_server(
    settings: Settings, http: str, query: str, tenant: str | None, timespan: str | None
) -> tuple[list[str], Rows, bool]:
    from ramparts.local_client import LocalClient

    client = LocalClient(settings.data_dir, http)
    try:
        body = client.post("/api/hunting/query", {"query": query, "tenant": tenant, "timespan": timespan})
    finally:
        client.close()
    return [c["name"] for c in body["columns"]], list(body["rows"]), bool(body["truncated"])


def _local(settings: Settings, query: str, tenant: str | None, timespan: str | None) -> tuple[list[str], Rows, bool]:
    from ramparts.store.db import open_control_plane
    from ramparts.tenants import find_tenant

    if not settings.telemetry_path.exists():
        raise InvalidInput(f"no telemetry store in {settings.data_dir}; run `ramparts demo` or `ramparts serve` first")
    tenant_id = None
    if tenant:
        sessions = open_control_plane(settings.control_url)
        with sessions() as session:
            tenant_id = find_tenant(session, tenant).id
        sessions.kw["bind"].dispose()
    now = utc_clock()
    store = DuckDBStore(settings.telemetry_path, read_only=True)
    try:
        result = run_on_store(
            store,
            query,
            now=now,
            tenant_id=tenant_id,
            timespan=parse_timespan(timespan, now),
            row_cap=settings.hunting_row_cap,
            time_budget_s=settings.hunting_time_budget_seconds,
        )
    finally:
        store.close()
    return [name for name, _ in result.columns], json_rows(result), result.truncated


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def hunt_command(
    query: Annotated[str, typer.Argument(help="A KQL query over the hunting tables.")],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", envvar="RAMPARTS_DATA_DIR", help="Where ramparts keeps its data.")
    ] = Path("ramparts-data"),
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's rows (name or id).")] = None,
    timespan: Annotated[
        str | None, typer.Option("--timespan", help="ISO 8601: P7D, start/end, start/P1D...; default the last 30 days.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of row objects.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header line.")] = False,
) -> None:
    """Run a KQL hunting query and print the rows."""
    if as_json and as_csv:
        raise typer.BadParameter("choose --json or --csv, not both")
    settings = load_settings(data_dir)
    server = running_server(settings.data_dir)
    if server is not None:
        columns, rows, truncated = _via_server(settings, server.http, query, tenant, timespan)
    else:
        columns, rows, truncated = _local(settings, query, tenant, timespan)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        console = Console()
        console.print(table)
        console.print(f"[dim]{len(rows)} row(s){' (truncated at the row cap)' if truncated else ''}[/dim]")
    if truncated and (as_json or as_csv):
        Console(stderr=True).print(f"[yellow]warning:[/yellow] truncated at {settings.hunting_row_cap} rows")
