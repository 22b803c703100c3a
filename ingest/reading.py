"""Reading one source file safely: size, emptiness, binary content and encoding are checked before parsing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

TEXT_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "records",
    ".yaml": "records",
    ".yml": "records",
}
BINARY_FORMATS = {".pdf": "pdf"}
FORMATS = {**TEXT_FORMATS, **BINARY_FORMATS}


class UnreadableSource(Exception):
    """A file that cannot be ingested; the message is the per-file reason shown in the run's summary."""


@dataclass(frozen=True)
class SourceBytes:
    """A file's content, checked, with its hash."""

    path: Path
    format: str
    data: bytes
    sha256: str

    def text(self) -> str:
        """The content as text (text formats only)."""
        return decode_text(self.data)


def read_source(path: Path, max_bytes: int) -> SourceBytes:
    """The checked content of a file, or UnreadableSource with the reason."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableSource(f"unsupported file type {path.suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableSource(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableSource("empty file")
    if fmt == "pdf":
        if not data.startswith(b"%PDF-"):
            raise UnreadableSource("not a PDF file (no %PDF- header)")
    else:
        decode_text(data)
    return SourceBytes(path, fmt, data, hashlib.sha256(data).hexdigest())


def decode_text(data: bytes) -> str:
    """UTF-8 (or BOM-marked UTF-16) text, or UnreadableSource for binary and undecodable content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableSource(f"not valid UTF-16 text at byte {exc.start}") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableSource("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableSource(f"not valid UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc
    if not text.strip():
        raise UnreadableSource("empty file")
    return text
