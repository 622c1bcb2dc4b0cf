"""Attachment checks: the EICAR test file, executables, macros, encrypted archives.

Verdicts, and why:
- Malware (policy Antimalware, technology "Antimalware protection"): the EICAR test string anywhere
  in an attachment, an archive member or the body; executable content (MZ, ELF, Mach-O magic bytes);
  a file name whose extension is on the common-attachments block list (Defender's default list blocks
  exe, scr, js, docm, iso ... by name alone). Threat names: "EICAR-Test-File",
  "Ramparts.FileTypeBlock.<Ext>", "Ramparts.DisguisedExecutable" (a .pdf, .doc ... that is an executable).
- Spam (policy Antispam, SCL 6): macros inside an Office document, and encrypted archives. Both are
  common malware carriers with legitimate uses, and both escape content scanning; Defender's
  "Block unscanned encrypted attachments" is off by default. Spam sends them to Junk (or quarantine
  under Strict) rather than blocking them outright.

Archives are opened one level deep: member names, executable content, EICAR and the encryption flag.

Macro heuristic: an OOXML file (a ZIP) with a member named vbaProject.bin; an OLE2 compound file
(Word 97 .doc, Excel .xls) in which the UTF-16LE name of the "Macros" or "_VBA_PROJECT" storage
appears anywhere in the bytes. Directory entries store names in UTF-16LE, so a byte search finds
them without parsing the FAT; a document that merely quotes that text in UTF-16 would also match.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from ramparts.detection.builtin.findings import Finding, Technology
from ramparts.detection.builtin.settings import BuiltinSettings
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict, most_serious
from ramparts.mailflow.message import ParsedAttachment, ParsedMessage

# Built from two halves so that this source file is not itself a test virus.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_TEXT = EICAR.decode()

BLOCKED_EXTENSIONS = frozenset(
    [
        "exe",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "hta",
        "ps1",
        "lnk",
        "iso",
        "img",
        "msi",
        "jar",
        "dll",
        "cpl",
        "reg",
        "scf",
        "msc",
        "xll",
        "docm",
    ]
)
DOCUMENT_EXTENSIONS = frozenset(
    ["pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "csv", "jpg", "jpeg", "png", "gif", "zip"]
)
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_MACRO_NAMES = ("Macros".encode("utf-16-le"), "_VBA_PROJECT".encode("utf-16-le"))


@dataclass(slots=True)
class AttachmentReport:
    findings: list[Finding] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    """sha256 -> verdict, for every attachment looked at (Clean included)."""


def extension_of(name: str) -> str:
    base = name.replace("\\", "/").rpartition("/")[2]
    return base.rpartition(".")[2].lower().strip() if "." in base else ""


def is_executable(content: bytes) -> bool:
    return content.startswith(_EXECUTABLE_MAGIC)


def _malware(reason: str, threat: str) -> Finding:
    return Finding(
        Verdict.MALWARE,
        Technology.ANTIMALWARE,
        EmailActionPolicy.ANTIMALWARE,
        reason,
        threat_name=threat,
        confidence=1.0,
    )


def _risky(reason: str, threat: str) -> Finding:
    return Finding(
        Verdict.SPAM,
        Technology.GENERAL_FILTER,
        EmailActionPolicy.ANTISPAM,
        reason,
        threat_name=threat,
        confidence=0.6,
        scl=6,
    )


def _check_content(label: str, name: str, content: bytes, out: list[Finding]) -> None:
    """Checks that apply to a file and to an archive member alike."""
    ext = extension_of(name)
    if EICAR in content:
        out.append(_malware(f"{label} contains the EICAR anti-malware test string.", "EICAR-Test-File"))
    if is_executable(content):
        if ext in DOCUMENT_EXTENSIONS:
            out.append(_malware(f"{label} is an executable disguised as .{ext}.", "Ramparts.DisguisedExecutable"))
        else:
            out.append(
                _malware(f"{label} is an executable program.", f"Ramparts.FileTypeBlock.{(ext or 'exe').title()}")
            )
    elif ext in BLOCKED_EXTENSIONS:
        out.append(_malware(f"{label} has the blocked file type .{ext}.", f"Ramparts.FileTypeBlock.{ext.title()}"))
    if content.startswith(_OLE2_MAGIC) and any(marker in content for marker in _OLE2_MACRO_NAMES):
        out.append(_risky(f"{label} is an Office document with macros.", "Ramparts.MacroDocument"))


def _check_archive(label: str, content: bytes, settings: BuiltinSettings, out: list[Finding]) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        out.append(_risky(f"{label} is a damaged archive ({exc}).", "Ramparts.DamagedArchive"))
        return
    with archive:
        members = archive.infolist()
        names = [m.filename for m in members]
        if any(n.rpartition("/")[2].lower() == "vbaproject.bin" for n in names):
            out.append(_risky(f"{label} is an Office document with macros (vbaProject.bin).", "Ramparts.MacroDocument"))
        encrypted = [m.filename for m in members if m.flag_bits & 0x1]
        if encrypted:
            out.append(
                _risky(
                    f"{label} is an encrypted archive ({', '.join(encrypted[:3])}) whose contents cannot be scanned.",
                    "Ramparts.EncryptedArchive",
                )
            )
        for member in members[: settings.max_archive_members]:
            if member.is_dir() or member.flag_bits & 0x1:
                continue
            inner = f"{member.filename} inside {label}"
            if member.file_size > settings.max_scan_bytes:
                _check_content(inner, member.filename, b"", out)
                continue
            try:
                with archive.open(member) as handle:
                    data = handle.read(settings.max_scan_bytes)
            except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError) as exc:
                out.append(_risky(f"{inner} could not be read ({exc}).", "Ramparts.DamagedArchive"))
                continue
            _check_content(inner, member.filename, data, out)


def check_attachment(attachment: ParsedAttachment, settings: BuiltinSettings) -> list[Finding]:
    label = f"The attachment {attachment.file_name or '(unnamed)'}"
    content = attachment.content
    if len(content) > settings.max_scan_bytes:
        content = content[: settings.max_scan_bytes]
    found: list[Finding] = []
    _check_content(label, attachment.file_name, content, found)
    if content.startswith(_ZIP_MAGIC):
        _check_archive(label, content, settings, found)
    return found


def check_attachments(message: ParsedMessage, settings: BuiltinSettings) -> AttachmentReport:
    report = AttachmentReport()
    for attachment in message.attachments:
        found = check_attachment(attachment, settings)
        report.findings.extend(found)
        previous = report.verdicts.get(attachment.sha256, Verdict.CLEAN)
        report.verdicts[attachment.sha256] = most_serious([previous, *(f.verdict for f in found)])
    if EICAR_TEXT in message.text_body or EICAR_TEXT in message.html_body:
        report.findings.append(
            _malware("The message body contains the EICAR anti-malware test string.", "EICAR-Test-File")
        )
    return report
