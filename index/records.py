"""What flows in and out of the index: chunks to store, hits found, and the filters a search may use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SourceType = Literal["doc", "runbook", "incident", "cluster"]
SOURCE_TYPES: tuple[SourceType, ...] = ("doc", "runbook", "incident", "cluster")
SearchMode = Literal["hybrid", "dense", "bm25"]

_POINT_NAMESPACE = uuid.UUID("5d1c6a52-3e1b-4c55-9f0e-2b8f3a7c9e11")


def point_id(org: str, source_id: str, position: int) -> str:
    """Deterministic point id: re-ingesting a chunk upserts it, and no two organizations can share an id."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{org}\x00{source_id}\x00{position}"))


def embed_text(title: str, section: str, text: str) -> str:
    """What is embedded of a chunk: its title and section above its text (a passage rarely says what it is about)."""
    heading = f"{title} > {section}" if section else title
    return f"{heading}\n{text}"


@dataclass(frozen=True)
class Chunk:
    """One unit that is embedded, stored, retrieved and cited."""

    source_id: str
    position: int
    text: str
    embed_text: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SparseVector:
    """BM25 term weights."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class StoredPoint:
    """A chunk as a backend stores it."""

    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(frozen=True)
class FoundPoint:
    """A point a backend returned, with its score (fused, or of the single vector searched)."""

    id: str
    score: float
    payload: dict[str, Any]
    dense: list[float] | None = None

    @classmethod
    def of(cls, pid: Any, score: float, payload: dict[str, Any] | None, vector: Any) -> FoundPoint:
        """From a backend's native point (id, score, payload, named vectors)."""
        dense = vector.get("dense") if isinstance(vector, dict) else None
        return cls(str(pid), float(score), dict(payload or {}), list(dense) if dense is not None else None)


@dataclass(frozen=True)
class SearchHit:
    """A retrieved chunk, as search and answering see it."""

    id: str
    score: float
    similarity: float
    payload: dict[str, Any]

    @property
    def source_id(self) -> str:
        """Stable id of the source document."""
        return str(self.payload.get("source_id", ""))

    def to_json(self) -> dict[str, Any]:
        """The hit as `aiops search --json` prints it."""
        p = self.payload
        return {
            "source_id": p.get("source_id"),
            "source_type": p.get("source_type"),
            "uri": p.get("uri"),
            "title": p.get("title"),
            "section": p.get("section"),
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
            "line_start": p.get("line_start"),
            "line_end": p.get("line_end"),
            "page": p.get("page"),
            "text": p.get("text"),
        }


@dataclass(frozen=True)
class Visibility:
    """Which cluster objects (source type ``cluster``) a caller may see: those of ``namespaces`` (None: every
    namespace) and, with ``nodes``, the cluster-scoped ones. Other source types are not affected."""

    namespaces: tuple[str, ...] | None = None
    nodes: bool = True

    @property
    def everything(self) -> bool:
        """True when nothing is hidden."""
        return self.namespaces is None and self.nodes


class SearchFilters(BaseModel):
    """Optional narrowing of a search; the organization is never one of these (the index adds it itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_types: list[SourceType] = Field(default_factory=list)
    source_ids: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
