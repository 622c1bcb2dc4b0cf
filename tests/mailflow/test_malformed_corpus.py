"""A corpus of broken messages: each is parsed as far as it goes, with its defect recorded."""

from __future__ import annotations

import hashlib

import pytest

from ramparts.mailflow.parse import MAX_PARTS, parse_message


def nested(depth: int) -> bytes:
    head = b"From: a@example.com\r\nSubject: deep\r\n"
    parts = []
    for level in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode())
    middle = b"Content-Type: text/plain\r\n\r\ndeep body\r\n"
    tail = b"".join(f"--b{level}--\r\n".encode() for level in reversed(range(depth)))
    return head + b"".join(parts) + middle + tail


def siblings(count: int) -> bytes:
    body = b"".join(b"--s\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(count))
    return b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n" + body + b"--s--\r\n"


def test_truncated_mime_keeps_what_arrived() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: cut\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nfirst part https://a.example/1\r\n--x\r\n"
        b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"
    )
    parsed = parse_message(raw)
    assert "first part" in parsed.text_body
    assert parsed.urls[0].url == "https://a.example/1"
    assert any("CloseBoundaryNotFoundDefect" in d for d in parsed.defects)
    assert parsed.attachments[0].content.startswith(b"%PDF")


def test_unknown_and_lying_charsets() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: =?x-unknown?q?hello?=\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
        b"caf\xe9 \xff\xfe https://b.example/\r\n"
    )
    parsed = parse_message(raw)
    assert "caf" in parsed.text_body
    assert any("unknown charset x-unknown" in d for d in parsed.defects)
    assert parsed.urls[0].domain == "b.example"
    lying = b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xe9t\xe9\r\n"
    assert parse_message(lying).text_body.count("\ufffd") == 2


def test_bad_base64_and_quoted_printable() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nbroken =ZZ soft=\r\nline\r\n--q\r\n"
        b"Content-Type: application/octet-stream; name=f.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64***\r\n--q--\r\n"
    )
    parsed = parse_message(raw)
    assert "broken =ZZ softline" in parsed.text_body
    assert len(parsed.attachments) == 1
    assert any("Base64" in d or "base64" in d for d in parsed.defects)


def test_thousands_of_nested_parts_do_not_crash() -> None:
    parsed = parse_message(nested(3000))
    assert parsed.size > 0
    assert parsed.defects


def test_ten_thousand_sibling_parts_hit_the_part_budget() -> None:
    parsed = parse_message(siblings(MAX_PARTS + 50))
    assert any(f"more than {MAX_PARTS} MIME parts" in d for d in parsed.defects)
    assert "part 0" in parsed.text_body


def test_fifty_megabyte_body() -> None:
    body = (b"A" * 998 + b"\r\n") * 50_000
    raw = b"From: a@example.com\r\nSubject: big\r\nContent-Type: application/octet-stream; name=big.bin\r\n\r\n" + body
    parsed = parse_message(raw)
    assert parsed.size > 50_000_000
    assert parsed.attachments[0].sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@exa\x00mple.com\r\nSubject: nul\x00here\r\n\r\nbody \x00 text\r\n",
        b"this is not a header line\r\nand neither is this\r\n",
        b"Subject: no separator and then a body line without a blank line",
        b"From: <<<>>>@@@\r\nTo: ,,,;;;\r\nDate: not a date\r\nSubject: \xff\xfe8bit\r\n\r\nbody",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n",
        b"",
        b"\r\n\r\n\r\n",
    ],
)
def test_broken_headers_and_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.size == len(raw)
    assert "\x00" not in parsed.subject
    assert all("\x00" not in value for _, value in parsed.headers)


def test_rfc2231_koi8r_file_name() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=koi8-r''%F4%C5%D3%D4.txt\r\n\r\nhello\r\n--k--\r\n"
    )
    [attachment] = parse_message(raw).attachments
    assert attachment.file_name == "Тест.txt"
    assert attachment.extension == "txt"
