"""Parsing raw RFC 5322 bytes into a ParsedMessage with the stdlib email package.

Malformed input is parsed as far as it goes and every problem is recorded in `defects`; `parse_message`
never raises for any input bytes.
"""

from __future__ import annotations

import hashlib
from email import policy
from email.message import Message
from email.parser import BytesParser

from ramparts.mailflow import headers as hdr
from ramparts.mailflow.filetypes import describe_file
from ramparts.mailflow.message import Address, ParsedAttachment, ParsedMessage, ParsedUrl
from ramparts.mailflow.urls import MAX_HTML_ATTRIBUTES, html_links, html_text_urls, text_urls, url_domain

MAX_DEPTH = 20
"""Attached messages inside attached messages, read this deep."""
MAX_PARTS = 10_000
MAX_URLS = 10_000
"""Distinct URLs kept per message."""
MAX_URL_OCCURRENCES = 200_000
"""URLs looked at in text (repeats included), so a body of a million links costs a fraction of a second."""
MAX_SEPARATOR_LINES = 3 * MAX_PARTS
"""Lines starting with "--" (boundaries, mostly) the stdlib parser is given; past this the rest of the
message is cut before parsing, so a million empty parts cannot cost minutes before the part budget applies."""
ATTACHMENT_TEXT_SCAN = 1_000_000
"""Text and HTML attachments up to this size are searched for URLs."""

_PARSER = BytesParser(policy=policy.compat32)
_HEADERS_ONLY = BytesParser(policy=policy.compat32)
"""compat32 keeps headers as raw strings: the registry-based policies build an object per header on every
access, which costs more than the parse itself. The headers ramparts reads are decoded in `headers`."""


class _Collector:
    """What the walk over the MIME tree finds; the walk itself is iterative, never recursive."""

    def __init__(self) -> None:
        self.urls: dict[str, ParsedUrl] = {}
        self.attachments: list[ParsedAttachment] = []
        self.text: str | None = None
        self.html: str | None = None
        self.defects: list[str] = []
        self.parts = 0
        self.over_budget = False
        self.occurrences = 0

    def add_url(self, url: str, location: str, anchor: str = "", nested_in: str = "") -> None:
        if url in self.urls:
            return
        if len(self.urls) >= MAX_URLS:
            if not self.over_budget:
                self.over_budget = True
                self.defects.append(f"more than {MAX_URLS} distinct URLs; the rest were not kept")
            return
        domain = url_domain(url)
        if domain:
            self.urls[url] = ParsedUrl(url, domain, location, anchor, nested_in)

    def scan_text(self, text: str, location: str, nested_in: str = "", *, markup: bool = False) -> None:
        for url in html_text_urls(text) if markup else text_urls(text):
            self.occurrences += 1
            if self.occurrences > MAX_URL_OCCURRENCES:
                self.defects.append(f"more than {MAX_URL_OCCURRENCES} URLs written in the message; the rest skipped")
                self.over_budget = True
            if self.over_budget:
                return
            self.add_url(url, location, "", nested_in)

    def scan_html(self, markup: str, location: str, nested_in: str = "") -> None:
        links, truncated = html_links(markup)
        if truncated:
            self.defects.append(f"more than {MAX_HTML_ATTRIBUTES} URL attributes in one HTML part; the rest skipped")
        for url, anchor in links:
            self.add_url(url, location, anchor, nested_in)
        self.scan_text(markup, location, nested_in, markup=True)


def _describe_defect(defect: object, index: int) -> str:
    # Some defects quote the offending line, which may hold undecodable bytes as lone surrogates.
    detail = str(defect).encode("utf-8", errors="backslashreplace").decode("utf-8").replace("\x00", "")
    name = type(defect).__name__
    return f"{name} in part {index}: {detail}" if detail and detail != name else f"{name} in part {index}"


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _decode_text(part: Message, index: int, collector: _Collector) -> str:
    payload = _payload_bytes(part)
    charset = part.get_content_charset()
    text, clean = hdr.decode_bytes(payload, charset)
    if not clean:
        collector.defects.append(f"undecodable charset {charset or 'us-ascii'} in part {index}")
    return text.replace("\x00", "") if "\x00" in text else text


