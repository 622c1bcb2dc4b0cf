"""Building ParsedMessage values for the builtin engine's tests.

A deliberately small stand-in for the real parser: stdlib email does the MIME work, and this turns
the result into the ParsedMessage contract (links with their anchor text, attachments with digests).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from ramparts.detection.engine import TenantContext
from ramparts.mailflow.message import (
    Address,
    AuthResultsHeader,
    Envelope,
    ParsedAttachment,
    ParsedMessage,
    ParsedUrl,
)

_URL = re.compile(r"""https?://[^\s"'<>]+""", re.IGNORECASE)
_ANCHOR = re.compile(r"""<a\b[^>]*href\s*=\s*["']([^"']+)["'][^>]*>(.*?)</a>""", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")

CONTOSO = TenantContext(
    tenant_id="contoso",
    accepted_domains=("contoso.com",),
    users=(("Megan Bowen", "megan.bowen@contoso.com"), ("Nestor Wilke", "nestor.wilke@contoso.com")),
)


def _addresses(values: list[str]) -> tuple[Address, ...]:
    return tuple(Address(name, addr) for name, addr in getaddresses(values) if addr)


def _domain(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.rpartition("@")[2].split(":", 1)[0].lower()


def parse(raw: bytes) -> ParsedMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    text = str(text_part.get_content()) if text_part is not None else ""
    html = str(html_part.get_content()) if html_part is not None else ""
    urls: list[ParsedUrl] = []
    seen: set[str] = set()
    for href, inner in _ANCHOR.findall(html):
        seen.add(href)
        urls.append(ParsedUrl(href, _domain(href), "Body", _TAG.sub("", inner).strip()))
    for found in _URL.findall(text + "\n" + html):
        if found not in seen:
            seen.add(found)
            urls.append(ParsedUrl(found, _domain(found), "Body"))
    attachments = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        name = part.get_filename() or ""
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        attachments.append(
            ParsedAttachment(
                file_name=name,
                declared_type=part.get_content_type(),
                sniffed_type="",
                file_type=ext,
                extension=ext,
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
                content=content,
            )
        )
    auth_results = []
    for value in message.get_all("Authentication-Results", []):
        authserv, _, rest = str(value).partition(";")
        results = dict(re.findall(r"\b(spf|dkim|dmarc|compauth)=(\w+)", rest, re.IGNORECASE))
        auth_results.append(AuthResultsHeader(authserv.strip(), {k.lower(): v.lower() for k, v in results.items()}))
    from_ = _addresses([str(v) for v in message.get_all("From", [])])
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id=str(message.get("Message-ID", "")),
        subject=str(message.get("Subject", "")),
        from_=from_[0] if from_ else None,
        sender=None,
        reply_to=_addresses([str(v) for v in message.get_all("Reply-To", [])]),
        to=_addresses([str(v) for v in message.get_all("To", [])]),
        cc=_addresses([str(v) for v in message.get_all("Cc", [])]),
        date=None,
        headers=tuple((key, str(value)) for key, value in message.items()),
        auth_results=tuple(auth_results),
        text_body=text,
        html_body=html,
        urls=tuple(urls),
        attachments=tuple(attachments),
        defects=(),
    )


def mail(
    sender: str,
    subject: str = "Q3 forecast review",
    body: str = "Hi Megan,\n\nThe figures are attached.\n\nBest regards,\nJordan\n",
    *,
    to: str = "Megan Bowen <megan.bowen@contoso.com>",
    html: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Tue, 14 Oct 2025 09:30:00 +0000"
    message["Message-ID"] = "<test-1@example.test>"
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, content in attachments or []:
        message.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return message


def envelope(mail_from: str, peer_ip: str = "192.0.2.10", helo: str = "") -> Envelope:
    return Envelope(
        mail_from=mail_from,
        rcpt_tos=("megan.bowen@contoso.com",),
        received_at=dt.datetime(2025, 10, 14, 9, 30, tzinfo=dt.UTC),
        network_message_id="6f1c1d1e-0000-4000-8000-000000000001",
        peer_ip=peer_ip,
        helo=helo or mail_from.rpartition("@")[2],
    )
