"""Finding the sources under an ingest path, with their stable ids and source types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import NotFoundError
from index.records import SourceType
from ingest.reading import FORMATS

_TYPE_FOLDERS: dict[str, SourceType] = {
    "runbook": "runbook",
    "runbooks": "runbook",
    "playbooks": "runbook",
    "incident": "incident",
    "incidents": "incident",
    "postmortem": "incident",
    "postmortems": "incident",
}


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: its id is its path relative to the ingest root, in POSIX form."""

    path: Path
    source_id: str
    source_type: SourceType


@dataclass(frozen=True)
class Discovery:
    """What an ingest path holds: the root that scopes deletion sync, the files, and files passed over."""

    root: Path
    files: list[SourceFile]
    skipped: list[tuple[str, str]]


def guess_type(relative: Path) -> SourceType:
    """Source type from the folders a file sits in (runbooks/, incidents/ ...), else ``doc``."""
    for part in reversed(relative.parts[:-1]):
        found = _TYPE_FOLDERS.get(part.lower())
        if found:
            return found
    return "doc"


def discover(path: Path, source_type: SourceType | None = None) -> Discovery:
    """The files under ``path`` (or the single file), hidden files and folders left out."""
    if not path.exists():
        raise NotFoundError(f"path not found: {path}")
    path = path.resolve()
    if path.is_file():
        return Discovery(path, [SourceFile(path, path.name, source_type or guess_type(Path(path.name)))], [])
    files: list[SourceFile] = []
    skipped: list[tuple[str, str]] = []
    for candidate in sorted(path.rglob("*")):
        relative = candidate.relative_to(path)
        if any(part.startswith(".") for part in relative.parts) or not candidate.is_file():
            continue
        if path not in candidate.resolve().parents:
            # a link out of the ingest folder would ingest whatever file it points at
            skipped.append((relative.as_posix(), "symbolic link to a file outside the ingest folder"))
            continue
        kind = source_type or guess_type(relative)
        fmt = FORMATS.get(candidate.suffix.lower())
        if fmt is None or (fmt == "records" and kind != "incident"):
            skipped.append((relative.as_posix(), f"unsupported file type {candidate.suffix or '(none)'}"))
            continue
        files.append(SourceFile(candidate, relative.as_posix(), kind))
    return Discovery(path, files, skipped)
