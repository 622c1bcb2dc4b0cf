from __future__ import annotations

import hashlib
import io
import struct
import zipfile

from ramparts.detection.builtin.attachments import check_attachment, check_attachments, extension_of
from ramparts.detection.builtin.findings import Technology
from ramparts.detection.builtin.settings import BuiltinSettings
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import ParsedAttachment
from tests.detection.builtin.support import mail, parse

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x40\x00\x00\x00" + b"PE\x00\x00"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n"
SETTINGS = BuiltinSettings()


def attachment(name: str, content: bytes) -> ParsedAttachment:
    ext = extension_of(name)
    return ParsedAttachment(
        name, "application/octet-stream", "", ext, ext, hashlib.sha256(content).hexdigest(), len(content), content
    )


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def encrypted(data: bytes) -> bytes:
    """Set general-purpose bit 0 (encrypted) in every local header and central directory entry."""
    patched = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = patched.find(signature)
        while start != -1:
            (flags,) = struct.unpack_from("<H", patched, start + flag_offset)
            struct.pack_into("<H", patched, start + flag_offset, flags | 0x1)
            start = patched.find(signature, start + 4)
    return bytes(patched)


def summary(name: str, content: bytes) -> list[tuple[Verdict, str]]:
    return [(f.verdict, f.threat_name) for f in check_attachment(attachment(name, content), SETTINGS)]


def test_eicar_file_is_malware_named_as_defender_names_it() -> None:
    [finding] = check_attachment(attachment("readme.txt", b"hello\n" + EICAR + b"\n"), SETTINGS)
    assert finding.verdict is Verdict.MALWARE
    assert finding.threat_name == "EICAR-Test-File"
    assert finding.technology == Technology.ANTIMALWARE == "Antimalware protection"
    assert finding.policy_family is EmailActionPolicy.ANTIMALWARE


def test_executables_by_bytes_by_name_and_disguised() -> None:
    assert summary("setup.exe", PE) == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Exe")]
    assert summary("tool.bin", PE) == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Bin")]
    assert summary("run.js", b"WScript.Echo('hi')") == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Js")]
    assert summary("disk.iso", b"\x00" * 64) == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Iso")]
    assert summary("invoice.pdf", PE) == [(Verdict.MALWARE, "Ramparts.DisguisedExecutable")]
    assert summary("delivery-form.pdf.exe", PE) == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Exe")]
    assert summary("report.pdf", PDF) == []


def test_macro_documents() -> None:
    ooxml = zipped(
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w:document/>"),
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro"),
    )
    assert summary("report.docx", ooxml) == [(Verdict.SPAM, "Ramparts.MacroDocument")]
    # .docm is on the common-attachments block list by name, as in Defender's default list
    assert summary("report.docm", ooxml) == [
        (Verdict.MALWARE, "Ramparts.FileTypeBlock.Docm"),
        (Verdict.SPAM, "Ramparts.MacroDocument"),
    ]
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + "Macros".encode("utf-16-le") + b"\x00" * 50
    [finding] = check_attachment(attachment("legacy.doc", ole2), SETTINGS)
    assert (finding.verdict, finding.threat_name, finding.scl) == (Verdict.SPAM, "Ramparts.MacroDocument", 6)
    plain_ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + "WordDocument".encode("utf-16-le")
    assert summary("letter.doc", plain_ole2) == []


def test_archives_one_level_deep() -> None:
    assert summary("invoice.zip", zipped(("invoice.exe", PE))) == [(Verdict.MALWARE, "Ramparts.FileTypeBlock.Exe")]
    assert summary("invoice.zip", zipped(("invoice.txt", EICAR))) == [(Verdict.MALWARE, "EICAR-Test-File")]
    assert summary("scripts.zip", zipped(("a/b/run.vbs", b"MsgBox 1"))) == [
        (Verdict.MALWARE, "Ramparts.FileTypeBlock.Vbs")
    ]
    assert summary("photos.zip", zipped(("a.jpg", b"\xff\xd8\xff\xe0jpeg"), ("notes.txt", b"hi"))) == []
    # one level only: an exe inside a zip inside a zip is not opened
    assert summary("nested.zip", zipped(("inner.zip", zipped(("evil.exe", PE))))) == []


def test_encrypted_archive_is_spam_not_malware() -> None:
    archive = encrypted(zipped(("statement.pdf", PDF), ("notes.txt", b"secret")))
    assert zipfile.ZipFile(io.BytesIO(archive)).infolist()[0].flag_bits & 0x1
    [finding] = check_attachment(attachment("statement.zip", archive), SETTINGS)
    assert (finding.verdict, finding.threat_name, finding.scl) == (Verdict.SPAM, "Ramparts.EncryptedArchive", 6)
    assert finding.policy_family is EmailActionPolicy.ANTISPAM
    assert "statement.pdf, notes.txt" in finding.reason


def test_damaged_archive_is_reported() -> None:
    assert summary("broken.zip", b"PK\x03\x04" + b"\x00" * 40) == [(Verdict.SPAM, "Ramparts.DamagedArchive")]


def test_message_report_has_per_attachment_verdicts_and_scans_the_body() -> None:
    message = parse(
        mail(
            "a@partner.example",
            body="test string follows " + EICAR.decode(),
            attachments=[("report.pdf", PDF), ("setup.exe", PE)],
        ).as_bytes()
    )
    report = check_attachments(message, SETTINGS)
    assert report.verdicts == {
        hashlib.sha256(PDF).hexdigest(): Verdict.CLEAN,
        hashlib.sha256(PE).hexdigest(): Verdict.MALWARE,
    }
    assert [f.threat_name for f in report.findings] == ["Ramparts.FileTypeBlock.Exe", "EICAR-Test-File"]
    assert report.findings[1].reason == "The message body contains the EICAR anti-malware test string."
