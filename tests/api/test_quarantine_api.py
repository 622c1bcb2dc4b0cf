"""The quarantine routes: Ramparts.Quarantine.ReadWrite for a tenant's app (to its tenant), Ramparts.Admin for
every tenant; identities with a backslash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from ramparts.domain.verdicts import Verdict
from ramparts.errors import InvalidInput
from ramparts.identity.scopes import ADMIN, QUARANTINE_READ_WRITE, THREAT_HUNTING_READ
from tests.identity.support import add_app
from tests.vendors.support import World, make_world

ALICE, CAROL = "alice@contoso.example", "carol@contoso.example"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    made.deliver("Verify your password", ALICE, verdict=Verdict.PHISH)
    made.deliver("Invoice attached", CAROL, verdict=Verdict.MALWARE)
    made.deliver("Cheap pills", "alice@fabrikam.example", verdict=Verdict.SPAM)
    yield made
    made.services.close()


def token(world: World, scopes: list[str], tenant: str | None = None, kind: str = "tenant_app") -> str:
    tenant_id = world.tenants[tenant] if tenant else None
    client_id, secret = add_app(world.services, scopes=scopes, tenant_id=tenant_id, kind=kind)  # type: ignore[arg-type]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    answer = world.call("POST", "/oauth2/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def path(identity: str, action: str = "") -> str:
    return f"/api/quarantine/{quote(identity, safe='')}" + (f"/{action}" if action else "")


def test_admin_of_a_tenant_searches_and_releases_its_own_records(world: World) -> None:
    contoso = token(world, [QUARANTINE_READ_WRITE], "contoso")
    listed = world.call("GET", "/api/quarantine", contoso, params={"type": ["Phish", "Malware"]})
    assert listed.status_code == 200, listed.text
    records = {r["RecipientAddress"]: r for r in listed.json()["value"]}
    assert set(records) == {ALICE, CAROL}
    identity = records[ALICE]["Identity"]
    assert "\\" in identity

    shown = world.call("GET", path(identity), contoso)
    assert shown.status_code == 200 and shown.json()["Subject"] == "Verify your password"
    preview = world.call("GET", path(identity, "preview"), contoso)
    assert preview.status_code == 200 and "Verify your password" in preview.json()["Text"]
    released = world.call("POST", path(identity, "release"), contoso)
    assert released.status_code == 200, released.text
    assert released.json()["ReleaseStatus"] == "Released"
    again = world.call("POST", path(identity, "release"), contoso)
    assert again.status_code == 400 and "already released" in again.text
    deleted = world.call("POST", path(records[CAROL]["Identity"], "delete"), contoso)
    assert deleted.status_code == 204
    left = world.call("GET", "/api/quarantine", contoso).json()["value"]
    assert [(r["RecipientAddress"], r["ReleaseStatus"]) for r in left] == [(ALICE, "Released")]


def test_other_tenants_records_are_not_found(world: World) -> None:
    fabrikam = token(world, [QUARANTINE_READ_WRITE], "fabrikam")
    listed = world.call("GET", "/api/quarantine", fabrikam).json()["value"]
    assert [r["RecipientAddress"] for r in listed] == ["alice@fabrikam.example"]
    contoso = token(world, [QUARANTINE_READ_WRITE], "contoso")
    identity = world.call("GET", "/api/quarantine", contoso).json()["value"][0]["Identity"]
    for method, action in (("GET", ""), ("GET", "preview"), ("POST", "release"), ("POST", "delete")):
        answer = world.call(method, path(identity, action), fabrikam)
        assert answer.status_code == 404, (action, answer.text)
    # asking for another tenant by name does not widen a tenant-bound caller's view
    widened = world.call("GET", "/api/quarantine", fabrikam, params={"tenant": "contoso"}).json()["value"]
    assert [r["RecipientAddress"] for r in widened] == ["alice@fabrikam.example"]


def test_local_admin_sees_every_tenant_and_narrows_by_name(world: World) -> None:
    admin = token(world, [ADMIN], kind="admin")
    everything = world.call("GET", "/api/quarantine", admin).json()["value"]
    assert len(everything) == 3
    contoso = world.call("GET", "/api/quarantine", admin, params={"tenant": "contoso"}).json()["value"]
    assert {r["RecipientAddress"] for r in contoso} == {ALICE, CAROL}
    unknown = world.call("GET", "/api/quarantine", admin, params={"tenant": "nope"})
    assert unknown.status_code == 404


def test_without_the_admin_scope_or_a_token_nothing_is_shown(world: World) -> None:
    hunter = token(world, [THREAT_HUNTING_READ], "contoso")
    assert world.call("GET", "/api/quarantine", hunter).status_code == 403
    assert world.call("GET", "/api/quarantine").status_code == 401
    assert world.call("GET", "/api/quarantine", "not-a-token").status_code == 401


def test_bad_filters_are_a_400_naming_the_filter(world: World) -> None:
    contoso = token(world, [QUARANTINE_READ_WRITE], "contoso")
    answer = world.call("GET", "/api/quarantine", contoso, params={"type": "Virus"})
    assert answer.status_code == 400 and "quarantine_types" in answer.text
    assert world.call("GET", "/api/quarantine", contoso, params={"start": "yesterday"}).status_code in (400, 422)


@pytest.mark.parametrize("kind", ["vendor", "admin"])
def test_only_a_tenants_app_may_hold_the_quarantine_scope(world: World, kind: str) -> None:
    with pytest.raises(InvalidInput, match="only a tenant's apps"):
        add_app(
            world.services, scopes=[QUARANTINE_READ_WRITE], kind=kind, vendor_id="v-1" if kind == "vendor" else None
        )  # type: ignore[arg-type]


def test_bulk_actions_report_each_record_on_its_own(world: World) -> None:
    world.deliver("Second phish", ALICE, verdict=Verdict.PHISH)
    contoso = token(world, [QUARANTINE_READ_WRITE], "contoso")
    fabrikam = token(world, [QUARANTINE_READ_WRITE], "fabrikam")
    ours = [r["Identity"] for r in world.call("GET", "/api/quarantine", contoso).json()["value"]]
    theirs = world.call("GET", "/api/quarantine", fabrikam).json()["value"][0]["Identity"]
    assert len(ours) == 3
    asked = [*ours[:2], "nope\\nope", theirs]
    answer = world.call("POST", "/api/quarantine/bulk/release", contoso, json={"identities": asked})
    assert answer.status_code == 200, answer.text
    assert [(r["identity"], r["result"]) for r in answer.json()["value"]] == [
        (ours[0], "Success"),
        (ours[1], "Success"),
        ("nope\\nope", "NotFound"),
        (theirs, "NotFound"),
    ]
    again = world.call("POST", "/api/quarantine/bulk/release", contoso, json={"identities": ours})
    assert [r["result"] for r in again.json()["value"]] == ["NotActionable", "NotActionable", "Success"]
    assert "already released" in again.json()["value"][0]["message"]
    too_many = world.call("POST", "/api/quarantine/bulk/delete", contoso, json={"identities": ["x"] * 101})
    assert too_many.status_code == 400
    unknown = world.call("POST", "/api/quarantine/bulk/explode", contoso, json={"identities": ours[:1]})
    assert unknown.status_code == 400 and "unknown action" in unknown.text
