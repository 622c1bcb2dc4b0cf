"""The vendor registry and `ramparts vendor ...`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ramparts.cli import app as cli_app
from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.apps import verify_client
from ramparts.identity.models import AppRegistration
from ramparts.store.models import AuditEntry
from ramparts.vendors import registry
from ramparts.vendors.models import Vendor
from tests.vendors.support import World


def test_add_vendor_registers_a_vendor_app_with_the_submit_scope(world: World) -> None:
    with world.services.sessions.begin() as session:
        vendor, credentials = registry.add_vendor(session, name="Acme ICES", contact="soc@acme.example", actor="admin")
        app = session.get(AppRegistration, credentials.client_id)
        assert app is not None and app.kind == "vendor" and app.vendor_id == vendor.id
        assert app.scopes == ["Ices.Verdict.Submit"] and credentials.client_secret not in app.secret_hash
        assert vendor.detection_technology == "Thirdparty: Acme ICES" and vendor.status == "active"
        verify_client(session, credentials.client_id, credentials.client_secret)
        with pytest.raises(InvalidInput, match="already exists"):
            registry.add_vendor(session, name="Acme ICES")
        with pytest.raises(InvalidInput, match="Thirdparty"):
            registry.add_vendor(session, name="Other", detection_technology="Other label")


def test_approve_revoke_suspend_rotate_are_audited(world: World) -> None:
    with world.services.sessions.begin() as session:
        vendor, first = registry.add_vendor(session, name="Acme", actor="admin")
        registry.approve(session, "Acme", "contoso", actor="admin")
        registry.approve(session, "Acme", "contoso", actor="admin")  # twice is harmless
        assert registry.approved_tenants(session, vendor.id) == {world.tenants["contoso"]}
        registry.revoke_approval(session, "Acme", "contoso", actor="admin")
        assert registry.approved_tenants(session, vendor.id) == set()
        with pytest.raises(NotFound):
            registry.revoke_approval(session, "Acme", "contoso", actor="admin")
        registry.approve(session, vendor.id, "fabrikam", actor="admin")
        registry.suspend(session, "Acme", actor="admin")
        second = registry.rotate(session, "Acme", actor="admin")
        assert second.client_id == first.client_id and second.client_secret != first.client_secret
        verify_client(session, second.client_id, second.client_secret)
        listed = registry.list_vendors(session)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target == vendor.id)).all()
    assert listed == [
        {
            "id": vendor.id,
            "name": "Acme",
            "detection_technology": "Thirdparty: Acme",
            "contact": "",
            "status": "suspended",
            "client_id": first.client_id,
            "created_at": listed[0]["created_at"],
            "approved_tenants": ["fabrikam"],
        }
    ]
    assert actions == [
        "vendor.add",
        "vendor.approve",
        "vendor.approve",
        "vendor.revoke_approval",
        "vendor.approve",
        "vendor.suspend",
        "vendor.rotate",
    ]


def test_cli_adds_approves_suspends_rotates_and_lists(world: World) -> None:
    data_dir = str(world.services.settings.data_dir)
    runner = CliRunner()

    def run(*args: str) -> object:
        result = runner.invoke(cli_app, ["vendor", *args, "--data-dir", data_dir, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    added = run("add", "Acme ICES", "--contact", "soc@acme.example", "--approve", "contoso")
    assert (
        isinstance(added, dict) and added["client_secret"] and added["detection_technology"] == "Thirdparty: Acme ICES"
    )
    assert run("approve", "Acme ICES", "fabrikam") == {"vendor": "Acme ICES", "tenant": "fabrikam", "approved": True}
    assert run("suspend", "Acme ICES")["status"] == "suspended"  # type: ignore[index]
    rotated = run("rotate", "Acme ICES")
    assert isinstance(rotated, dict) and rotated["client_secret"] != added["client_secret"]
    listed = run("list")
    assert isinstance(listed, list) and listed[0]["approved_tenants"] == ["contoso", "fabrikam"]
    assert "client_secret" not in listed[0]
    assert run("reactivate", "Acme ICES")["status"] == "active"  # type: ignore[index]
    table = runner.invoke(cli_app, ["vendor", "list", "--data-dir", data_dir])
    assert table.exit_code == 0 and "Acme" in table.stdout and "active" in table.stdout
    with world.services.sessions() as session:
        assert session.scalar(select(Vendor.contact)) == "soc@acme.example"
    missing = runner.invoke(cli_app, ["vendor", "approve", "Nobody", "contoso", "--data-dir", data_dir])
    assert missing.exit_code != 0


def test_vendor_names_are_found_by_name_or_id(world: World, tmp_path: Path) -> None:
    with world.services.sessions.begin() as session:
        vendor, _ = registry.add_vendor(session, name="Acme")
        assert registry.find_vendor(session, vendor.id) is registry.find_vendor(session, "Acme")
        with pytest.raises(NotFound):
            registry.find_vendor(session, "Nobody")