def _file_name(part: Message, collector: _Collector, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter must not lose the attachment
        collector.defects.append(f"undecodable attachment file name in part {index}")
        return ""
    return hdr.header_text(name).strip() if name else ""


def _is_attachment(part: Message, maintype: str) -> bool:
    if maintype not in ("text", "multipart", "message"):
        return True
    if str(part.get("Content-Disposition") or "").strip().lower().startswith("attachment"):
        return True
    return bool(part.get_param("filename", header="content-disposition") or part.get_param("name"))


class _Walk:
    def __init__(self, collector: _Collector) -> None:
        self.collector = collector

    def run(self, root: Message, depth: int, nested_in: str) -> None:
        """Depth-first over the parts in document order, with an explicit stack."""
        collector = self.collector
        stack: list[Message] = [root]
        while stack:
            part = stack.pop()
            if collector.parts >= MAX_PARTS:
                if not any(d.startswith("part budget exceeded") for d in collector.defects):
                    collector.defects.append(
                        f"part budget exceeded: more than {MAX_PARTS} MIME parts, the rest skipped"
                    )
                return
            collector.parts += 1
            index = collector.parts
            try:
                self.part(part, index, depth, nested_in, stack)
            except Exception as exc:  # one broken part must not lose the rest of the message
                collector.defects.append(f"part {index} not read: {type(exc).__name__}: {exc}")
            collector.defects.extend(_describe_defect(defect, index) for defect in part.defects)

    def part(self, part: Message, index: int, depth: int, nested_in: str, stack: list[Message]) -> None:
        content_type = part.get_content_type()
        maintype = content_type.partition("/")[0]
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if maintype == "message":
                if content_type != "message/delivery-status":
                    for child in children:
                        self.nested(child, part, index, depth)
            else:
                stack.extend(reversed(children))
            return
        if _is_attachment(part, maintype):
            self.attachment(part, content_type, index, nested_in)
            return
        collector = self.collector
        text = _decode_text(part, index, collector)
        location = "Attachment" if nested_in else "Body"
        if content_type == "text/html":
            if collector.html is None and not nested_in:
                collector.html = text
            collector.scan_html(text, location, nested_in)
        else:
            if collector.text is None and content_type == "text/plain" and not nested_in:
                collector.text = text
            collector.scan_text(text, location, nested_in)

    def nested(self, child: Message, holder: Message, index: int, depth: int) -> None:
        collector = self.collector
        if depth >= MAX_DEPTH:
            collector.defects.append(f"attached message in part {index} nested deeper than {MAX_DEPTH}; not read")
            return
        child = _undo_transfer_encoding(child, holder) or child
        name = hdr.header_text(str(holder.get_filename() or child.get("Subject") or "")).strip()
        self.run(child, depth + 1, name or "attached message")

    def attachment(self, part: Message, content_type: str, index: int, nested_in: str) -> None:
        collector = self.collector
        maintype = content_type.partition("/")[0]
        content = _payload_bytes(part)
        name = _file_name(part, collector, index)
        kind = describe_file(name, content)
        collector.attachments.append(
            ParsedAttachment(
                file_name=name,
                declared_type=content_type,
                sniffed_type=kind.mime,
                file_type=kind.short,
                extension=kind.extension,
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
                content=content,
                nested_in=nested_in,
            )
        )
        is_html = content_type == "text/html" or kind.short == "html"
        if (is_html or maintype == "text") and len(content) <= ATTACHMENT_TEXT_SCAN:
            text, _ = hdr.decode_bytes(content, part.get_content_charset())
            (collector.scan_html if is_html else collector.scan_text)(text, "Attachment", nested_in)


def _undo_transfer_encoding(child: Message, holder: Message) -> Message | None:
    """A message/rfc822 part sent base64 or quoted-printable: the stdlib parses the encoded text as if it were
    the message; decode it and parse again."""
    encoding = str(holder.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding not in ("base64", "quoted-printable") or child.keys():
        return None
    carrier = Message()
    carrier.set_payload(child.get_payload())
    carrier["Content-Transfer-Encoding"] = encoding
    data = _payload_bytes(carrier)
    return _PARSER.parsebytes(data) if data else None


def _cut_separator_flood(raw: bytes, defects: list[str]) -> bytes:
    if raw.count(b"\n--") <= MAX_SEPARATOR_LINES:
        return raw
    position = -1
    for _ in range(MAX_SEPARATOR_LINES):
        position = raw.find(b"\n--", position + 1)
    defects.append(f"part budget exceeded: more than {MAX_SEPARATOR_LINES} boundary lines, read up to byte {position}")
    return raw[:position]


def _build(raw: bytes, message: Message, collector: _Collector) -> ParsedMessage:
    """The header fields of the top-level message, and what the walk collected."""
    raw_headers = [(str(name), str(value)) for name, value in message.raw_items()]
    decoded = tuple((name, hdr.header_text(value)) for name, value in raw_headers)
    first: dict[str, str] = {}
    raw_by_name: dict[str, list[str]] = {}
    for (name, value), (_, text) in zip(raw_headers, decoded, strict=True):
        key = name.lower()
        first.setdefault(key, text)
        raw_by_name.setdefault(key, []).append(value)

    def address_list(name: str) -> tuple[Address, ...]:
        return hdr.addresses(raw_by_name.get(name, []))

    from_, sender = address_list("from"), address_list("sender")
    subject = first.get("subject", "")
    date = hdr.parse_date(first["date"]) if "date" in first else None
    if "date" in first and date is None:
        collector.defects.append("unparsable Date header")
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id="".join(first.get("message-id", "").split()),
        subject=subject,
        from_=from_[0] if from_ else None,
        sender=sender[0] if sender else None,
        reply_to=address_list("reply-to"),
        to=address_list("to"),
        cc=address_list("cc"),
        date=date,
        headers=decoded,
        auth_results=tuple(
            hdr.auth_results(text) for name, text in decoded if name.lower() == "authentication-results"
        ),
        text_body=collector.text or "",
        html_body=collector.html or "",
        urls=tuple(collector.urls.values()),
        attachments=tuple(collector.attachments),
        defects=tuple(collector.defects),
        language=first.get("content-language", "").split(",")[0].strip(),
    )


def _subject_urls(message: Message, collector: _Collector) -> None:
    subject = message.get("Subject")
    if subject is not None:
        collector.scan_text(hdr.header_text(str(subject)), "Subject")


def _parse(raw: bytes) -> ParsedMessage:
    collector = _Collector()
    message = _PARSER.parsebytes(_cut_separator_flood(raw, collector.defects))
    _subject_urls(message, collector)
    _Walk(collector).run(message, 0, "")
    return _build(raw, message, collector)


def _parse_headers_only(raw: bytes, reason: str) -> ParsedMessage:
    """After the stdlib parser gave up on the MIME structure: the headers, and URLs found in the raw body."""
    collector = _Collector()
    collector.defects.append(reason)
    message = _HEADERS_ONLY.parsebytes(raw, headersonly=True)
    _subject_urls(message, collector)
    body = message.get_payload()
    if isinstance(body, str):
        collector.scan_text(body.encode("utf-8", errors="surrogateescape").decode("latin-1"), "Body")
    return _build(raw, message, collector)


def _crude(raw: bytes, reason: str) -> ParsedMessage:
    """Last resort, without the email package: header lines split by hand."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines: list[tuple[str, str]] = []
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + line)
        elif ":" in line:
            key, _, value = line.partition(":")
            lines.append((key.strip().replace("\x00", ""), value.strip().replace("\x00", "")))
    lookup = {k.lower(): v for k, v in reversed(lines)}
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id="".join(lookup.get("message-id", "").split()),
        subject=lookup.get("subject", ""),
        from_=None,
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        headers=tuple(lines),
        auth_results=(),
        text_body="",
        html_body="",
        urls=(),
        attachments=(),
        defects=(reason,),
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse as much as the bytes allow; never raises."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        return _parse(raw)
    except RecursionError:
        reason = "MIME structure nested too deeply for the parser; only the headers were read"
    except Exception as exc:  # a message is never lost to a parser bug
        reason = f"parser failure: {type(exc).__name__}: {exc}"
    try:
        return _parse_headers_only(raw, reason)
    except Exception as exc:
        return _crude(raw, f"{reason}; header parse failed too: {type(exc).__name__}")
