"""`ramparts quarantine list|show|preview|release|delete|report`.

While `ramparts serve` runs it holds the telemetry store (a release writes EmailPostDeliveryEvents), so the
commands go to the server's /api/quarantine routes as its local administrator; otherwise they open the
data directory here. Either way the same code acts and the audit log names the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import typer
from rich.console import Console

from ramparts import quarantine
from ramparts.cli_options import ACTOR, DataDir, JsonFlag, emit_json
from ramparts.config import Settings, load_settings
from ramparts.runtime import running_server
from ramparts.services import Services, open_services

quarantine_app = typer.Typer(help="Quarantined mail: search, preview, release, delete, report.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

Identity = Annotated[str, typer.Argument(help="The record's identity (GUID\\GUID), as `list` shows it.")]


def _path(identity: str, action: str = "") -> str:
    return f"/api/quarantine/{quote(identity, safe='')}" + (f"/{action}" if action else "")


def _through_server(settings: Settings, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
    from ramparts.local_client import LocalClient

    server = running_server(settings.data_dir)
    assert server is not None
    client = LocalClient(settings.data_dir, server.http)
    try:
        return client.request(method, path, params=params)
    finally:
        client.close()


def _here(settings: Settings, act: Callable[[Services], T]) -> T:
    services = open_services(settings)
    try:
        result = act(services)
        services.writer.flush()
        return result
    finally:
        services.close()


def _tenant_id(services: Services, tenant: str | None) -> str | None:
    if not tenant:
        return None
    from ramparts.tenants import find_tenant

    with services.sessions() as session:
        return find_tenant(session, tenant).id


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@quarantine_app.command("list")
def quarantine_list(
    data_dir: DataDir = Path("ramparts-data"),
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant name or id.")] = None,
    types: Annotated[list[str] | None, typer.Option("--type", help="Phish, Malware, Spam...; repeat.")] = None,
    released: Annotated[bool | None, typer.Option("--released/--not-released", help="Only released / not.")] = None,
    recipient: Annotated[str, typer.Option("--recipient")] = "",
    sender: Annotated[str, typer.Option("--sender")] = "",
    subject: Annotated[str, typer.Option("--subject", help="Part of the subject, any case.")] = "",
    engine: Annotated[str, typer.Option("--engine", help="Caught by this engine or vendor (name).")] = "",
    threat: Annotated[str, typer.Option("--threat", help="A verdict names this threat or rule (part).")] = "",
    start: Annotated[str | None, typer.Option("--start", help="Since (ISO 8601); default 16 days ago.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Received on or before (ISO 8601).")] = None,
    page: Annotated[int, typer.Option("--page")] = 1,
    page_size: Annotated[int, typer.Option("--page-size")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Quarantined messages, newest first (one row per recipient)."""
    settings = load_settings(data_dir)
    statuses = () if released is None else (("Released",) if released else ("NotReleased",))
    since, until = _when(start), _when(end)
    if running_server(settings.data_dir):
        params: dict[str, Any] = {
            "tenant": tenant,
            "type": types or [],
            "release_status": list(statuses),
            "recipient": recipient,
            "sender": sender,
            "subject": subject,
            "engine": engine,
            "threat": threat,
            "start": since.isoformat() if since else None,
            "end": until.isoformat() if until else None,
            "page": page,
            "page_size": page_size,
        }
        found = _through_server(settings, "GET", "/api/quarantine", {k: v for k, v in params.items() if v})["value"]
    else:

        def search(services: Services) -> list[dict[str, Any]]:
            query = quarantine.QuarantineQuery(
                tenant_id=_tenant_id(services, tenant),
                quarantine_types=tuple(types or ()),
                release_statuses=statuses,
                recipient=recipient,
                sender=sender,
                subject=subject,
                engine=engine,
                threat=threat,
                start=since,
                end=until,
                page=page,
                page_size=page_size,
            )
            with services.sessions() as session:
                return quarantine.search(session, query, services.clock())

        found = _here(settings, search)
    if as_json:
        emit_json(found)
        return
    for row in found:
        received = str(row["ReceivedTime"])[:16].replace("T", " ")
        console.print(f"[bold]{row['Identity']}[/bold]", highlight=False)
        console.print(
            f"  {received}  {row['Type']:<13} {row['ReleaseStatus']:<11} {row['RecipientAddress']}"
            f" <- {row['SenderAddress']}  {str(row['Subject'])[:70]!r}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    console.print(f"{len(found)} record(s)")


def _one(settings: Settings, action: str, identity: str) -> Any:
    """Run one action on a record: details, preview, release, delete or report."""
    if running_server(settings.data_dir):
        method = "GET" if action in ("details", "preview") else "POST"
        return _through_server(settings, method, _path(identity, "" if action == "details" else action))

    def act(services: Services) -> Any:
        if action == "details":
            return quarantine.details(services, identity, None)
        operation: Callable[[Services, str, str | None, str], Any] = getattr(quarantine, action)
        return operation(services, identity, None, ACTOR)

    return _here(settings, act)


_SHOWN = (
    "Identity", "ReceivedTime", "SenderAddress", "RecipientAddress", "Subject", "Type", "PolicyType", "PolicyName",
    "TagName", "ReleaseStatus", "ReleasedBy", "Expires", "Reported", "NetworkMessageId",
)  # fmt: skip


def _print_record(record: dict[str, Any]) -> None:
    for key in _SHOWN:
        console.print(f"[bold]{key}[/bold]: {record.get(key)}", highlight=False, markup=True, soft_wrap=True)
    for verdict in record.get("Verdicts", []):
        names = ", ".join(verdict["threatNames"])
        console.print(
            f"verdict: {verdict['verdict']} from {verdict['source']} ({verdict['sourceKind']},"
            f" confidence {verdict['confidence']:g}){': ' + names if names else ''}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@quarantine_app.command("show")
def quarantine_show(identity: Identity, data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False) -> None:
    """One record's properties."""
    record = _one(load_settings(data_dir), "details", identity)
    if as_json:
        emit_json(record)
    else:
        _print_record(record)


@quarantine_app.command("preview")
def quarantine_preview(
    identity: Identity, data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False
) -> None:
    """Headers and text of a quarantined message, its links and attachments as text (audited)."""
    shown = _one(load_settings(data_dir), "preview", identity)
    if as_json:
        emit_json(shown)
        return
    for header in shown["Headers"]:
        console.print(f"{header['name']}: {header['value']}", highlight=False, markup=False, soft_wrap=True)
    console.print()
    console.print(shown["Text"], highlight=False, markup=False)
    for url in shown["Urls"]:
        console.print(f"link ({url['location']}): {url['url']}", highlight=False, markup=False)
    for attachment in shown["Attachments"]:
        console.print(
            f"attachment: {attachment['fileName']} ({attachment['fileType']}, {attachment['size']} bytes,"
            f" sha256 {attachment['sha256']})",
            highlight=False,
            markup=False,
        )


Identities = Annotated[list[str], typer.Argument(help="Record identities (GUID\\GUID), up to 100.")]
_DONE = {"release": "released", "delete": "deleted", "report": "reported as clean"}


def _act_on(data_dir: Path, action: str, identities: list[str], as_json: bool) -> None:
    """release, delete or report each record on its own; exit 2 when any of them could not be."""
    settings = load_settings(data_dir)
    if running_server(settings.data_dir):
        from ramparts.local_client import LocalClient

        server = running_server(settings.data_dir)
        assert server is not None
        client = LocalClient(settings.data_dir, server.http)
        try:
            results = client.post(f"/api/quarantine/bulk/{action}", {"identities": identities})["value"]
        finally:
            client.close()
    else:
        results = _here(settings, lambda services: quarantine.bulk(services, action, identities, None, ACTOR))
    if as_json:
        emit_json(results)
    failed = [r for r in results if r["result"] != "Success"]
    for result in results:
        if result["result"] == "Success" and not as_json:
            console.print(f"{_DONE[action]} {result['identity']}", highlight=False, soft_wrap=True)
    for result in failed:
        err.print(f"error: {result['identity']}: {result['message']}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@quarantine_app.command("release")
def quarantine_release(
    identities: Identities, data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False
) -> None:
    """Deliver each recipient's copy to the Inbox (once)."""
    _act_on(data_dir, "release", identities, as_json)


@quarantine_app.command("delete")
def quarantine_delete(
    identities: Identities, data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False
) -> None:
    """Delete quarantined copies for good (a released record only leaves the quarantine)."""
    _act_on(data_dir, "delete", identities, as_json)


@quarantine_app.command("report")
def quarantine_report(
    identities: Identities, data_dir: DataDir = Path("ramparts-data"), as_json: JsonFlag = False
) -> None:
    """Report messages as clean (false positives)."""
    _act_on(data_dir, "report", identities, as_json)
