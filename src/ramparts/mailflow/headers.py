"""Header values as text: 8-bit bytes, RFC 2047 encoded words, folding and NULs, none of which may raise."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import quopri
import re
from email.errors import HeaderParseError
from email.header import decode_header

from ramparts.mailflow.message import Address, AuthResultsHeader

_FOLD = re.compile(r"\r?\n|\r")
_RESINFO = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s*(?:/\s*\d+\s*)?=\s*([A-Za-z0-9_-]+)")
_EXTRA_METHOD = re.compile(
    r"(?<![\w.-])(spf|dkim|dmarc|arc|iprev|auth|compauth|bimi|dkim-atps|sender-id|domainkeys|x-[a-z0-9-]+)\s*=\s*([a-z0-9_-]+)",
    re.IGNORECASE,
)
_COMMENT_SCAN_LIMIT = 65_536
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Text from bytes in a declared charset; (text, clean) where clean is False when a fallback was needed.

    Order: the declared charset strictly, then UTF-8 strictly, then the declared charset with replacement
    characters (for a known multi-byte charset), else UTF-8 with replacements when the bytes hold valid
    UTF-8 sequences, else Latin-1, which reads any byte.
    """
    codec = (charset or "").strip().strip('"').lower() or "us-ascii"
    known = True
    try:
        return data.decode(codec), True
    except UnicodeDecodeError:
        pass
    except LookupError:  # unknown names, and bytes-to-bytes codecs such as "zlib"
        known = False
    try:
        return data.decode("utf-8"), known
    except UnicodeDecodeError:
        pass
    if known and codec not in ("us-ascii", "ascii", "utf-8", "utf8"):
        return data.decode(codec, errors="replace"), False
    if _UTF8_SEQUENCE.search(data):
        return data.decode("utf-8", errors="replace"), False
    return data.decode("latin-1"), False


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def unfold(value: str) -> str:
    """A raw header value as one line of text: 8-bit bytes decoded (UTF-8, else Latin-1), folding undone."""
    if not value.isascii():
        # BytesParser keeps undecodable header bytes as lone surrogates; get the bytes back.
        data = value.encode("utf-8", errors="surrogateescape")
        value, _ = decode_bytes(data, "utf-8")
    if "\n" in value or "\r" in value:
        value = _FOLD.sub("", value)
    return value


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; a value that cannot be decoded is kept as written."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except (HeaderParseError, binascii.Error, ValueError, UnicodeError, LookupError, AssertionError):
        return _ENCODED_WORD.sub(_decode_word, value)
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        elif charset is None:
            parts.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            parts.append(decode_bytes(chunk, charset.partition("*")[0])[0])
    return "".join(parts)


def _decode_word(match: re.Match[str]) -> str:
    """One encoded word on its own, for a value where decode_header gave up on another word."""
    charset, encoding, text = match.group(1), match.group(2).lower(), match.group(3)
    try:
        if encoding == "b":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeError):
        return match.group(0)
    return decode_bytes(data, charset.partition("*")[0])[0]


def header_text(value: str) -> str:
    """The text of a raw header value: unfolded, decoded, without NULs."""
    text = decode_words(unfold(value))
    return text.replace("\x00", "") if "\x00" in text else text


def addresses(raw_values: list[str]) -> tuple[Address, ...]:
    """Addresses from raw header values; display names are decoded after splitting, so an encoded comma
    inside a name cannot split an address."""
    if not raw_values:
        return ()
    try:
        pairs = email.utils.getaddresses([unfold(v).replace("\x00", "") for v in raw_values])
    except (HeaderParseError, ValueError, IndexError, TypeError, AttributeError):
        return ()
    found = []
    for display, address in pairs:
        address = address.strip()
        if address:
            found.append(Address(decode_words(display).strip(), address.lower()))
    return tuple(found)


def parse_date(value: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _strip_comments(value: str) -> str:
    if "(" not in value:
        return value
    out: list[str] = []
    depth = 0
    escaped = False
    for char in value[:_COMMENT_SCAN_LIMIT]:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
        elif char == "\\":
            escaped = True
            if not depth:
                out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            out.append(" ")
        elif not depth:
            out.append(char)
    return "".join(out)


def auth_results(value: str) -> AuthResultsHeader:
    """One Authentication-Results value (RFC 8601): authserv-id, then method=result per resinfo.

    A method given twice (several DKIM signatures) keeps "pass" if any copy passed, else the first result.
    """
    authserv, _, rest = _strip_comments(value).partition(";")
    if "=" in authserv:  # no authserv-id (Exchange Online writes none): the first segment is a result
        authserv, rest = "", value if "(" not in value else _strip_comments(value)
    words = authserv.split()
    results: dict[str, str] = {}

    def add(method: str, result: str) -> None:
        method, result = method.lower(), result.lower()
        if method not in results or result == "pass":
            results[method] = result

    for resinfo in rest.split(";"):
        match = _RESINFO.match(resinfo)
        if match is None:
            continue
        add(match.group(1), match.group(2))
        for extra in _EXTRA_METHOD.finditer(resinfo, match.end()):
            add(extra.group(1), extra.group(2))
    return AuthResultsHeader(words[0] if words else "", results)
