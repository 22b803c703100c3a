"""The outcome of an ingest run, as people and scripts read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FileProblem:
    """A file that was passed over or failed, and why."""

    source_id: str
    reason: str


@dataclass
class IngestSummary:
    """Counts per outcome, chunk counts, timings and per-file reasons."""

    org: str
    root: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[FileProblem] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """The summary as `aiops ingest --json` prints it."""
        data = asdict(self)
        data["failed_count"] = len(self.failed)
        data["skipped_count"] = len(self.skipped)
        data["seconds"] = round(self.seconds, 3)
        data["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        data["chunks_per_second"] = round(self.embedded / self.seconds, 2) if self.seconds else None
        return data
