"""What a file is, from its bytes first and its name second (a .pdf that starts with MZ is an executable)."""

from __future__ import annotations

import io
import struct
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
    (b"\x7fELF", "application/x-executable", "elf"),
    (b"%PDF-", "application/pdf", "pdf"),
    (b"Rar!\x1a\x07", "application/vnd.rar", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", "7z"),
    (b"\x1f\x8b", "application/gzip", "gz"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "application/x-ms-shortcut", "lnk"),
    (b"MSCF", "application/vnd.ms-cab-compressed", "cab"),
    (b"{\\rtf", "application/rtf", "rtf"),
    (b"\xca\xfe\xba\xbe", "application/java-vm", "class"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_STREAMS = (
    ("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00".encode("latin-1"), "doc", "application/msword"),
    ("W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00".encode("latin-1"), "xls", "application/vnd.ms-excel"),
    (
        "P\x00o\x00w\x00e\x00r\x00P\x00o\x00i\x00n\x00t\x00 \x00D\x00o\x00c\x00".encode("latin-1"),
        "ppt",
        "application/vnd.ms-powerpoint",
    ),
    ("_\x00_\x00s\x00u\x00b\x00s\x00t\x00g\x001\x00".encode("latin-1"), "msg", "application/vnd.ms-outlook"),
)
_OLE_BY_EXTENSION = ("doc", "xls", "ppt", "msg", "msi", "dot", "xlt", "pps")
_ISO_OFFSET = 0x8001
_OOXML = {
    "word/": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xl/": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ppt/": ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
}
_MACRO_OOXML = {
    "docx": ("docm", "application/vnd.ms-word.document.macroEnabled.12"),
    "xlsx": ("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    "pptx": ("pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12"),
}
_ZIP_NAMES_READ = 2000
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta", b"<svg")


def _pe_kind(content: bytes) -> tuple[str, str]:
    """exe, or dll when the PE header's characteristics say so."""
    try:
        (offset,) = struct.unpack_from("<I", content, 0x3C)
        if content[offset : offset + 4] == b"PE\x00\x00":
            (characteristics,) = struct.unpack_from("<H", content, offset + 22)
            if characteristics & 0x2000:
                return "application/x-msdownload", "dll"
    except struct.error:
        pass
    return "application/x-msdownload", "exe"


def _ole_kind(content: bytes, extension: str) -> tuple[str, str]:
    for marker, short, mime in _OLE_STREAMS:
        if marker in content:
            return mime, short
    if extension in _OLE_BY_EXTENSION:
        return "application/x-ole-storage", extension
    return "application/x-ole-storage", "ole"


def _zip_kind(content: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()[:_ZIP_NAMES_READ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError, IndexError):
        return "application/zip", "zip"
    if "[Content_Types].xml" in names:
        macros = any(n.endswith("vbaProject.bin") for n in names)
        for prefix, (short, mime) in _OOXML.items():
            if any(n.startswith(prefix) for n in names):
                return (_MACRO_OOXML[short][1], _MACRO_OOXML[short][0]) if macros else (mime, short)
    if "META-INF/MANIFEST.MF" in names:
        return "application/java-archive", "jar"
    if names[:1] == ["mimetype"] and any(n == "content.xml" for n in names):
        return "application/vnd.oasis.opendocument", "odf"
    return "application/zip", "zip"


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def _extension(name: str) -> str:
    # Windows ignores trailing dots and spaces: "invoice.exe. " runs as an .exe.
    base = name.rstrip(" .\t")
    return base.rpartition(".")[2].lower() if "." in base else ""


def describe_file(name: str, content: bytes) -> FileKind:
    extension = _extension(name)
    if content.startswith(b"MZ"):
        mime, short = _pe_kind(content)
        return FileKind(mime, short, extension)
    if content.startswith(_OLE):
        mime, short = _ole_kind(content, extension)
        return FileKind(mime, short, extension)
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        mime, short = _zip_kind(content)
        return FileKind(mime, short, extension)
    for magic, mime, short in _MAGIC:
        if content.startswith(magic):
            return FileKind(mime, short, extension)
    if content[_ISO_OFFSET : _ISO_OFFSET + 5] in (b"CD001", b"BEA01"):
        return FileKind("application/x-iso9660-image", "iso", extension)
    guess = filetype.guess(content[:8192]) if content else None
    if guess is not None:
        return FileKind(str(guess.mime), str(guess.extension), extension)
    if _looks_like_html(content):
        return FileKind("text/html", "html", extension)
    return FileKind("", extension, extension)
