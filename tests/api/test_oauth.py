"""The token endpoint and the bearer-token checks every protected route shares."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from joserfc import jwt

from ramparts.api.app import create_app
from ramparts.api.auth import REVOCATION_TTL, signing_key
from ramparts.identity import ADMIN, THREAT_HUNTING_READ, VERDICT_SUBMIT, revoke_app, rotate_secret
from ramparts.services import Services
from tests.identity.support import FakeClock, add_app, add_tenants, bearer, make_services, token_for

pytestmark = pytest.mark.anyio

PROTECTED = "/api/hunting/schema"  # needs ThreatHunting.Read.All or Ramparts.Admin


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", clock, token_lifetime_seconds=600)
    yield opened
    opened.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://ramparts.test") as opened:
        yield opened


@pytest.fixture
def tenant_app(services: Services) -> tuple[str, str]:
    tenant_id = add_tenants(services, "contoso")["contoso"]
    return add_app(services, scopes=[THREAT_HUNTING_READ], tenant_id=tenant_id)


def _form(client_id: str, secret: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, **extra}


async def test_good_credentials_get_a_bearer_token(
    client: httpx.AsyncClient, services: Services, tenant_app: tuple[str, str]
) -> None:
    client_id, secret = tenant_app
    response = await client.post("/oauth2/token", data=_form(client_id, secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["ext_expires_in"] == 600
    claims = jwt.decode(body["access_token"], signing_key(services), algorithms=["ES256"]).claims
    assert claims["appid"] == client_id
    assert claims["roles"] == [THREAT_HUNTING_READ]
    schema = await client.get(PROTECTED, headers=bearer(body["access_token"]))
    assert schema.status_code == 200
    assert "EmailEvents" in [t["name"] for t in schema.json()["tables"]]


@pytest.mark.parametrize(
    "scope", ["https://graph.microsoft.com/.default", "api://ramparts/.default", THREAT_HUNTING_READ, ""]
)
async def test_default_scopes_are_accepted(client: httpx.AsyncClient, tenant_app: tuple[str, str], scope: str) -> None:
    client_id, secret = tenant_app
    token = await token_for(client, client_id, secret, scope=scope)
    assert (await client.get(PROTECTED, headers=bearer(token))).status_code == 200


async def test_unregistered_scope_is_invalid_scope(client: httpx.AsyncClient, tenant_app: tuple[str, str]) -> None:
    response = await client.post("/oauth2/token", data=_form(*tenant_app, scope="Ramparts.Admin"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_entra_path_and_basic_auth(client: httpx.AsyncClient, tenant_app: tuple[str, str]) -> None:
    client_id, secret = tenant_app
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = await client.post(
        "/contoso/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    assert (await client.get(PROTECTED, headers=bearer(response.json()["access_token"]))).status_code == 200


async def test_bad_credentials_are_all_the_same_401(
    client: httpx.AsyncClient, services: Services, tenant_app: tuple[str, str]
) -> None:
    client_id, secret = tenant_app
    revoked_id, revoked_secret = add_app(services, scopes=[VERDICT_SUBMIT], kind="vendor", vendor_id="acme")
    with services.sessions.begin() as session:
        revoke_app(session, revoked_id)
    bad = [
        _form(client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")),
        _form("00000000-0000-0000-0000-000000000000", secret),
        _form("nobody", secret),
        _form(revoked_id, revoked_secret),
    ]
    bodies = []
    for form in bad:
        response = await client.post("/oauth2/token", data=form)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        bodies.append(response.json())
    basic = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    response = await client.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    bodies.append(response.json())
    assert response.status_code == 401
    assert all(
        body == {"error": "invalid_client", "error_description": "client authentication failed"} for body in bodies
    )


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "password", "client_id": "x", "client_secret": "y"}, 400, "unsupported_grant_type"),
        ({"client_id": "x", "client_secret": "y"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_secret": "y"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "x"}, 401, "invalid_client"),
    ],
)
async def test_malformed_requests(client: httpx.AsyncClient, form: dict[str, str], status: int, error: str) -> None:
    response = await client.post("/oauth2/token", data=form)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.json()["error_description"]


async def test_json_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth2/token", json={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_rotated_secret_and_old_one_in_grace(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, tenant_app: tuple[str, str]
) -> None:
    client_id, old = tenant_app
    with services.sessions.begin() as session:
        new = rotate_secret(session, client_id, now=clock())
    assert (await client.post("/oauth2/token", data=_form(client_id, new))).status_code == 200
    assert (await client.post("/oauth2/token", data=_form(client_id, old))).status_code == 200
    clock.advance(hours=25)
    assert (await client.post("/oauth2/token", data=_form(client_id, old))).status_code == 401
    assert (await client.post("/oauth2/token", data=_form(client_id, new))).status_code == 200


async def test_revoked_apps_tokens_stop_working(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, tenant_app: tuple[str, str]
) -> None:
    token = await token_for(client, *tenant_app)
    assert (await client.get(PROTECTED, headers=bearer(token))).status_code == 200
    with services.sessions.begin() as session:
        revoke_app(session, tenant_app[0])
    clock.advance(seconds=REVOCATION_TTL.total_seconds())
    response = await client.get(PROTECTED, headers=bearer(token))
    assert response.status_code == 401


async def test_bad_tokens_are_401_alike(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, tenant_app: tuple[str, str]
) -> None:
    token = await token_for(client, *tenant_app)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    wrong_audience = jwt.encode(
        {"alg": "ES256"},
        {**jwt.decode(token, signing_key(services)).claims, "aud": "https://graph.microsoft.com"},
        signing_key(services),
    )
    attempts = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {token}"},
        "forged": bearer(forged),
        "wrong audience": bearer(wrong_audience),
        "malformed": bearer("abc"),
    }
    bodies = {}
    for name, headers in attempts.items():
        response = await client.get(PROTECTED, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        bodies[name] = response.json()
    clock.advance(seconds=601)
    expired = await client.get(PROTECTED, headers=bearer(token))
    assert expired.status_code == 401
    bodies["expired"] = expired.json()
    assert len({str(body) for body in bodies.values()}) == 1
    assert bodies["expired"]["error"]["code"] == "unauthorized"


async def test_missing_scope_is_403_naming_it(client: httpx.AsyncClient, services: Services) -> None:
    vendor = add_app(services, scopes=[VERDICT_SUBMIT], kind="vendor", vendor_id="acme")
    token = await token_for(client, *vendor)
    response = await client.get(PROTECTED, headers=bearer(token))
    assert response.status_code == 403
    assert THREAT_HUNTING_READ in response.json()["error"]["message"]
    admin_only = await client.post(
        "/v1.0/security/runHuntingQuery", json={"Query": "EmailEvents"}, headers=bearer(token)
    )
    assert admin_only.status_code == 403
    assert THREAT_HUNTING_READ in admin_only.json()["error"]["message"]


async def test_admin_app_reaches_the_admin_api(client: httpx.AsyncClient, services: Services) -> None:
    admin = add_app(services, scopes=[ADMIN], kind="admin")
    token = await token_for(client, *admin)
    assert (await client.get("/api/tenants", headers=bearer(token))).status_code == 200
    tenant = add_tenants(services, "fabrikam")["fabrikam"]
    tenant_token = await token_for(client, *add_app(services, scopes=[THREAT_HUNTING_READ], tenant_id=tenant))
    assert (await client.get("/api/tenants", headers=bearer(tenant_token))).status_code == 403
