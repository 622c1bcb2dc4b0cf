from __future__ import annotations

import hashlib
import zipfile
from email.message import EmailMessage
from io import BytesIO

import pytest

from ramparts.mailflow.filetypes import describe_file
from ramparts.mailflow.message import Address, AuthResultsHeader
from ramparts.mailflow.parse import parse_message

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()


def business_message() -> bytes:
    message = EmailMessage()
    message["From"] = "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Partner.Example>"
    message["To"] = "Megan Bowen <megan@contoso.com>, alex@contoso.com"
    message["Cc"] = "finance@contoso.com"
    message["Subject"] = "=?utf-8?b?UmVjaG51bmcgZsO8ciBPa3RvYmVy?= see https://partner.example/s"
    message["Message-ID"] = "<abc.123@partner.example>"
    message["Date"] = "Tue, 14 May 2024 09:30:00 +0200"
    message["Authentication-Results"] = "mx.contoso.com; spf=pass smtp.mailfrom=partner.example; dkim=fail; dmarc=none"
    message.set_content("Invoice at https://portal.partner.example/inv/42. Also www.partner.example/terms.\n")
    message.add_alternative(
        '<p>See <a href="https://portal.partner.example/inv/42">the invoice</a> and '
        '<a href="http://evil.example/login">https://portal.partner.example</a></p>',
        subtype="html",
    )
    message.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="invoice.pdf")
    message.add_attachment(b"MZ\x90\x00" + b"\x00" * 60, maintype="application", subtype="pdf", filename="scan.pdf")
    return message.as_bytes()


def test_headers_addresses_and_dates_are_decoded() -> None:
    parsed = parse_message(business_message())
    assert parsed.from_ is not None
    assert parsed.from_.display_name == "Jürgen Müller"
    assert parsed.from_.address == "juergen@partner.example"
    assert parsed.from_.domain == "partner.example"
    assert [a.address for a in parsed.to] == ["megan@contoso.com", "alex@contoso.com"]
    assert [a.address for a in parsed.cc] == ["finance@contoso.com"]
    assert parsed.subject.startswith("Rechnung für Oktober")
    assert parsed.internet_message_id == "<abc.123@partner.example>"
    assert parsed.date is not None and parsed.date.utcoffset() is not None and parsed.date.hour == 9
    assert parsed.header("message-id") == "<abc.123@partner.example>"
    assert parsed.size == len(business_message())


def test_authentication_results_are_read() -> None:
    [header] = parse_message(business_message()).auth_results
    assert header.authserv_id == "mx.contoso.com"
    assert header.results == {"spf": "pass", "dkim": "fail", "dmarc": "none"}


def test_urls_from_text_html_and_subject_deduplicated_with_domains() -> None:
    parsed = parse_message(business_message())
    urls = {u.url: u for u in parsed.urls}
    assert list(urls) == [
        "https://partner.example/s",
        "https://portal.partner.example/inv/42",
        "www.partner.example/terms",
        "http://evil.example/login",
        "https://portal.partner.example",
    ]
    assert urls["https://partner.example/s"].location == "Subject"
    assert urls["http://evil.example/login"].anchor_text == "https://portal.partner.example"
    assert urls["www.partner.example/terms"].domain == "www.partner.example"
    assert urls["https://portal.partner.example/inv/42"].location == "Body"
    assert all(not u.nested_in for u in parsed.urls)


def test_html_links_entities_attributes_and_anchor_text() -> None:
    html = (
        "<html><body><A HREF=\"https://Login.Example.COM:8443/a?x=1&amp;y=2\" title='t'>  Sign\n <b>in</b> &amp; go</A>"
        "<img src='http://img.example/p.png'><form action=https://post.example/f></form>"
        "<a href='mailto:x@y.example'>mail</a><a href=\"javascript:alert(1)\">js</a>"
        "<p>Visit https://visible.example/path). Or https://user:pw@auth.example/x</p></body></html>"
    )
    message = EmailMessage()
    message["Subject"] = "links"
    message.set_content(html, subtype="html")
    parsed = parse_message(message.as_bytes())
    urls = {u.url: u for u in parsed.urls}
    assert list(urls) == [
        "https://Login.Example.COM:8443/a?x=1&y=2",
        "http://img.example/p.png",
        "https://post.example/f",
        "https://visible.example/path",
        "https://user:pw@auth.example/x",
    ]
    assert urls["https://Login.Example.COM:8443/a?x=1&y=2"].anchor_text == "Sign in & go"
    assert urls["https://Login.Example.COM:8443/a?x=1&y=2"].domain == "login.example.com"
    assert urls["http://img.example/p.png"].anchor_text == ""
    assert urls["https://user:pw@auth.example/x"].domain == "auth.example"
    assert parsed.html_body.startswith("<html>")
    assert parsed.text_body == ""


