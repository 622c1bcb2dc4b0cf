"""Time-of-click protection: links in delivered mail point at ramparts, which checks them when clicked.

When `safe_links_url` is set, each http(s) link in the text and HTML bodies of a copy going to a mailbox is
rewritten to `{safe_links_url}/safelinks/v1/click?url=...&n=...&r=...&t=...&s=...`: the original URL, the
message, the recipient and the tenant, signed with HMAC-SHA256 under a key kept in the data directory, so
the click route never redirects anywhere it did not write itself. Signed or encrypted messages (S/MIME,
PGP/MIME) are delivered unchanged: rewriting would break them. A message with no link is not re-encoded.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import os
import re
import secrets
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlencode

from ramparts.config import Settings

CLICK_PATH = "/safelinks/v1/click"
KEY_FILE = "safe-links.key"
_UNTOUCHABLE = {"multipart/signed", "multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"}
_TEXT_URL = re.compile(r"https?://[^\s<>\"'\]\)]+", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(\s*https?://[^"']+?\s*)\2""", re.IGNORECASE)
_TRAILING = ".,;:!?"


@functools.lru_cache(maxsize=16)
def load_key(data_dir: Path) -> bytes:
    """The signing key, made on first use (32 random bytes, readable by the owner only); read once per
    process, not per click or per copy."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    # written whole under a temporary name, then linked into place: a process starting at the same moment
    # either links first or reads the complete key the other one linked
    temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def signature(key: bytes, url: str, network_message_id: str, recipient: str, tenant_id: str) -> str:
    payload = "\x1f".join((url, network_message_id, recipient, tenant_id)).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def verify(key: bytes, url: str, network_message_id: str, recipient: str, tenant_id: str, given: str) -> bool:
    return hmac.compare_digest(signature(key, url, network_message_id, recipient, tenant_id), given)


def wrapped(base: str, key: bytes, url: str, network_message_id: str, recipient: str, tenant_id: str) -> str:
    query = {
        "url": url,
        "n": network_message_id,
        "r": recipient,
        "t": tenant_id,
        "s": signature(key, url, network_message_id, recipient, tenant_id),
    }
    return f"{base.rstrip('/')}{CLICK_PATH}?{urlencode(query)}"


def rewrite_text(text: str, wrap: Callable[[str], str], base: str) -> str:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        trimmed = url.rstrip(_TRAILING)
        if trimmed.startswith(base):
            return url
        return wrap(trimmed) + url[len(trimmed) :]

    return _TEXT_URL.sub(replace, text)


def rewrite_html(markup: str, wrap: Callable[[str], str], base: str) -> str:
    def replace(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if url.startswith(base):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{html.escape(wrap(url), quote=True)}{match.group(2)}"

    return _HREF.sub(replace, markup)


def rewrite_message(raw: bytes, wrap: Callable[[str], str], base: str) -> bytes:
    """The message with its body links wrapped; the same bytes when it has none or must not be touched."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    if any(part.get_content_type() in _UNTOUCHABLE for part in message.walk()):
        return raw
    changed = False
    for part in message.walk():
        if part.is_multipart() or part.is_attachment() or part.get_content_maintype() != "text":
            continue
        subtype = part.get_content_subtype()
        if subtype not in ("plain", "html"):
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):  # an unknown charset or broken encoding: leave the part alone
            continue
        rewritten = rewrite_html(content, wrap, base) if subtype == "html" else rewrite_text(content, wrap, base)
        if rewritten != content:
            assert isinstance(part, EmailMessage)
            part.set_content(rewritten, subtype=subtype, charset="utf-8", cte="quoted-printable")
            changed = True
    if not changed:
        return raw
    linesep = "\r\n" if b"\r\n" in raw[:4096] else "\n"
    return message.as_bytes(policy=policy.default.clone(linesep=linesep))


def for_mailbox(
    settings: Settings, raw: bytes, *, network_message_id: str, recipient: str, tenant_id: str, has_links: bool = True
) -> bytes:
    """The bytes to put in a recipient's mailbox: links wrapped when safe_links_url is set. has_links=False
    (the parser found no body URL) skips parsing the message again."""
    base = settings.safe_links_url.rstrip("/")
    if not base or not has_links:
        return raw
    wrap = functools.partial(wrapped, base, load_key(settings.data_dir))
    return rewrite_message(raw, lambda url: wrap(url, network_message_id, recipient, tenant_id), base)
