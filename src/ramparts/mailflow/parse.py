"""Parsing raw RFC 5322 bytes into a ParsedMessage with the stdlib email package.

Malformed input is parsed as far as it goes and every problem is recorded in `defects`; this module
never raises for any input bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import re
from email import policy
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from html.parser import HTMLParser
from urllib.parse import urlsplit

from ramparts.mailflow.filetypes import describe_file
from ramparts.mailflow.message import Address, AuthResultsHeader, ParsedAttachment, ParsedMessage, ParsedUrl

MAX_DEPTH = 20
MAX_PARTS = 10_000
_PARSER = BytesParser(policy=policy.compat32)
"""compat32 keeps headers as strings: the registry-based policies build an object per header on every
access, which cost five times the parse itself. The headers ramparts reads are decoded here instead."""
_TEXT_URL = re.compile(r"""(?i)\b(?:https?://|www\.)[^\s<>"'`{}|\\^\[\]\ufffd\x00-\x1f\x7f]+""")
_TRAILING = ".,;:!?)]}'\""
_AUTH_METHOD = re.compile(r"(?i)\b(spf|dkim|dmarc|arc|compauth|auth)\s*=\s*([a-z]+)")


def _text(value: object) -> str:
    return str(value).replace("\x00", "") if value is not None else ""


def _decoded(value: object) -> str:
    """A header value as text: RFC 2047 encoded words decoded, folding undone, NULs dropped."""
    if value is None:
        return ""
    if isinstance(value, Header):
        text = str(value)
    else:
        text = str(value)
        if "=?" in text:
            with contextlib.suppress(HeaderParseError, UnicodeError, LookupError, ValueError):
                text = str(make_header(decode_header(text)))
    return text.replace("\r\n", "").replace("\n", "").replace("\x00", "")


def _addresses(message: Message, name: str, defects: list[str]) -> tuple[Address, ...]:
    values = message.get_all(name) or []
    if not values:
        return ()
    try:
        pairs = email.utils.getaddresses([_text(v) for v in values])
    except (HeaderParseError, ValueError, IndexError, TypeError) as exc:
        defects.append(f"unparsable {name} header: {exc}")
        return ()
    return tuple(Address(_decoded(display).strip(), addr.strip().lower()) for display, addr in pairs if addr.strip())


def _header_pairs(message: Message) -> tuple[tuple[str, str], ...]:
    return tuple((_text(key), _decoded(value)) for key, value in message.items())


def _auth_results(headers: tuple[tuple[str, str], ...]) -> tuple[AuthResultsHeader, ...]:
    found = []
    for key, value in headers:
        if key.lower() != "authentication-results":
            continue
        authserv, _, rest = value.partition(";")
        results: dict[str, str] = {}
        for method, result in _AUTH_METHOD.findall(rest):
            results.setdefault(method.lower(), result.lower())
        found.append(AuthResultsHeader(authserv.strip().split()[0] if authserv.strip() else "", results))
    return tuple(found)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._open: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "action") and value.strip().lower().startswith(("http", "www.")):
                self.links.append((value.strip(), ""))
                if tag == "a" and name == "href":
                    self._open = len(self.links) - 1

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            url, text = self.links[self._open]
            self.links[self._open] = (url, (text + data)[:500])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None


def _domain(url: str) -> str:
    try:
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


class _Collector:
    def __init__(self) -> None:
        self.urls: dict[str, ParsedUrl] = {}
        self.attachments: list[ParsedAttachment] = []
        self.text: list[str] = []
        self.html: list[str] = []
        self.defects: list[str] = []
        self.parts = 0

    def add_url(self, url: str, location: str, anchor: str = "") -> None:
        url = url.rstrip(_TRAILING)
        if len(url) > 8 and url not in self.urls:
            self.urls[url] = ParsedUrl(url, _domain(url), location, anchor.strip())

    def text_urls(self, text: str, location: str) -> None:
        for match in _TEXT_URL.finditer(text):
            self.add_url(match.group(0), location)

    def html_urls(self, html: str, location: str) -> None:
        parser = _Links()
        try:
            parser.feed(html)
            parser.close()
        except Exception as exc:  # html.parser is lenient, but hostile markup can still trip it
            self.defects.append(f"HTML not fully parsed: {type(exc).__name__}")
        for url, anchor in parser.links:
            self.add_url(url, location, anchor)


def _decode_text(part: Message, index: int, collector: _Collector) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace").replace("\x00", "")
    except LookupError:
        collector.defects.append(f"unknown charset {charset} in part {index}")
        return payload.decode("utf-8", errors="replace").replace("\x00", "")


def _is_attachment(part: Message, content_type: str) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return content_type.partition("/")[0] not in ("text", "multipart", "message")


