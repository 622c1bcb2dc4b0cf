"""Property-based fuzzing of the parser: any bytes, generated MIME trees, and generated broken ones."""

from __future__ import annotations

import base64
import hashlib
import quopri
from dataclasses import dataclass, field
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ramparts.mailflow.message import ParsedMessage
from ramparts.mailflow.parse import parse_message

TREES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHARSETS = ["utf-8", "iso-8859-1", "koi8-r", "windows-1252", "shift_jis", "utf-16", "x-unknown", "us-ascii"]


def check_invariants(raw: bytes, parsed: ParsedMessage) -> None:
    assert parsed.size == len(raw)
    assert parsed.raw is raw
    for attachment in parsed.attachments:
        assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()
        assert attachment.size == len(attachment.content)
        assert attachment.extension == attachment.extension.lower() and "." not in attachment.extension
    found = [u.url for u in parsed.urls]
    assert len(found) == len(set(found))
    for url in parsed.urls:
        assert url.domain and url.domain == url.domain.lower()
        assert url.location in ("Body", "Subject", "Attachment")
    texts = [parsed.subject, parsed.text_body, parsed.html_body, *parsed.defects]
    texts += [value for pair in parsed.headers for value in pair]
    texts += [a.file_name for a in parsed.attachments] + [u.anchor_text for u in parsed.urls]
    for text in texts:
        text.encode("utf-8")  # no lone surrogates leak out of the parser
    assert "\x00" not in parsed.subject + parsed.text_body + parsed.html_body


@FAST
@given(st.binary(max_size=4000))
def test_any_bytes_parse(raw: bytes) -> None:
    check_invariants(raw, parse_message(raw))


@FAST
@given(st.lists(st.sampled_from([
    b"From: a@b.example\r\n", b"Subject: =?utf-8?b?w6k=?=\r\n", b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Transfer-Encoding: base64\r\n", b"\r\n", b"--b\r\n", b"--b--\r\n",
    b"https://x.example/p ", b"<a href='http://y.example/'>y</a>", b"\xff\xfe\x00", b" folded\r\n", b"=?x?q?z?=",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.exe\r\n", b"MZ\x90\x00", b"PK\x03\x04",
]), max_size=60))  # fmt: skip
def test_shuffled_mime_fragments(fragments: list[bytes]) -> None:
    raw = b"".join(fragments)
    check_invariants(raw, parse_message(raw))


@dataclass
class Leaf:
    body: bytes
    content_type: str
    charset: str
    encoding: str
    filename: str = ""
    urls: list[str] = field(default_factory=list)


@dataclass
class Tree:
    subtype: str
    children: list[Tree | Leaf]


header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60)
file_names = st.from_regex(r"[a-z]{1,8}\.[a-z]{2,4}", fullmatch=True)
urls = st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9]{0,8}", fullmatch=True)
leaves = st.builds(
    Leaf,
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["text/plain", "text/html", "application/octet-stream", "image/png"]),
    charset=st.sampled_from(CHARSETS),
    encoding=st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-bogus", "base64-broken"]),
    filename=st.sampled_from(["", "a.pdf", "b.exe", "Тест.doc", "c d.zip"]),
    urls=st.lists(urls, max_size=3),
)
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        Tree, st.sampled_from(["mixed", "alternative", "related"]), st.lists(children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


def encode_leaf(leaf: Leaf) -> tuple[bytes, bytes, bytes]:
    """Headers, the body as it goes on the wire, and the bytes a reader should get back."""
    body = leaf.body + (" " + " ".join(leaf.urls) + " ").encode() if leaf.urls else leaf.body
    headers = f"Content-Type: {leaf.content_type}; charset={leaf.charset}\r\n"
    if leaf.filename:
        headers += f"Content-Disposition: attachment; filename*=utf-8''{leaf.filename.encode().hex('%').upper()}\r\n"
        headers = headers.replace("filename*=utf-8''", "filename*=utf-8''%")
    encoding = leaf.encoding
    if encoding.startswith("base64"):
        wire = base64.encodebytes(body)
        if encoding == "base64-broken":
            wire = wire[: len(wire) // 2] + b"!*"
        encoding = "base64"
    elif encoding == "quoted-printable":
        wire = quopri.encodestring(body)
    else:
        wire = body = body.replace(b"\r", b"").replace(b"\n", b"\r\n")
    return (headers + f"Content-Transfer-Encoding: {encoding}\r\n").encode(), wire, body


def render(node: Tree | Leaf, counter: list[int]) -> bytes:
    if isinstance(node, Leaf):
        head, wire, _ = encode_leaf(node)
        return head + b"\r\n" + wire
    counter[0] += 1
    boundary = f"==b{counter[0]}=="
    out = f'Content-Type: multipart/{node.subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    for child in node.children:
        out += f"\r\n--{boundary}\r\n".encode() + render(child, counter)
    return out + f"\r\n--{boundary}--\r\n".encode()


def expected_files(node: Tree | Leaf) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node] if node.filename else []
    return [leaf for child in node.children for leaf in expected_files(child)]


@TREES
@given(tree=trees, subject=header_text, truncate=st.integers(min_value=0, max_value=2000))
def test_generated_mime_trees(tree: Tree | Leaf, subject: str, truncate: int) -> None:
    header = EmailMessage()
    header["Subject"] = subject
    header["From"] = "Sender <s@example.com>"
    raw = bytes(header)[: -len(b"\n")].replace(b"\n", b"\r\n") + render(tree, [0])
    parsed = parse_message(raw)
    check_invariants(raw, parsed)
    assert parsed.from_ is not None and parsed.from_.address == "s@example.com"
    named = sorted(a.file_name for a in parsed.attachments if a.file_name)
    assert named == sorted(leaf.filename for leaf in expected_files(tree))
    contents: dict[str, list[bytes]] = {}
    for attachment in parsed.attachments:
        contents.setdefault(attachment.file_name, []).append(attachment.content)
    for leaf in expected_files(tree):
        if leaf.encoding != "base64-broken":
            assert encode_leaf(leaf)[2] in contents[leaf.filename]
    cut = raw[: max(1, len(raw) - truncate)]
    check_invariants(cut, parse_message(cut))


@FAST
@given(
    subject=header_text,
    bodies=st.lists(st.tuples(st.text(max_size=200), st.lists(urls, max_size=3)), min_size=1, max_size=4),
    files=st.lists(st.tuples(file_names, st.binary(max_size=300)), max_size=3),
    charset=st.sampled_from(["utf-8", "iso-8859-1", "koi8-r", "utf-16"]),
)  # fmt: skip
def test_well_formed_messages_lose_nothing(
    subject: str, bodies: list[tuple[str, list[str]]], files: list[tuple[str, bytes]], charset: str
) -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = subject
    text = "\n".join(body + " " + " ".join(links) for body, links in bodies)
    try:
        message.set_content(text, charset=charset)
    except (UnicodeEncodeError, LookupError):
        message.set_content(text)
    for name, content in files:
        message.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    raw = message.as_bytes()
    parsed = parse_message(raw)
    check_invariants(raw, parsed)
    assert parsed.subject == subject.strip() or " ".join(parsed.subject.split()) == " ".join(subject.split())
    expected = {link for _, links in bodies for link in links}
    assert expected <= {u.url for u in parsed.urls}
    assert sorted(a.sha256 for a in parsed.attachments) == sorted(hashlib.sha256(c).hexdigest() for _, c in files)
