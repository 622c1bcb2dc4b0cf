from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ramparts.cli import app
from ramparts.config import load_settings
from ramparts.identity import verify_client
from ramparts.store.db import open_control_plane
from ramparts.tenants import add_tenant

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_app_add_list_rotate_revoke(tmp_path: Path) -> None:
    sessions = open_control_plane(load_settings(tmp_path).control_url)
    with sessions.begin() as session:
        tenant_id = add_tenant(session, "contoso", ["contoso.example"]).id
    data = ["--data-dir", str(tmp_path)]
    added = json.loads(_run("app", "add", *data, "--tenant", "contoso", "--scopes", "ThreatHunting.Read.All", "--json"))
    assert added["tenant"] == tenant_id
    assert added["client_secret"]
    with sessions() as session:
        assert verify_client(session, added["client_id"], added["client_secret"]).tenant_id == tenant_id

    listed = json.loads(_run("app", "list", *data, "--json"))
    assert [(a["client_id"], a["tenant"], a["scopes"]) for a in listed] == [
        (added["client_id"], "contoso", ["ThreatHunting.Read.All"])
    ]
    assert "client_secret" not in listed[0]
    assert added["client_secret"] not in _run("app", "list", *data)

    rotated = json.loads(_run("app", "rotate", added["client_id"], *data, "--json"))
    assert rotated["client_secret"] != added["client_secret"]
    _run("app", "revoke", added["client_id"], *data)
    assert json.loads(_run("app", "list", *data, "--json"))[0]["revoked_at"]
    sessions.kw["bind"].dispose()


def test_app_add_refuses_unknown_scopes(tmp_path: Path) -> None:
    sessions = open_control_plane(load_settings(tmp_path).control_url)
    with sessions.begin() as session:
        add_tenant(session, "contoso", ["contoso.example"])
    sessions.kw["bind"].dispose()
    result = runner.invoke(
        app, ["app", "add", "--data-dir", str(tmp_path), "--tenant", "contoso", "--scopes", "Mail.Send"]
    )
    assert result.exit_code != 0
    assert "Mail.Send" in str(result.exception)
