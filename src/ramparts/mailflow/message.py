"""What the parser hands to every later step: an envelope and a parsed message, both immutable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope (or its stand-in for ingested files), fixed when the message is spooled."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: dt.datetime
    network_message_id: str
    peer_ip: str = ""
    helo: str = ""
    source: str = "smtp"
    """smtp, ingest or demo."""


@dataclass(frozen=True, slots=True)
class Address:
    display_name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower() if "@" in self.address else ""


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    url: str
    domain: str
    location: str
    """UrlLocation value: Body, Subject, Header, Attachment."""
    anchor_text: str = ""
    """Visible text of the HTML link, when the URL came from an href."""
    nested_in: str = ""
    """File name (else subject) of the attached message the URL was found in, if any."""


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    file_name: str
    declared_type: str
    """The Content-Type the sender declared."""
    sniffed_type: str
    """The MIME type recognised from the bytes themselves ("" when unknown)."""
    file_type: str
    """Short type for EmailAttachmentInfo.FileType: the sniffed kind if known, else the extension."""
    extension: str
    sha256: str
    size: int
    content: bytes = field(repr=False)
    nested_in: str = ""
    """File name of the attached message this one came from, if any."""


@dataclass(frozen=True, slots=True)
class AuthResultsHeader:
    """One Authentication-Results header as written by an upstream server."""

    authserv_id: str
    results: dict[str, str]
    """method -> result, e.g. {"spf": "pass", "dkim": "fail", "dmarc": "none"}."""


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    raw: bytes = field(repr=False)
    size: int
    internet_message_id: str
    subject: str
    from_: Address | None
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: dt.datetime | None
    headers: tuple[tuple[str, str], ...]
    auth_results: tuple[AuthResultsHeader, ...]
    text_body: str
    html_body: str
    urls: tuple[ParsedUrl, ...]
    attachments: tuple[ParsedAttachment, ...]
    defects: tuple[str, ...]
    """Human-readable parser defects ("MissingHeaderBodySeparatorDefect in part 2"), never fatal."""
    language: str = ""

    def header(self, name: str) -> str:
        """First value of a header, "" when absent; name is case-insensitive."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return ""

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]
