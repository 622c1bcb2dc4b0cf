"""Finding URLs in text and HTML, with regular expressions rather than an HTML parser.

html.parser costs several times the whole MIME parse of a typical message, and goes slow on some
unterminated constructs. The expressions here run on an ASCII-lowercased copy, so that each one starts
with a literal the regex engine can scan for; every repetition is bounded or stops at a delimiter, so a
50 MB body of hostile markup costs seconds, not minutes. Spans found in the copy index the original.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

MAX_HTML_ATTRIBUTES = 20_000
"""URL attributes read per HTML document; a real message has hundreds at most."""

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_TEXT_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"'`{}|\\^\ufffd\x00-\x1f\x7f]+""")
_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "["}
_URL_PREFIX = ("http://", "https://", "www.")
_ATTRIBUTE = re.compile(
    r"=(?<=[fcndr]=)(?:(?<=href=)|(?<=src=)|(?<=action=)|(?<=background=)|(?<=poster=))"
    r"""\s*(?:"([^"]{0,8192})"|'([^']{0,8192})'|([^\s"'>]{1,8192}))"""
)
_ANCHOR = re.compile(r"<a[\s/][^<>]{0,8192}>")
_ANCHOR_END = re.compile(r"</a\s*>")
_TAG = re.compile(r"<[^<>]{0,8192}>")
"""Excluding "<" keeps a run of unclosed tags linear: each scan stops at the next "<"."""
_SPACE = re.compile(r"\s+")
_ANCHOR_TEXT_MAX = 500
_ANCHOR_SCAN = 8192


def _lower(text: str) -> str:
    """ASCII letters lowercased, every other character left alone, so the length never changes."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _trim(url: str) -> str:
    """Drop sentence punctuation after a URL, and a closing bracket that has no opening one inside it."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])):
            url = url[:-1]
        else:
            break
    return url


def _text_urls(text: str, lowered: str) -> Iterator[str]:
    for match in _TEXT_URL.finditer(lowered):
        start = match.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue
        url = _trim(text[start : match.end()])
        if url:
            yield url


def text_urls(text: str) -> Iterator[str]:
    """URLs written out in plain text: http(s):// and bare www. links."""
    return _text_urls(text, _lower(text))


def _anchor_text(markup: str, lowered: str, start: int) -> str:
    end = _ANCHOR_END.search(lowered, start, start + _ANCHOR_SCAN)
    inner = markup[start : end.start() if end else min(len(markup), start + _ANCHOR_TEXT_MAX)]
    if "<" in inner:
        inner = _TAG.sub(" ", inner)
    if "&" in inner:
        inner = html.unescape(inner)
    return _SPACE.sub(" ", inner).strip()[:_ANCHOR_TEXT_MAX]


def html_links(markup: str) -> tuple[list[tuple[str, str]], bool]:
    """(url, anchor text) from href/src-like attributes in document order, with the visible text of the
    enclosing <a> for an href; and whether MAX_HTML_ATTRIBUTES ran out."""
    lowered = _lower(markup)
    found: list[tuple[str, str]] = []
    anchors = _ANCHOR.finditer(lowered)
    anchor = next(anchors, None)
    for count, match in enumerate(_ATTRIBUTE.finditer(lowered)):
        if count >= MAX_HTML_ATTRIBUTES:
            return found, True
        group = 1 if match.group(1) is not None else 2 if match.group(2) is not None else 3
        url = markup[match.start(group) : match.end(group)]
        if "&" in url:
            url = html.unescape(url)
        url = url.strip()
        if not url.lower().startswith(_URL_PREFIX):
            continue
        position = match.start()
        while anchor is not None and anchor.end() <= position:
            anchor = next(anchors, None)
        text = ""
        if anchor is not None and anchor.start() < position and lowered.endswith("href=", 0, position + 1):
            text = _anchor_text(markup, lowered, anchor.end())
        found.append((url, text))
    return found, False


def html_text_urls(markup: str) -> Iterator[str]:
    """URLs written anywhere in the markup (visible text, attributes written oddly), entities decoded."""
    for url in _text_urls(markup, _lower(markup)):
        if "&" in url:
            words = html.unescape(url).split()
            url = _trim(words[0]) if words else ""
        if url:
            yield url


def url_domain(url: str) -> str:
    """Lowercase host without userinfo, port or trailing dot; "" when there is none."""
    try:
        host = urlsplit(url if "://" in url[:12] else "http://" + url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")
