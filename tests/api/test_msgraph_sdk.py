"""Microsoft's own Graph SDK (msgraph-sdk) against a real ramparts server: token from our /oauth2/token
through an azure-core credential, then runHuntingQuery with typed results."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.security.microsoft_graph_security_run_hunting_query.run_hunting_query_post_request_body import (
    RunHuntingQueryPostRequestBody,
)
from msgraph_core import GraphClientFactory
from typer.testing import CliRunner

from ramparts.api.app import create_app
from ramparts.cli import app as cli
from ramparts.identity import THREAT_HUNTING_READ
from ramparts.identity.local_admin import credentials_path
from ramparts.services import Services, utc_clock
from tests.conftest import free_port
from tests.identity.support import add_app, add_tenants, make_services, serve_in_thread

# kiota and msgraph warn about their own deprecated classes while the SDK imports them
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph.*"),
]


class RampartsCredential:
    """An azure-core AsyncTokenCredential that gets client-credentials tokens from ramparts (Entra's path)."""

    def __init__(self, base_url: str, tenant: str, client_id: str, client_secret: str) -> None:
        self.url = f"{base_url}/{tenant}/oauth2/v2.0/token"
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes_seen: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes_seen.append(scopes)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                self.url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "scope": " ".join(scopes),
                },
            )
        response.raise_for_status()
        body = response.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> RampartsCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", utc_clock)  # type: ignore[arg-type]
    yield opened
    opened.close()


def _seed(services: Services) -> dict[str, str]:
    ids = add_tenants(services, "contoso", "fabrikam")
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "Timestamp": now - dt.timedelta(minutes=i),
            "NetworkMessageId": f"m{i}",
            "Subject": f"hello {i}",
            "RecipientEmailAddress": f"u{i}@{tenant}.example",
            "EmailSize": 100 + i,
            "TenantId": ids[tenant],
        }
        for i, tenant in enumerate(["contoso", "contoso", "fabrikam"])
    ]
    services.writer.add({"EmailEvents": rows})
    services.writer.flush()
    return ids


def test_graph_sdk_runs_hunting_queries(services: Services) -> None:
    ids = _seed(services)
    client_id, secret = add_app(services, scopes=[THREAT_HUNTING_READ], tenant_id=ids["contoso"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve_in_thread(create_app(services), port):
        credential = RampartsCredential(base, "contoso", client_id, secret)

        async def run() -> Any:
            auth = AzureIdentityAuthenticationProvider(
                credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
            )
            # our own socket transport, closed below: closing the SDK's client leaves its pool open
            sockets = httpx.AsyncHTTPTransport()
            http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(transport=sockets))
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = f"{base}/v1.0"
            graph = GraphServiceClient(request_adapter=adapter)
            body = RunHuntingQueryPostRequestBody(
                query="EmailEvents | project Timestamp, Subject, EmailSize, TenantId | order by EmailSize asc | take 5"
            )
            try:
                return await graph.security.microsoft_graph_security_run_hunting_query.post(body)
            finally:
                await http.aclose()
                await sockets.aclose()

        result = anyio.run(run)
    assert credential.scopes_seen
    assert credential.scopes_seen[0] == ("https://graph.microsoft.com/.default",)
    assert result is not None
    assert result.schema is not None
    assert result.results is not None
    assert [(s.name, s.type) for s in result.schema] == [
        ("Timestamp", "DateTime"),
        ("Subject", "String"),
        ("EmailSize", "Int64"),
        ("TenantId", "String"),
    ]
    rows = [row.additional_data for row in result.results]
    assert [r["Subject"] for r in rows] == ["hello 0", "hello 1"]
    assert {str(r["TenantId"]) for r in rows} == {ids["contoso"]}  # kiota reads GUID-like text as UUID
    assert rows[0]["EmailSize"] == 100


def test_hunt_goes_through_the_running_server(services: Services) -> None:
    ids = _seed(services)
    data_dir = services.settings.data_dir
    port = free_port()
    with serve_in_thread(create_app(services), port):
        assert credentials_path(data_dir).exists()  # written by the server at start
        (data_dir / "server.json").write_text(json.dumps({"pid": os.getpid(), "http": f"127.0.0.1:{port}"}))
        runner = CliRunner()
        result = runner.invoke(
            cli,
            [
                "hunt",
                "--data-dir",
                str(data_dir),
                "--tenant",
                "fabrikam",
                "--json",
                "EmailEvents | project Subject, TenantId",
            ],
            catch_exceptions=False,
        )
        csv_result = runner.invoke(
            cli,
            ["hunt", "--data-dir", str(data_dir), "--csv", "EmailEvents | summarize n = count()"],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"Subject": "hello 2", "TenantId": ids["fabrikam"]}]
    assert csv_result.stdout.splitlines() == ["n", "3"]
