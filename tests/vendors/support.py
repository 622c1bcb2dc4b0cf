"""A small world for vendor tests: two tenants, real Maildir mailboxes, mail delivered by the real
pipeline (with a stand-in engine whose verdict the test chooses), a registered vendor, in-process API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import httpx

from ramparts.api.app import create_app
from ramparts.delivery.maildir import MaildirBackend
from ramparts.delivery.zap import use_mailbox
from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage
from ramparts.mailflow.pipeline import MessageOutcome, Pipeline
from ramparts.services import Services
from ramparts.tenants import MailboxSpec, add_tenant
from ramparts.vendors import registry
from ramparts.vendors.applier import applier
from tests.identity.support import FakeClock, bearer, make_services


class ChosenEngine:
    """Judges each message as the test said, by subject; Clean otherwise."""

    name = "builtin"

    def __init__(self) -> None:
        self.verdicts: dict[str, Verdict] = {}

    async def evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict:
        verdict = self.verdicts.get(message.subject, Verdict.CLEAN)
        methods = {verdict.threat_type: ("Advanced filter",)} if verdict.threat_type else {}
        return EngineVerdict(self.name, verdict, 0.9, detection_methods=methods)


@dataclass
class World:
    services: Services
    clock: FakeClock
    mailbox: MaildirBackend
    engine: ChosenEngine
    pipeline: Pipeline
    tenants: dict[str, str]
    vendors: dict[str, registry.Credentials] = field(default_factory=dict)

    def deliver(
        self,
        subject: str,
        *recipients: str,
        verdict: Verdict = Verdict.CLEAN,
        sender: str = "adele@partner.example",
        message_id: str = "",
    ) -> str:
        """Send one message through the pipeline; returns its NetworkMessageId."""
        self.engine.verdicts[subject] = verdict
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Message-ID"] = message_id or f"<{uuid.uuid4()}@partner.example>"
        message.set_content(f"{subject}\nhttp://partner.example/{uuid.uuid4().hex[:6]}\n")
        nmid = str(uuid.uuid4())
        envelope = Envelope(sender, tuple(recipients), self.clock.now, nmid, "203.0.113.9", "mx.partner.example")
        result = anyio.run(self.pipeline.process, envelope, message.as_bytes())
        assert isinstance(result, list), result
        outcome: MessageOutcome = result[0]
        self.services.writer.flush()
        return outcome.network_message_id

    def add_vendor(self, name: str, *approved: str) -> registry.Credentials:
        with self.services.sessions.begin() as session:
            vendor, credentials = registry.add_vendor(session, name=name, actor="test")
            for tenant in approved:
                registry.approve(session, vendor.id, tenant, actor="test")
        self.vendors[name] = credentials
        return credentials

    def token(self, name: str) -> str:
        credentials = self.vendors[name]

        async def run() -> str:
            async with self.client() as client:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                }
                response = await client.post("/oauth2/token", data=form)
                assert response.status_code == 200, response.text
                return str(response.json()["access_token"])

        return anyio.run(run)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(self.services))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        async def run() -> httpx.Response:
            async with self.client() as client:
                headers = dict(kw.pop("headers", {}))
                if token:
                    headers.update(bearer(token))
                return await client.request(method, path, headers=headers, **kw)

        return anyio.run(run)

    def settle(self) -> int:
        """Apply every accepted verdict now, as the background applier would; returns how many."""
        return applier(self.services).drain()

    def outcomes(self, token: str, answer: httpx.Response) -> list[dict[str, Any]]:
        """Settle, then read the status URL of each verdict a submit answered (notFound items as answered)."""
        assert answer.status_code == 202, answer.text
        body = answer.json()
        items = body.get("value", [body])
        self.settle()
        found = []
        for item in items:
            if not item["id"]:
                found.append(item)
                continue
            status = self.call("GET", f"/ices/v1/verdicts/{item['id']}", token)
            assert status.status_code == 200, status.text
            found.append(status.json())
        return found

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        self.services.writer.flush()
        return self.services.telemetry.query(query, params)[1]


def make_world(tmp_path: Path, clock: FakeClock | None = None, **settings: Any) -> World:
    clock = clock or FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    services = make_services(tmp_path / "data", clock, **settings)
    mailbox = MaildirBackend(services.settings.mail_dir)
    use_mailbox(services, mailbox)
    tenants: dict[str, str] = {}
    with services.sessions.begin() as session:
        for name, policy in (("contoso", "Standard"), ("fabrikam", "Strict")):
            users = [MailboxSpec(f"{u}@{name}.example", u.title()) for u in ("alice", "bob", "carol")]
            tenants[name] = add_tenant(session, name, [f"{name}.example"], default_policy=policy, mailboxes=users).id
    engine = ChosenEngine()
    pipeline = Pipeline(services, engines=[engine], mailbox=mailbox)
    return World(services, clock, mailbox, engine, pipeline, tenants)


def submission(nmid: str, verdict: str = "Phishing", vendor_id: str = "v-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"vendorVerdictId": vendor_id, "networkMessageId": nmid, "verdict": verdict}
    body["confidence"] = extra.pop("confidence", 0.97)
    body.update(extra)
    return body
