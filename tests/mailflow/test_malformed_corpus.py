"""A corpus of broken messages, generated here: each is parsed as far as it goes, with its defect recorded."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from ramparts.mailflow.parse import MAX_PARTS, MAX_SEPARATOR_LINES, parse_message


def nested(depth: int, *, payload: bytes = b"deep body https://deep.example/x") -> bytes:
    head = b"From: a@example.com\r\nSubject: deep\r\n"
    parts = [
        f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode() for level in range(depth)
    ]
    middle = b"Content-Type: text/plain\r\n\r\n" + payload + b"\r\n"
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
    assert parsed.text_body.startswith("first part")
    assert [u.url for u in parsed.urls] == ["https://a.example/1"]
    assert any(d.startswith("CloseBoundaryNotFoundDefect in part 1") for d in parsed.defects)
    [pdf] = parsed.attachments
    assert pdf.content == b"%PDF-1.4\n" and pdf.file_type == "pdf" and pdf.file_name == "a.pdf"


def test_missing_closing_boundary_and_truncated_mid_header() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--z\r\nContent-Type: text/html\r\n\r\n<a href='https://h.example/'>x</a>\r\n--z\r\nContent-Ty"
    )
    parsed = parse_message(raw)
    assert parsed.text_body.strip() == "plain"
    assert "h.example" in parsed.html_body
    assert parsed.urls[0].anchor_text == "x"
    assert any("CloseBoundaryNotFoundDefect" in d for d in parsed.defects)


def test_unknown_and_lying_charsets() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: =?x-unknown?q?hello?=\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
        b"caf\xe9 \xff\xfe https://b.example/\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "hello"
    assert parsed.text_body.startswith("café ÿþ")  # neither the charset nor UTF-8 fit: Latin-1
    assert "undecodable charset x-unknown in part 1" in parsed.defects
    assert parsed.urls[0].domain == "b.example"
    lying = b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xe9t\xe9 d'\xe9t\xe9\r\n"
    parsed = parse_message(lying)
    assert parsed.text_body.startswith("été d'été")
    assert "undecodable charset utf-8 in part 1" in parsed.defects
    mostly_utf8 = b"Content-Type: text/plain; charset=utf-8\r\n\r\nM\xc3\xbcller \xff\r\n"
    assert parse_message(mostly_utf8).text_body.startswith("Müller \ufffd")
    codec_not_text = b"Content-Type: text/plain; charset=zlib\r\n\r\nplain words\r\n"
    assert parse_message(codec_not_text).text_body.startswith("plain words")


def test_bad_base64_and_quoted_printable() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nbroken =ZZ soft=\r\nline\r\n--q\r\n"
        b"Content-Type: application/octet-stream; name=f.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64***\r\n--q--\r\n"
    )
    parsed = parse_message(raw)
    assert "broken =ZZ softline" in parsed.text_body
    [attachment] = parsed.attachments
    assert attachment.file_name == "f.bin"
    assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()
    assert any("InvalidBase64" in d and "part 3" in d for d in parsed.defects)


def test_three_thousand_nested_multiparts_fall_back_to_headers() -> None:
    parsed = parse_message(nested(3000))
    assert any("nested too deeply" in d for d in parsed.defects)
    assert parsed.from_ is not None and parsed.from_.address == "a@example.com"
    assert parsed.subject == "deep"
    assert [u.url for u in parsed.urls] == ["https://deep.example/x"]  # still found in the raw body


def test_three_hundred_nested_multiparts_are_walked() -> None:
    parsed = parse_message(nested(300))
    assert parsed.text_body.startswith("deep body")
    assert not any("nested too deeply" in d for d in parsed.defects)


def test_ten_thousand_sibling_parts_hit_the_part_budget() -> None:
    parsed = parse_message(siblings(MAX_PARTS + 50))
    assert sum(d.startswith("part budget exceeded") for d in parsed.defects) == 1
    assert parsed.text_body.startswith("part 0")


def test_a_million_empty_parts_are_cut_before_parsing() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=s\r\n\r\n" + b"--s\r\n\r\n" * 1_000_000
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 20
    assert parsed.defects[0].startswith(f"part budget exceeded: more than {MAX_SEPARATOR_LINES} boundary lines")
    assert parsed.size == len(raw)


def test_fifty_megabyte_bodies() -> None:
    body = (b"A" * 998 + b"\r\n") * 50_000
    raw = b"From: a@example.com\r\nSubject: big\r\nContent-Type: application/octet-stream; name=big.bin\r\n\r\n" + body
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert parsed.size > 50_000_000
    assert parsed.attachments[0].sha256 == hashlib.sha256(body).hexdigest()
    text = b"Subject: big text\r\n\r\n" + (b"word " * 199 + b"\r\n") * 50_000 + b"end https://last.example/x\r\n"
    parsed = parse_message(text)
    assert [u.url for u in parsed.urls] == ["https://last.example/x"]
    hostile_html = b"Content-Type: text/html\r\n\r\n" + b'<a "' * 3_000_000 + b"<a href=https://h.example/>t</a>"
    assert parse_message(hostile_html).urls[0].url == "https://h.example/"
    assert time.perf_counter() - started < 60


def test_nul_bytes_in_headers_and_body() -> None:
    raw = b"From: a@exa\x00mple.com\r\nSubject: nul\x00here\r\n\r\nbody \x00 text https://n.example/\x00x\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == "nulhere"
    assert parsed.from_ is not None and parsed.from_.address == "a@example.com"
    assert parsed.text_body.startswith("body  text")
    assert [u.url for u in parsed.urls] == ["https://n.example/x"]


def test_header_lines_without_colon_unfolded_and_eight_bit() -> None:
    raw = (
        b"From: a@example.com\r\nthis line has no colon\r\nSubject: after\r\n continued\r\n"
        b"X-Eight: \xe9\xe8\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.header("from") == "a@example.com"
    assert any("MissingHeaderBodySeparatorDefect" in d for d in parsed.defects)
    # The stdlib ends the header block at the first line that is not a header; the rest becomes body.
    assert "this line has no colon" in parsed.text_body
    folded = parse_message(b"Subject: one\r\n two\r\n\tthree\r\nX-Eight: \xe9\xe8\r\n\r\nbody")
    assert folded.subject == "one two\tthree"
    assert folded.header("x-eight") == "éè"


def test_no_separator_between_headers_and_body() -> None:
    parsed = parse_message(b"From: a@example.com\r\nSubject: s\r\nthe body starts here https://ns.example/\r\n")
    assert parsed.subject == "s"
    assert "the body starts here" in parsed.text_body
    assert parsed.urls[0].domain == "ns.example"


@pytest.mark.parametrize(
    "raw",
    [
        b"this is not a header line\r\nand neither is this\r\n",
        b"Subject: no separator and then a body line without a blank line",
        b"From: <<<>>>@@@\r\nTo: ,,,;;;\r\nDate: not a date\r\nSubject: \xff\xfe8bit\r\n\r\nbody",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Disposition: attachment; filename*=x-bogus''%FF%FE\r\n\r\nz",
        b"Date: Tue, 14 May 99999 09:30:00 +0200\r\n\r\n",
        b"",
        b"\r\n\r\n\r\n",
        b"\x00" * 100,
    ],
)
def test_broken_headers_and_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.size == len(raw)
    assert "\x00" not in parsed.subject
    assert all("\x00" not in value for _, value in parsed.headers)
    (parsed.subject + parsed.text_body + "".join(v for _, v in parsed.headers)).encode("utf-8")


def test_unparsable_date_is_a_defect() -> None:
    parsed = parse_message(b"Date: not a date\r\n\r\n")
    assert parsed.date is None
    assert "unparsable Date header" in parsed.defects


def test_rfc2231_koi8r_and_rfc2047_file_names() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=koi8-r''%F4%C5%D3%D4.txt\r\n\r\nhello\r\n--k\r\n"
        b'Content-Type: application/octet-stream; name="=?utf-8?b?0YTQsNC50LsuZXhl?="\r\n\r\nMZ\r\n--k--\r\n'
    )
    first, second = parse_message(raw).attachments
    assert first.file_name == "Тест.txt"
    assert first.extension == "txt"
    assert first.content == b"hello"
    assert second.file_name == "файл.exe"
    assert second.file_type == "exe"


def test_base64_encoded_attached_message_is_decoded_and_walked() -> None:
    inner = b"Subject: inner\r\nContent-Type: text/plain\r\n\r\nsee https://inner.example/\r\n"
    raw = (
        b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(inner) + b"--m--\r\n"
    )
    [url] = parse_message(raw).urls
    assert url.url == "https://inner.example/"
    assert url.nested_in == "inner"
    assert url.location == "Attachment"


def test_attached_messages_nested_deeper_than_the_limit() -> None:
    raw = b"Subject: level 30\r\n\r\nbottom https://bottom.example/\r\n"
    for level in range(29, -1, -1):
        raw = f"Subject: level {level}\r\nContent-Type: message/rfc822\r\n\r\n".encode() + raw
    parsed = parse_message(raw)
    assert any("nested deeper than 20" in d for d in parsed.defects)
    assert parsed.urls == ()


def _generated_corpus() -> list[bytes]:
    """Stand-in when this Python was installed without its test package: the same shapes, built here."""
    corpus = []
    for index in range(40):
        message = EmailMessage()
        message["From"] = f"=?iso-8859-1?q?J=F6rg_{index}?= <j{index}@example.com>"
        message["Subject"] = f"message {index} https://s{index}.example/"
        message.set_content(f"text {index} https://t{index}.example/", charset=["utf-8", "iso-8859-1"][index % 2])
        if index % 3 == 0:
            message.add_alternative(f"<a href='https://h{index}.example/'>link</a>", subtype="html")
        if index % 4 == 0:
            message.add_attachment(
                bytes(range(index)), maintype="application", subtype="octet-stream", filename="f.bin"
            )
        corpus.append(message.as_bytes())
    return corpus


def _stdlib_corpus() -> list[bytes]:
    """The real-world messages CPython ships in test/test_email/data."""
    spec = importlib.util.find_spec("test.test_email")
    if spec is None or spec.origin is None:
        return []
    return [path.read_bytes() for path in sorted((Path(spec.origin).parent / "data").glob("msg_*.txt"))]


def test_real_world_corpus() -> None:
    corpus = _stdlib_corpus() or _generated_corpus()
    assert len(corpus) >= 40
    with_attachments = 0
    for raw in corpus:
        parsed = parse_message(raw)
        assert parsed.size == len(raw)
        assert not any(d.startswith(("parser failure", "part ")) for d in parsed.defects), parsed.defects
        with_attachments += bool(parsed.attachments)
        for attachment in parsed.attachments:
            assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()
    assert with_attachments >= 5
