"""The backend protocol: a vector store that only ever reads, writes or deletes within a ``Scope``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from index.records import FoundPoint, SearchMode, SparseVector, StoredPoint
from index.tenancy import Scope

DENSE = "dense"
SPARSE = "bm25"

# Payload fields with an index, and their kind (keyword, integer or datetime); org_id is the tenant field.
PAYLOAD_INDEXES: dict[str, str] = {
    "org_id": "tenant",
    "source_type": "keyword",
    "source_id": "keyword",
    "sync_root": "keyword",
    "alerts": "keyword",
    "services": "keyword",
    "severity": "keyword",
    "namespace": "keyword",
    "cluster": "keyword",
    "position": "integer",
    "date": "datetime",
}


class VectorStore(Protocol):
    """A hybrid (dense + BM25) point store; ``scope`` carries the organization of every operation."""

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points (the index has stamped each payload with its organization)."""
        ...

    def delete(self, scope: Scope) -> None:
        """Delete every point in the scope."""
        ...

    def query(
        self,
        scope: Scope,
        dense: list[float],
        sparse: SparseVector,
        *,
        limit: int,
        prefetch_limit: int,
        mode: SearchMode,
        rrf_k: int,
    ) -> list[FoundPoint]:
        """Best points in the scope, with their dense vector; hybrid fuses both searches by reciprocal rank."""
        ...

    def scroll(
        self, scope: Scope, fields: Sequence[str] | None = None, with_dense: bool = False
    ) -> Iterator[FoundPoint]:
        """Every point in the scope (score 0), with the chosen payload fields (all when None)."""
        ...

    def count(self, scope: Scope) -> int:
        """Number of points in the scope."""
        ...

    def optimize(self) -> None:
        """Build indexes after a bulk write, where the backend needs it."""
        ...

    def close(self) -> None:
        """Flush and release the store."""
        ...


def paginate(fetch: Callable[[Any], tuple[Sequence[Any], Any]]) -> Iterator[Any]:
    """Every record of a paged scroll: ``fetch(offset)`` returns a page and the next offset (None at the end)."""
    offset: Any = None
    while True:
        records, offset = fetch(offset)
        yield from records
        if offset is None:
            return
