"""`ramparts vendor add|approve|revoke|suspend|reactivate|rotate|list|simulate`.

These commands write the control-plane database directly (SQLite allows several processes), so they
work whether or not the server runs; a running server sees a suspension at the vendor's next call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ramparts.cli_options import ACTOR, DataDir, JsonFlag, control_plane, emit_json
from ramparts.vendors import registry
from ramparts.vendors.models import Vendor

vendor_app = typer.Typer(help="ICES vendors: registration, approval per tenant, suspension.", no_args_is_help=True)
console = Console()


@vendor_app.command("add")
def vendor_add(
    name: Annotated[str, typer.Argument(help="The vendor's name (unique).")],
    data_dir: DataDir = Path("ramparts-data"),
    label: Annotated[str, typer.Option("--label", help='Detection technology label; default "Thirdparty: NAME".')] = "",
    contact: Annotated[str, typer.Option("--contact", help="Who to call at the vendor.")] = "",
    approve: Annotated[list[str] | None, typer.Option("--approve", help="Approve for this tenant; repeat.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a vendor and its app; prints the client id and secret (shown once)."""
    with control_plane(data_dir).begin() as session:
        vendor, credentials = registry.add_vendor(
            session, name=name, detection_technology=label, contact=contact, actor=ACTOR
        )
        for tenant in approve or []:
            registry.approve(session, vendor.id, tenant, actor=ACTOR)
        result = {
            "vendor_id": vendor.id,
            "name": vendor.name,
            "detection_technology": vendor.detection_technology,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "approved_tenants": list(approve or []),
        }
    if as_json:
        emit_json(result)
        return
    console.print(f"vendor [bold]{vendor.name}[/bold] registered ({result['detection_technology']})")
    console.print(f"client id:     {credentials.client_id}")
    console.print(f"client secret: {credentials.client_secret}  [dim](shown once; store it now)[/dim]")


@vendor_app.command("approve")
def vendor_approve(
    vendor: Annotated[str, typer.Argument(help="Vendor name or id.")],
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Let a vendor judge (and act on) a tenant's mail."""
    with control_plane(data_dir).begin() as session:
        registry.approve(session, vendor, tenant, actor=ACTOR)
    if as_json:
        emit_json({"vendor": vendor, "tenant": tenant, "approved": True})
    else:
        console.print(f"vendor {vendor} approved for tenant {tenant}")


@vendor_app.command("revoke")
def vendor_revoke(
    vendor: Annotated[str, typer.Argument(help="Vendor name or id.")],
    tenant: Annotated[str, typer.Argument(help="Tenant name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Withdraw a tenant's approval: the vendor no longer sees or acts on its mail."""
    with control_plane(data_dir).begin() as session:
        registry.revoke_approval(session, vendor, tenant, actor=ACTOR)
    if as_json:
        emit_json({"vendor": vendor, "tenant": tenant, "approved": False})
    else:
        console.print(f"vendor {vendor} no longer approved for tenant {tenant}")


@vendor_app.command("suspend")
def vendor_suspend(
    vendor: Annotated[str, typer.Argument(help="Vendor name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Refuse every call of the vendor (403) until it is reactivated."""
    _change_status(registry.suspend, vendor, data_dir, as_json, "suspended")


@vendor_app.command("reactivate")
def vendor_reactivate(
    vendor: Annotated[str, typer.Argument(help="Vendor name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Accept the vendor's calls again."""
    _change_status(registry.reactivate, vendor, data_dir, as_json, "active")


def _change_status(change: Callable[..., Vendor], vendor: str, data_dir: Path, as_json: bool, shown_as: str) -> None:
    with control_plane(data_dir).begin() as session:
        found = change(session, vendor, actor=ACTOR)
        result = {"vendor_id": found.id, "name": found.name, "status": found.status}
    if as_json:
        emit_json(result)
    else:
        console.print(f"vendor {result['name']} {shown_as}")


@vendor_app.command("rotate")
def vendor_rotate(
    vendor: Annotated[str, typer.Argument(help="Vendor name or id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Give the vendor's app a new secret (the old one keeps working for 24 hours)."""
    with control_plane(data_dir).begin() as session:
        credentials = registry.rotate(session, vendor, actor=ACTOR)
    result = {"vendor_id": credentials.vendor_id, "client_id": credentials.client_id}
    if as_json:
        emit_json({**result, "client_secret": credentials.client_secret})
        return
    console.print(f"new client secret: {credentials.client_secret}  [dim](shown once)[/dim]")


@vendor_app.command("list")
def vendor_list(data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False) -> None:
    """List vendors, their status and the tenants that approve them (never secrets)."""
    with control_plane(data_dir)() as session:
        vendors = registry.list_vendors(session)
    if as_json:
        emit_json(vendors)
        return
    table = Table("name", "id", "label", "status", "client id", "approved by")
    for v in vendors:
        table.add_row(
            v["name"], v["id"], v["detection_technology"], v["status"], v["client_id"], ", ".join(v["approved_tenants"])
        )
    console.print(table)


@vendor_app.command("simulate")
def vendor_simulate(
    data_dir: DataDir = Path("ramparts-data"),
    url: Annotated[str, typer.Option("--url", help="Base URL of the running server.")] = "http://127.0.0.1:8025",
    vendor: Annotated[str, typer.Option("--vendor", help="Name of the simulated vendor.")] = "Acme ICES",
    as_json: JsonFlag = False,
) -> None:
    """Play a vendor against a running server: register, follow mail, submit verdicts, print a summary."""
    from ramparts.vendors.simulate import simulate

    summary = simulate(data_dir, url, vendor_name=vendor)
    if as_json:
        emit_json(summary.as_json())
        return
    table = Table("", "count", title=f"Vendor {vendor}")
    for key, value in summary.as_json().items():
        if isinstance(value, dict):
            for sub, count in sorted(value.items()):
                table.add_row(f"{key}: {sub}", str(count))
        else:
            table.add_row(key, str(value))
    console.print(table)