def _walk(message: Message, collector: _Collector, depth: int, nested_in: str) -> None:
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        collector.parts += 1
        if collector.parts > MAX_PARTS:
            collector.defects.append(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            return
        index = collector.parts
        content_type = part.get_content_type()
        try:
            _read_part(part, content_type, index, collector, depth, nested_in, stack)
        finally:
            collector.defects.extend(f"{type(defect).__name__} in part {index}" for defect in part.defects)


def _read_part(
    part: Message,
    content_type: str,
    index: int,
    collector: _Collector,
    depth: int,
    nested_in: str,
    stack: list[Message],
) -> None:
    """One part: children onto the stack, or an attachment, or body text. Defects found while decoding
    are read by the caller afterwards."""
    if part.is_multipart():
        children = part.get_payload()
        if isinstance(children, list):
            messages = [child for child in children if isinstance(child, Message)]
            if content_type == "message/rfc822":
                for child in messages:
                    _nested(child, part, collector, depth)
            else:
                stack.extend(reversed(messages))
        return
    if _is_attachment(part, content_type):
        _attachment(part, collector, nested_in)
        return
    text = _decode_text(part, index, collector)
    where = "Attachment" if nested_in else "Body"
    is_html = content_type == "text/html"
    if not nested_in:
        (collector.html if is_html else collector.text).append(text)
    if is_html:
        collector.html_urls(text, where)
    else:
        collector.text_urls(text, where)


def _nested(child: Message, holder: Message, collector: _Collector, depth: int) -> None:
    if depth >= MAX_DEPTH:
        collector.defects.append(f"attached messages nested deeper than {MAX_DEPTH}; not read")
        return
    name = holder.get_filename() or _text(child.get("Subject", "")) or "attached message"
    _walk(child, collector, depth + 1, name)


def _attachment(part: Message, collector: _Collector, nested_in: str) -> None:
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    try:
        name = _decoded(part.get_filename() or "")
    except Exception:  # a broken RFC 2231 name must not lose the attachment
        name = ""
        collector.defects.append("undecodable attachment file name")
    kind = describe_file(name, content)
    collector.attachments.append(
        ParsedAttachment(
            file_name=name,
            declared_type=part.get_content_type(),
            sniffed_type=kind.mime,
            file_type=kind.short,
            extension=kind.extension,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
            nested_in=nested_in,
        )
    )


def _date(message: Message, defects: list[str]) -> dt.datetime | None:
    raw = message.get("Date")
    if raw is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_decoded(raw))
    except (TypeError, ValueError, IndexError):
        defects.append("unparsable Date header")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse as much as the bytes allow; never raises."""
    try:
        return _parse(raw)
    except RecursionError:
        return _headers_only(raw, "MIME structure nested too deeply; only the headers were read")
    except Exception as exc:  # last resort: a message is never lost to a parser bug
        return _headers_only(raw, f"parser failure: {type(exc).__name__}: {exc}")


def _parse(raw: bytes) -> ParsedMessage:
    message = _PARSER.parsebytes(raw)
    collector = _Collector()
    defects = collector.defects
    headers = _header_pairs(message)
    subject = _decoded(message.get("Subject", ""))
    collector.text_urls(subject, "Subject")
    _walk(message, collector, 0, "")
    from_ = _addresses(message, "From", defects)
    sender = _addresses(message, "Sender", defects)
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id=_decoded(message.get("Message-ID", "")).strip(),
        subject=subject,
        from_=from_[0] if from_ else None,
        sender=sender[0] if sender else None,
        reply_to=_addresses(message, "Reply-To", defects),
        to=_addresses(message, "To", defects),
        cc=_addresses(message, "Cc", defects),
        date=_date(message, defects),
        headers=headers,
        auth_results=_auth_results(headers),
        text_body="\n".join(collector.text),
        html_body="\n".join(collector.html),
        urls=tuple(collector.urls.values()),
        attachments=tuple(collector.attachments),
        defects=tuple(defects),
    )


def _headers_only(raw: bytes, reason: str) -> ParsedMessage:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
        elif ":" in line:
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip().replace("\x00", "")))
    lookup = {k.lower(): v for k, v in reversed(headers)}
    pairs = email.utils.getaddresses([lookup.get("from", "")])
    from_ = Address(pairs[0][0], pairs[0][1].lower()) if pairs and pairs[0][1] else None
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id=lookup.get("message-id", ""),
        subject=lookup.get("subject", ""),
        from_=from_,
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        headers=tuple(headers),
        auth_results=_auth_results(tuple(headers)),
        text_body="",
        html_body="",
        urls=(),
        attachments=(),
        defects=(reason,),
    )
