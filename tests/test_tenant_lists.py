"""Tenant allow/block lists: what an entry may be, idempotence, action changes, removal, audit; the admin
routes and the `ramparts tenant allow|block|unlist|lists` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ramparts.api.app import create_app
from ramparts.cli import app as cli
from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.scopes import ADMIN
from ramparts.services import Services, utc_clock
from ramparts.store.models import AuditEntry
from ramparts.tenant_lists import list_entries, normalized, remove_entry, set_entry
from tests.identity.support import add_app, add_tenants, bearer, make_services, token_for


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", utc_clock)  # type: ignore[arg-type]
    add_tenants(opened, "contoso", "fabrikam")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("sender", " Bad.Guy@Evil.Example ", "bad.guy@evil.example"),
        ("domain", "Evil.Example.", "evil.example"),
        ("domain", "*.evil.example", "*.evil.example"),
        ("url", "HTTPS://Login.Evil.Example/Reset?a=B", "login.evil.example/Reset?a=B"),
        ("url", "evil.example", "evil.example"),
    ],
)
def test_entries_are_stored_in_one_form(kind: str, value: str, stored: str) -> None:
    assert normalized(kind, value) == stored


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [("person", "x@y.example", "kind"), ("sender", "not-an-address", "value"), ("domain", "evil", "value"),
     ("domain", "evil .example", "value"), ("url", "javascript:alert(1)", "value"), ("url", "", "value")],
)  # fmt: skip
def test_bad_entries_name_what_is_wrong(kind: str, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalized(kind, value)
    assert caught.value.field == field


def test_set_is_idempotent_changes_the_action_and_is_audited(services: Services) -> None:
    with services.sessions.begin() as session:
        set_entry(session, "contoso", "domain", "evil.example", "block", actor="alice")
        set_entry(session, "contoso", "domain", "EVIL.example", "block", actor="alice")
        changed = set_entry(session, "contoso", "domain", "evil.example", "allow", actor="bob")
    assert changed["action"] == "allow"
    with services.sessions() as session:
        assert [(e["kind"], e["action"], e["value"]) for e in list_entries(session, "contoso")] == [
            ("domain", "allow", "evil.example")
        ]
        assert list_entries(session, "fabrikam") == []
        audited = session.execute(select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.target.like("domain:%")))
        assert list(audited) == [("alice", "lists.block"), ("bob", "lists.allow")]
    with services.sessions.begin() as session:
        remove_entry(session, "contoso", "domain", "evil.example", actor="bob")
    with services.sessions.begin() as session, pytest.raises(NotFound):
        remove_entry(session, "contoso", "domain", "evil.example", actor="bob")


def test_admin_routes(services: Services) -> None:
    client_id, secret = add_app(services, scopes=[ADMIN], kind="admin")

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = bearer(await token_for(client, client_id, secret))
            body = {"kind": "url", "value": "https://evil.example/login", "action": "block"}
            return [
                await client.post("/api/tenants/contoso/lists", json=body, headers=headers),
                await client.get("/api/tenants/contoso/lists", headers=headers),
                await client.post("/api/tenants/contoso/lists", json={**body, "kind": "x"}, headers=headers),
                await client.delete(
                    "/api/tenants/contoso/lists", params={"kind": "url", "value": "evil.example/login"}, headers=headers
                ),
                await client.get("/api/tenants/contoso/lists", headers=headers),
                await client.get("/api/tenants/nope/lists", headers=headers),
                await client.get("/api/tenants/contoso/lists"),
            ]

    added, listed, bad, removed, empty, unknown, anonymous = anyio.run(run)
    assert added.status_code == 200 and added.json()["value"] == "evil.example/login"
    assert [e["value"] for e in listed.json()["value"]] == ["evil.example/login"]
    assert bad.status_code == 400 and "unknown kind" in bad.text
    assert removed.status_code == 204 and empty.json()["value"] == []
    assert unknown.status_code == 404 and anonymous.status_code == 401


def test_commands(services: Services) -> None:
    data = ["--data-dir", str(services.settings.data_dir)]
    runner = CliRunner()
    blocked = runner.invoke(cli, ["tenant", "block", "contoso", "sender", "Bad@Evil.Example", *data])
    assert blocked.exit_code == 0 and "blocked sender bad@evil.example" in blocked.stdout
    listed = runner.invoke(cli, ["tenant", "lists", "contoso", *data, "--json"])
    assert [(e["kind"], e["action"], e["value"]) for e in json.loads(listed.stdout)] == [
        ("sender", "block", "bad@evil.example")
    ]
    assert runner.invoke(cli, ["tenant", "unlist", "contoso", "sender", "bad@evil.example", *data]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["tenant", "lists", "contoso", *data, "--json"]).stdout) == []
