"""What a file is, from its bytes first and its name second (a .pdf that starts with MZ is an executable)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import filetype


@dataclass(frozen=True, slots=True)
class FileKind:
    mime: str
    """Recognised from the bytes; "" when unknown."""
    short: str
    """EmailAttachmentInfo.FileType: the recognised kind, else the extension."""
    extension: str


_MAGIC = (
    (b"MZ", "application/x-msdownload", "exe"),
    (b"\x7fELF", "application/x-executable", "elf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", "ole"),
    (b"%PDF-", "application/pdf", "pdf"),
    (b"Rar!\x1a\x07", "application/vnd.rar", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", "7z"),
    (b"\x1f\x8b", "application/gzip", "gz"),
)
_OOXML = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
_MACRO_OOXML = {"docx": "docm", "xlsx": "xlsm", "pptx": "pptm"}


def _zip_kind(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()[:500]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return "zip"
    if "[Content_Types].xml" in names:
        for prefix, kind in _OOXML.items():
            if any(n.startswith(prefix) for n in names):
                return _MACRO_OOXML[kind] if any(n.endswith("vbaProject.bin") for n in names) else kind
    return "zip"


def describe_file(name: str, content: bytes) -> FileKind:
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    for magic, mime, short in _MAGIC:
        if content.startswith(magic):
            if short == "ole" and extension in ("doc", "xls", "ppt", "msg", "msi"):
                return FileKind(mime, extension, extension)
            return FileKind(mime, short, extension)
    if content.startswith(b"PK\x03\x04"):
        kind = _zip_kind(content)
        return FileKind("application/zip" if kind == "zip" else "application/vnd.openxmlformats", kind, extension)
    guess = filetype.guess(content[:8192]) if content else None
    if guess is not None:
        return FileKind(str(guess.mime), str(guess.extension), extension)
    return FileKind("", extension, extension)
