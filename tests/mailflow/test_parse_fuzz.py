"""Property-based fuzzing of the parser: any bytes, and generated MIME trees."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ramparts.mailflow.parse import parse_message

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=4000))
def test_any_bytes_parse(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.size == len(raw)
    for attachment in parsed.attachments:
        assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()


header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60)
url = st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9]{0,8}", fullmatch=True)


@FAST
@given(
    subject=header_text,
    bodies=st.lists(st.tuples(st.text(max_size=200), st.lists(url, max_size=3)), min_size=1, max_size=4),
    files=st.lists(
        st.tuples(st.from_regex(r"[a-z]{1,8}\.[a-z]{2,4}", fullmatch=True), st.binary(max_size=300)), max_size=3
    ),
    charset=st.sampled_from(["utf-8", "iso-8859-1", "koi8-r", "utf-16"]),
)
def test_generated_mime_trees(
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
    parsed = parse_message(message.as_bytes())
    found = [u.url for u in parsed.urls]
    assert len(found) == len(set(found))
    expected = {link for _, links in bodies for link in links}
    assert expected <= set(found)
    assert sorted(a.sha256 for a in parsed.attachments) == sorted(hashlib.sha256(c).hexdigest() for _, c in files)