def test_header_details_eight_bit_language_and_message_id() -> None:
    raw = (
        b"From: J\xc3\xbcrgen <J@X.de>\r\nSubject: \xc3\xa9t\xc3\xa9 und caf\xe9\r\nTo: undisclosed-recipients:;\r\n"
        b'Reply-To: "=?utf-8?q?M=C3=BCller=2C_Hans?=" <hans@x.de>, b@y.de\r\nContent-Language: de-DE, en\r\n'
        b"Message-ID:\r\n  <folded.id@x.de>  \r\nDate: Tue, 14 May 2024 09:30:00\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_ == Address("Jürgen", "j@x.de")
    assert parsed.subject == "été und caf\ufffd"
    assert parsed.to == ()
    assert parsed.reply_to == (Address("Müller, Hans", "hans@x.de"), Address("", "b@y.de"))
    assert parsed.language == "de-DE"
    assert parsed.internet_message_id == "<folded.id@x.de>"
    assert parsed.date is not None and parsed.date.tzinfo is not None
    assert parsed.header("subject") == parsed.subject


def test_authentication_results_with_comments_versions_and_several_signatures() -> None:
    raw = (
        b"Authentication-Results: mx.google.com 1;\r\n"
        b"       dkim=fail (bad signature) header.i=@x.example header.s=s1;\r\n"
        b"       dkim=pass header.i=@x.example header.s=s2;\r\n"
        b"       spf=softfail (google.com: domain of x@x.example is not designated; spf=pass) smtp.mailfrom=x@x.example"
        b" smtp.auth=user;\r\n"
        b"       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=x.example\r\n"
        b"Authentication-Results: spf=pass (sender IP is 203.0.113.9) smtp.mailfrom=x.example; dkim=none (message not "
        b"signed) header.d=none;dmarc=bestguesspass action=none header.from=x.example;compauth=pass reason=109\r\n"
        b"Authentication-Results: mx.example.org; none\r\n\r\n"
    )
    first, second, third = parse_message(raw).auth_results
    assert first == AuthResultsHeader("mx.google.com", {"dkim": "pass", "spf": "softfail", "dmarc": "pass"})
    assert second == AuthResultsHeader(
        "", {"spf": "pass", "dkim": "none", "dmarc": "bestguesspass", "compauth": "pass"}
    )
    assert third == AuthResultsHeader("mx.example.org", {})


def test_attachments_are_sniffed_from_their_bytes() -> None:
    parsed = parse_message(business_message())
    by_name = {a.file_name: a for a in parsed.attachments}
    assert by_name["invoice.pdf"].file_type == "pdf" and by_name["invoice.pdf"].extension == "pdf"
    disguised = by_name["scan.pdf"]
    assert disguised.file_type == "exe"
    assert disguised.declared_type == "application/pdf"
    assert disguised.sha256 == hashlib.sha256(disguised.content).hexdigest()
    assert disguised.size == 64


def test_nested_messages_and_office_files() -> None:
    inner = EmailMessage()
    inner["Subject"] = "forwarded"
    inner.set_content("inner body https://inner.example/x")
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w/>")
        archive.writestr("word/vbaProject.bin", b"\x00")
    inner.add_attachment(buffer.getvalue(), maintype="application", subtype="octet-stream", filename="report.doc")
    inner.add_attachment(EICAR, maintype="application", subtype="octet-stream", filename="eicar.com")
    outer = EmailMessage()
    outer["Subject"] = "fwd"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    parsed = parse_message(outer.as_bytes())
    files = {a.file_name: a for a in parsed.attachments}
    assert files["report.doc"].file_type == "docm"
    assert files["report.doc"].nested_in == "forwarded"
    assert files["eicar.com"].content == EICAR
    assert [u.url for u in parsed.urls] == ["https://inner.example/x"]
    assert parsed.urls[0].location == "Attachment"
    assert parsed.text_body.strip() == "see attached"


def _zip(names: list[str]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return buffer.getvalue()


def _pe(characteristics: int) -> bytes:
    header = bytearray(b"MZ" + b"\x00" * 0x3A + (0x40).to_bytes(4, "little"))
    header += b"PE\x00\x00" + b"\x00" * 18 + characteristics.to_bytes(2, "little") + b"\x00" * 16
    return bytes(header)


@pytest.mark.parametrize(
    ("name", "content", "file_type", "sniffed"),
    [
        ("a.dll", _pe(0x2102), "dll", "application/x-msdownload"),
        ("a.txt", _pe(0x0102), "exe", "application/x-msdownload"),
        ("doc.bin", OLE + b"\x00" * 100 + "WordDocument".encode("utf-16-le"), "doc", "application/msword"),
        ("sheet.xls", OLE + b"\x00" * 100 + "Workbook".encode("utf-16-le"), "xls", "application/vnd.ms-excel"),
        ("x.xls", OLE + b"\x00" * 100, "xls", "application/x-ole-storage"),
        ("x.bin", OLE + b"\x00" * 100, "ole", "application/x-ole-storage"),
        ("b.zip", _zip(["[Content_Types].xml", "xl/workbook.xml"]), "xlsx", ""),
        ("b.zip", _zip(["[Content_Types].xml", "ppt/p.xml", "ppt/vbaProject.bin"]), "pptm", ""),
        ("app.zip", _zip(["META-INF/MANIFEST.MF", "a.class"]), "jar", "application/java-archive"),
        ("plain.zip", _zip(["a.txt"]), "zip", "application/zip"),
        ("short.lnk", b"L\x00\x00\x00\x01\x14\x02\x00" + b"\x00" * 70, "lnk", "application/x-ms-shortcut"),
        ("disk.img", b"\x00" * 0x8001 + b"CD001" + b"\x00" * 100, "iso", "application/x-iso9660-image"),
        ("page.dat", b"\xef\xbb\xbf  <!DOCTYPE html><html>", "html", "text/html"),
        ("r.7z", b"7z\xbc\xaf\x27\x1c\x00\x04", "7z", "application/x-7z-compressed"),
        ("r.rar", b"Rar!\x1a\x07\x01\x00", "rar", "application/vnd.rar"),
        ("g.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gz", "application/gzip"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "png", "image/png"),
        ("run.ps1", b"Write-Host hi", "ps1", ""),
        ("evil.js. ", b"var a = 1;", "js", ""),
        ("noext", b"plain", "", ""),
    ],
)
def test_file_types_from_bytes_then_name(name: str, content: bytes, file_type: str, sniffed: str) -> None:
    kind = describe_file(name, content)
    assert kind.short == file_type
    if sniffed:
        assert kind.mime == sniffed
    elif file_type in ("xlsx", "pptm"):
        assert kind.mime.startswith("application/vnd.")
    else:
        assert kind.mime == ""


def test_first_inline_text_is_the_body_and_text_attachments_are_scanned() -> None:
    raw = (
        b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
        b"--p\r\nContent-Type: text/plain\r\n\r\nfirst https://first.example/\r\n"
        b"--p\r\nContent-Type: text/plain\r\n\r\nsecond https://second.example/\r\n"
        b"--p\r\nContent-Type: text/calendar\r\n\r\nURL:https://cal.example/e\r\n"
        b"--p\r\nContent-Type: text/html; name=page.html\r\nContent-Disposition: attachment\r\n\r\n"
        b"<a href='https://att.example/'>go</a>\r\n--p--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text_body.strip() == "first https://first.example/"
    assert parsed.html_body == ""
    assert [(u.url, u.location, u.anchor_text) for u in parsed.urls] == [
        ("https://first.example/", "Body", ""),
        ("https://second.example/", "Body", ""),
        ("https://cal.example/e", "Body", ""),
        ("https://att.example/", "Attachment", "go"),
    ]
    [page] = parsed.attachments
    assert (page.file_name, page.file_type, page.declared_type) == ("page.html", "html", "text/html")
