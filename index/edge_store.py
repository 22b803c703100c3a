"""The embedded backend: a Qdrant Edge shard on disk (Qdrant's own engine in-process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as q

from core.errors import IndexLockedError, IndexUnavailableError
from index.records import FoundPoint, SearchMode, SparseVector, StoredPoint
from index.store import DENSE, PAYLOAD_INDEXES, SPARSE, paginate
from index.tenancy import ORG_FIELD, DateRange, MatchAny, Scope, Within

log = logging.getLogger(__name__)

_SCROLL_PAGE = 1000


def _native_filter(scope: Scope) -> q.Filter:
    """The scope as an Edge filter; the organization's condition always comes first."""
    must: list[Any] = [q.FieldCondition(ORG_FIELD, match=q.MatchValue(scope.org))]
    must_not: list[Any] = []
    for c in scope.conditions:
        if isinstance(c, MatchAny):
            values = list(c.values)
            if all(isinstance(v, int) for v in values):
                must.append(q.FieldCondition(c.key, match=q.MatchAny([int(v) for v in values])))
            else:
                must.append(q.FieldCondition(c.key, match=q.MatchAny([str(v) for v in values])))
        elif isinstance(c, DateRange):
            must.append(q.FieldCondition(c.key, range=q.RangeDateTime(gte=_day(c.gte), lte=_day(c.lte, end=True))))
        elif isinstance(c, Within):
            must_not.append(_outside(c))
    return q.Filter(must=must, must_not=must_not or None)


def _outside(c: Within) -> q.Filter:
    """The points a Within condition excludes."""
    kind = q.FieldCondition(c.key, match=q.MatchValue(c.value))
    if not c.values:  # inside nothing: every point of the kind goes
        return q.Filter(must=[kind])
    among = q.FieldCondition(c.field, match=q.MatchAny(list(c.values)))
    return q.Filter(must=[kind], must_not=[among]) if c.inside else q.Filter(must=[kind, among])


def _day(value: str | None, end: bool = False) -> str | None:
    if value is None:
        return None
    return f"{value}T23:59:59Z" if end else f"{value}T00:00:00Z"


def _index_params(kind: str) -> Any:
    if kind == "tenant":
        return q.KeywordIndexParams(is_tenant=True)
    return {"keyword": q.PayloadSchemaType.Keyword, "integer": q.PayloadSchemaType.Integer}.get(
        kind, q.PayloadSchemaType.Datetime
    )


def query_request(
    scope: Scope | None,
    dense: list[float],
    sparse: SparseVector,
    *,
    limit: int,
    prefetch_limit: int,
    mode: SearchMode = "hybrid",
    rrf_k: int = 60,
) -> q.QueryRequest:
    """A search as Edge takes it: hybrid fuses a dense and a BM25 prefetch by reciprocal rank. The store always
    passes its scope; None (no filter at all) is for the benchmark that measures what the tenant filter costs."""
    flt = _native_filter(scope) if scope is not None else None
    dense_q = q.Query.Nearest(dense, using=DENSE)
    sparse_q = q.Query.Nearest(q.SparseVector(sparse.indices, sparse.values), using=SPARSE)
    if mode != "hybrid":
        query = dense_q if mode == "dense" else sparse_q
        return q.QueryRequest(limit=limit, query=query, filter=flt, with_payload=True, with_vector=[DENSE])
    fusion: Any = q.Fusion.Rrf(k=rrf_k)  # the stubs type Fusion's nested classes as Fusion itself
    return q.QueryRequest(
        limit=limit,
        prefetches=[
            q.Prefetch(limit=prefetch_limit, query=dense_q, filter=flt),
            q.Prefetch(limit=prefetch_limit, query=sparse_q, filter=flt),
        ],
        query=fusion,
        filter=flt,
        with_payload=True,
        with_vector=[DENSE],
    )


class EdgeStore:
    """One Edge shard per collection, under the data directory; one process owns it at a time."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=dimension, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        try:
            if (path / "wal").exists() or (path / "segments").exists():
                self._shard = q.EdgeShard.load(str(path), config)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = q.EdgeShard.create(str(path), config)
                for name, kind in PAYLOAD_INDEXES.items():
                    self._shard.update(q.UpdateOperation.create_field_index(name, _index_params(kind)))
        except Exception as exc:  # the Edge bindings raise a bare Exception
            if "WouldBlock" in str(exc) or "lock" in str(exc).lower():
                raise IndexLockedError(
                    f"the index at {path} is in use by another process (is `aiops serve` running?); "
                    "stop it or send the work through its API"
                ) from exc
            raise IndexUnavailableError(f"cannot open the index at {path}: {exc}") from exc

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points."""
        native = [
            q.Point(p.id, {DENSE: p.dense, SPARSE: q.SparseVector(p.sparse.indices, p.sparse.values)}, p.payload)
            for p in points
        ]
        self._shard.update(q.UpdateOperation.upsert_points(native))

    def delete(self, scope: Scope) -> None:
        """Delete every point in the scope."""
        self._shard.update(q.UpdateOperation.delete_points_by_filter(_native_filter(scope)))

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
        """Best points in the scope, with their dense vector."""
        request = query_request(
            scope, dense, sparse, limit=limit, prefetch_limit=prefetch_limit, mode=mode, rrf_k=rrf_k
        )
        return [FoundPoint.of(p.id, p.score, p.payload, p.vector) for p in self._shard.query(request)]

    def scroll(
        self, scope: Scope, fields: Sequence[str] | None = None, with_dense: bool = False
    ) -> Iterator[FoundPoint]:
        """Every point in the scope, page by page."""
        flt = _native_filter(scope)
        payload: Any = list(fields) if fields is not None else True

        def page(offset: Any) -> tuple[Sequence[Any], Any]:
            request = q.ScrollRequest(
                offset=offset,
                limit=_SCROLL_PAGE,
                filter=flt,
                with_payload=payload,
                with_vector=[DENSE] if with_dense else False,
            )
            return self._shard.scroll(request)

        for r in paginate(page):
            yield FoundPoint.of(r.id, 0.0, r.payload, r.vector)

    def count(self, scope: Scope) -> int:
        """Number of points in the scope."""
        return int(self._shard.count(q.CountRequest(exact=True, filter=_native_filter(scope))))

    def optimize(self) -> None:
        """Merge segments and build the HNSW index after a bulk write."""
        self._shard.optimize()

    def close(self) -> None:
        """Flush and release the shard (and its folder lock)."""
        self._shard.flush()
        self._shard.close()
