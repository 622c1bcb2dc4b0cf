"""`ramparts app add|list|rotate|revoke`: OAuth2 client-credentials apps of the control plane.

These commands write the control-plane database directly (SQLite allows several processes), so they
work whether or not the server runs; a running server notices a revocation within seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ramparts.cli_options import ACTOR, DataDir, JsonFlag, control_plane, emit_json
from ramparts.identity.apps import list_apps, register_app, revoke_app, rotate_secret
from ramparts.identity.models import AppRegistration
from ramparts.identity.scopes import ALL_SCOPES, THREAT_HUNTING_READ
from ramparts.store.models import Tenant
from ramparts.tenants import find_tenant

app_commands = typer.Typer(
    help="OAuth2 apps (client credentials) that call the Graph and vendor APIs.", no_args_is_help=True
)
console = Console()


def _app_json(app: AppRegistration, tenant_names: dict[str, str]) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "name": app.name,
        "kind": app.kind,
        "tenant": tenant_names.get(app.tenant_id or "", ""),
        "tenant_id": app.tenant_id,
        "vendor_id": app.vendor_id,
        "scopes": list(app.scopes),
        "created_at": app.created_at.isoformat(),
        "revoked_at": app.revoked_at.isoformat() if app.revoked_at else None,
    }


@app_commands.command("add")
def app_add(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id the app acts for.")],
    data_dir: DataDir = Path("ramparts-data"),
    scopes: Annotated[
        str, typer.Option("--scopes", help=f"Comma-separated permissions: {', '.join(sorted(ALL_SCOPES))}.")
    ] = THREAT_HUNTING_READ,
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise the app by.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a tenant app and print its client id and its secret (shown once)."""
    with control_plane(data_dir).begin() as session:
        found = find_tenant(session, tenant)
        app, secret = register_app(
            session,
            name=name or f"{found.name}-app",
            kind="tenant_app",
            scopes=[s for s in scopes.split(",") if s.strip()],
            tenant_id=found.id,
            actor=ACTOR,
        )
        result = {
            "client_id": app.client_id,
            "client_secret": secret,
            "tenant": found.id,
            "tenant_name": found.name,
            "scopes": list(app.scopes),
        }
    if as_json:
        emit_json(result)
        return
    console.print(f"app [bold]{app.name}[/bold] registered for tenant {found.name}")
    console.print(f"client id:     {result['client_id']}")
    console.print(f"client secret: {secret}  [dim](shown once; store it now)[/dim]")
    console.print(f"scopes:        {', '.join(app.scopes)}")


@app_commands.command("list")
def app_list(
    data_dir: DataDir = Path("ramparts-data"),
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's apps.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List registered apps (never their secrets)."""
    with control_plane(data_dir)() as session:
        tenant_id = find_tenant(session, tenant).id if tenant else None
        names = {t.id: t.name for t in session.query(Tenant)}
        apps = [_app_json(a, names) for a in list_apps(session, tenant_id=tenant_id)]
    if as_json:
        emit_json(apps)
        return
    table = Table("client id", "name", "kind", "tenant", "vendor", "scopes", "revoked")
    for a in apps:
        table.add_row(
            a["client_id"],
            a["name"],
            a["kind"],
            a["tenant"],
            a["vendor_id"] or "",
            ", ".join(a["scopes"]),
            a["revoked_at"] or "",
        )
    console.print(table)


@app_commands.command("rotate")
def app_rotate(
    client_id: Annotated[str, typer.Argument(help="The app's client id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Give an app a new secret; the old one keeps working for 24 hours."""
    with control_plane(data_dir).begin() as session:
        secret = rotate_secret(session, client_id, actor=ACTOR)
    if as_json:
        emit_json({"client_id": client_id, "client_secret": secret})
        return
    console.print(f"new client secret: {secret}  [dim](shown once; the old one works for 24 hours)[/dim]")


@app_commands.command("revoke")
def app_revoke(
    client_id: Annotated[str, typer.Argument(help="The app's client id.")],
    data_dir: DataDir = Path("ramparts-data"),
    as_json: JsonFlag = False,
) -> None:
    """Revoke an app: no new tokens, and its current tokens stop working within seconds."""
    with control_plane(data_dir).begin() as session:
        revoke_app(session, client_id, actor=ACTOR)
    if as_json:
        emit_json({"client_id": client_id, "revoked": True})
        return
    console.print(f"app {client_id} revoked")
