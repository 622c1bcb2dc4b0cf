from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from ramparts.config import load_settings
from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage
from ramparts.services import Services, open_services
from ramparts.tenants import MailboxSpec, add_tenant

WHEN = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)


class ScriptedEngine:
    """A test engine standing in for a detection engine: the verdict is read from an X-Test-Verdict header,
    so each test decides what the engines said and checks what the pipeline does with it."""

    name = "scripted"

    async def evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict:
        wanted = message.header("X-Test-Verdict")
        if wanted == "explode":
            raise RuntimeError("engine crashed")
        verdict = Verdict.parse(wanted) if wanted else Verdict.CLEAN
        threat = verdict.threat_type
        return EngineVerdict(
            self.name,
            verdict,
            0.9,
            threat_names=("Test.Threat",) if threat else (),
            detection_methods={threat: ("Advanced filter",)} if threat else {},
            bulk_complaint_level=int(message.header("X-Test-BCL") or 0),
            authentication={"SPF": "pass", "DKIM": "none", "DMARC": "pass", "CompAuth": "pass"},
        )


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = open_services(load_settings(tmp_path / "data"))
    with opened.sessions.begin() as session:
        add_tenant(
            session,
            "contoso",
            ["contoso.com"],
            mailboxes=[
                MailboxSpec("megan@contoso.com", "Megan Bowen"),
                MailboxSpec("lidia@contoso.com", "Lidia Holloway", "Strict"),
            ],
        )
        add_tenant(session, "fabrikam", ["fabrikam.com"], default_policy="Strict")
    yield opened
    opened.close()


def make_message(
    *,
    to: str = "megan@contoso.com",
    subject: str = "Quarterly numbers",
    verdict: str = "",
    bcl: int = 0,
    sender: str = "Adele Vance <adele@partner.example>",
    body: str = "See https://portal.partner.example/q3 please.",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@partner.example>"
    if verdict:
        message["X-Test-Verdict"] = verdict
    if bcl:
        message["X-Test-BCL"] = str(bcl)
    message.set_content(body)
    message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="q3.pdf")
    return message.as_bytes()


def envelope_for(*rcpts: str, mail_from: str = "bounce@partner.example") -> Envelope:
    return Envelope(
        mail_from=mail_from,
        rcpt_tos=rcpts,
        received_at=WHEN,
        network_message_id=str(uuid.uuid4()),
        peer_ip="203.0.113.9",
        helo="mx.partner.example",
    )
