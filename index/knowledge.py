"""The knowledge index: the one interface to the tenant-partitioned hybrid index, whatever the backend."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from core.errors import AssistantError, IndexUnavailableError
from index.embedding import Embedder, Vectors
from index.generations import Generations
from index.records import Chunk, FoundPoint, SearchFilters, SearchHit, SearchMode, StoredPoint, Visibility, point_id
from index.sparse import Bm25Encoder
from index.store import VectorStore
from index.tenancy import ORG_FIELD, scope

log = logging.getLogger(__name__)

_WRITE_BATCH = 256
_QUERY_CACHE_SIZE = 1024
_STATE_FIELDS = ["source_id", "source_type", "title", "uri", "doc_hash", "sync_root", "chunk_count", "ingested_at"]


@dataclass(frozen=True)
class SourceState:
    """What the index holds of one source document."""

    source_id: str
    source_type: str
    title: str
    uri: str
    doc_hash: str
    sync_root: str
    chunk_count: int
    ingested_at: str


class KnowledgeIndex:
    """Every read, write and delete takes the organization; the index builds the tenant filter itself."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        *,
        rrf_k: int = 60,
        prefetch_factor: int = 4,
        sparse: Bm25Encoder | None = None,
        generations: Generations | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse or Bm25Encoder()
        self.generations = generations or Generations()
        self._rrf_k = rrf_k
        self._prefetch_factor = prefetch_factor
        self._query_vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._query_lock = threading.Lock()

    # -- writes -------------------------------------------------------------------------------------------------

    def write(self, org: str, chunks: Sequence[Chunk], dense: Vectors | None = None) -> int:
        """Upsert chunks of ``org`` (embedding them unless vectors are given); returns how many were written."""
        owner = scope(org).org
        if not chunks:
            return 0
        vectors = dense if dense is not None else self.embedder.encode([c.embed_text for c in chunks])
        if len(vectors) != len(chunks):
            raise ValueError("one dense vector per chunk is required")
        for start in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[start : start + _WRITE_BATCH]
            rows = np.asarray(vectors[start : start + _WRITE_BATCH], dtype=np.float32).tolist()
            points = [
                StoredPoint(
                    id=point_id(owner, c.source_id, c.position),
                    dense=rows[i],
                    sparse=self.sparse.encode_document(c.embed_text),
                    payload={
                        **c.payload,
                        "source_id": c.source_id,
                        "position": c.position,
                        "text": c.text,
                        ORG_FIELD: owner,
                    },
                )
                for i, c in enumerate(batch)
            ]
            with _guard("write"):
                self.store.upsert(points)
        self.generations.bump(owner)
        return len(chunks)

    def delete_sources(self, org: str, source_ids: Sequence[str]) -> None:
        """Delete every chunk of these sources of ``org``."""
        if source_ids:
            with _guard("delete"):
                self.store.delete(scope(org, source_ids=list(source_ids)))
            self.generations.bump(org)

    def delete_positions(self, org: str, source_id: str, positions: Sequence[int]) -> None:
        """Delete some chunks of a source by position (the tail of a source that shrank)."""
        if positions:
            with _guard("delete"):
                self.store.delete(scope(org, source_ids=[source_id], positions=list(positions)))
            self.generations.bump(org)

    def generation(self, org: str) -> int:
        """Moves on with every write or delete of ``org``: what was derived from an older generation is stale."""
        return self.generations.current(scope(org).org)

    # -- reads --------------------------------------------------------------------------------------------------

    def search(
        self,
        org: str,
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        mode: SearchMode = "hybrid",
        visible: Visibility | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best chunks of ``org`` for the query (cluster sources only where ``visible`` allows)."""
        where = scope(org, filters, visible=visible)
        dense = self.query_vector(query)
        with _guard("search"):
            found = self.store.query(
                where,
                dense,
                self.sparse.encode_query(query),
                limit=k,
                prefetch_limit=self.prefetch_limit(k),
                mode=mode,
                rrf_k=self._rrf_k,
            )
        return [SearchHit(p.id, p.score, _similarity(dense, p), p.payload) for p in found]

    def prefetch_limit(self, k: int) -> int:
        """Candidates each of the hybrid search's two prefetches brings for ``k`` results."""
        return max(k * self._prefetch_factor, 20)

    def query_vector(self, query: str) -> list[float]:
        """The dense vector of a query, from a small LRU cache (repeated questions skip the model)."""
        with self._query_lock:
            cached = self._query_vectors.get(query)
            if cached is not None:
                self._query_vectors.move_to_end(query)
                return cached
        vector: list[float] = self.embedder.encode([query])[0].tolist()
        with self._query_lock:
            self._query_vectors[query] = vector
            if len(self._query_vectors) > _QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return vector

    def forget_queries(self) -> None:
        """Empty the query-vector cache (benchmarks measure the model, not the cache)."""
        with self._query_lock:
            self._query_vectors.clear()

    def sources(
        self, org: str, sync_root: str | None = None, visible: Visibility | None = None
    ) -> dict[str, SourceState]:
        """The sources of ``org`` (optionally of one synced folder), from their first chunk."""
        states: dict[str, SourceState] = {}
        where = scope(org, sync_root=sync_root, positions=[0], visible=visible)
        with _guard("read"):
            for p in self.store.scroll(where, fields=_STATE_FIELDS):
                state = SourceState(**{f: _field(p.payload, f) for f in _STATE_FIELDS})
                states[state.source_id] = state
        return states

    def chunk_vectors(self, org: str, source_id: str) -> dict[str, list[float]]:
        """Dense vectors of a source's chunks by content hash, to reuse for chunks that did not change."""
        with _guard("read"):
            return {
                str(p.payload.get("content_hash")): p.dense
                for p in self.store.scroll(scope(org, source_ids=[source_id]), fields=["content_hash"], with_dense=True)
                if p.dense is not None
            }

    def chunks(self, org: str, source_id: str, visible: Visibility | None = None) -> list[FoundPoint]:
        """A source's chunks in document order (none when ``visible`` hides it)."""
        with _guard("read"):
            found = list(self.store.scroll(scope(org, source_ids=[source_id], visible=visible)))
        return sorted(found, key=lambda p: int(p.payload.get("position", 0)))

    def count(self, org: str, filters: SearchFilters | None = None) -> int:
        """Number of chunks of ``org``."""
        with _guard("count"):
            return self.store.count(scope(org, filters))

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def optimize(self) -> None:
        """Build indexes after a bulk write."""
        with _guard("optimize"):
            self.store.optimize()

    def close(self) -> None:
        """Flush and release the backend."""
        self.store.close()
        self.generations.close()

    def __enter__(self) -> KnowledgeIndex:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


@contextmanager
def _guard(what: str) -> Iterator[None]:
    """The one seam where a backend's own failure becomes IndexUnavailableError (the cause is logged and kept as
    ``__cause__`` for /readyz, never shown to a caller)."""
    try:
        yield
    except AssistantError:
        raise
    except Exception as exc:
        log.exception("the index failed to %s", what)
        raise IndexUnavailableError(f"the index cannot {what} right now; see /readyz") from exc


def _similarity(query: Any, point: FoundPoint) -> float:
    if point.dense is None:
        return 0.0
    return float(np.dot(np.asarray(query, dtype=np.float32), np.asarray(point.dense, dtype=np.float32)))


def _field(payload: dict[str, Any], name: str) -> Any:
    value = payload.get(name)
    if name == "chunk_count":
        return int(value or 0)
    return "" if value is None else str(value)
