"""The production backend: qdrant-client against a Qdrant server or cluster.

Tests reach it through qdrant-client's local mode, which speaks the same client API (no Qdrant server runs here); local
mode scans every point in Python, so it is never the embedded default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as m
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from core.errors import IndexUnavailableError
from index.records import FoundPoint, SearchMode, SparseVector, StoredPoint
from index.store import DENSE, PAYLOAD_INDEXES, SPARSE, paginate
from index.tenancy import ORG_FIELD, DateRange, MatchAny, Scope, Within

log = logging.getLogger(__name__)

_SCROLL_PAGE = 1000


def _native_filter(scope: Scope) -> m.Filter:
    """The scope as a qdrant-client filter; the organization's condition always comes first."""
    must: list[m.Condition] = [m.FieldCondition(key=ORG_FIELD, match=m.MatchValue(value=scope.org))]
    must_not: list[m.Condition] = []
    for c in scope.conditions:
        if isinstance(c, MatchAny):
            must.append(m.FieldCondition(key=c.key, match=m.MatchAny(any=list(c.values))))  # type: ignore[arg-type]
        elif isinstance(c, DateRange):
            must.append(
                m.FieldCondition(
                    key=c.key,
                    range=m.DatetimeRange(gte=_instant(c.gte), lte=_instant(c.lte, end=True)),
                )
            )
        elif isinstance(c, Within):
            must_not.append(_outside(c))
    return m.Filter(must=must, must_not=must_not or None)


def _outside(c: Within) -> m.Filter:
    """The points a Within condition excludes."""
    kind = m.FieldCondition(key=c.key, match=m.MatchValue(value=c.value))
    if not c.values:  # inside nothing: every point of the kind goes
        return m.Filter(must=[kind])
    among = m.FieldCondition(key=c.field, match=m.MatchAny(any=list(c.values)))
    return m.Filter(must=[kind], must_not=[among]) if c.inside else m.Filter(must=[kind, among])


def _instant(day: str | None, end: bool = False) -> datetime | None:
    if day is None:
        return None
    return datetime.fromisoformat(f"{day}T{'23:59:59' if end else '00:00:00'}+00:00")


def _schema(kind: str) -> Any:
    if kind == "tenant":
        return m.KeywordIndexParams(type=m.KeywordIndexType.KEYWORD, is_tenant=True)
    return {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER}.get(
        kind, m.PayloadSchemaType.DATETIME
    )


class ServerStore:
    """One collection per embedding model and dimension, with ``org_id`` as the tenant field."""

    def __init__(self, client: QdrantClient, collection: str, dimension: int) -> None:
        self._client = client
        self.collection = collection
        try:
            if not client.collection_exists(collection):
                client.create_collection(
                    collection,
                    vectors_config={DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                )
                for name, kind in PAYLOAD_INDEXES.items():
                    client.create_payload_index(collection, name, field_schema=_schema(kind))
        except (ResponseHandlingException, UnexpectedResponse, OSError) as exc:
            raise IndexUnavailableError(f"cannot reach the Qdrant server for {collection!r}: {exc}") from exc

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or replace points."""
        native = [
            m.PointStruct(
                id=p.id,
                vector={DENSE: p.dense, SPARSE: m.SparseVector(indices=p.sparse.indices, values=p.sparse.values)},
                payload=p.payload,
            )
            for p in points
        ]
        self._client.upsert(self.collection, native, wait=True)

    def delete(self, scope: Scope) -> None:
        """Delete every point in the scope."""
        self._client.delete(self.collection, m.FilterSelector(filter=_native_filter(scope)), wait=True)

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
        flt = _native_filter(scope)
        sparse_vector = m.SparseVector(indices=sparse.indices, values=sparse.values)
        if mode == "hybrid":
            response = self._client.query_points(
                self.collection,
                prefetch=[
                    m.Prefetch(query=dense, using=DENSE, filter=flt, limit=prefetch_limit),
                    m.Prefetch(query=sparse_vector, using=SPARSE, filter=flt, limit=prefetch_limit),
                ],
                query=m.RrfQuery(rrf=m.Rrf(k=rrf_k)),
                query_filter=flt,
                limit=limit,
                with_payload=True,
                with_vectors=[DENSE],
            )
        else:
            response = self._client.query_points(
                self.collection,
                query=dense if mode == "dense" else sparse_vector,
                using=DENSE if mode == "dense" else SPARSE,
                query_filter=flt,
                limit=limit,
                with_payload=True,
                with_vectors=[DENSE],
            )
        return [FoundPoint.of(p.id, p.score, p.payload, p.vector) for p in response.points]

    def scroll(
        self, scope: Scope, fields: Sequence[str] | None = None, with_dense: bool = False
    ) -> Iterator[FoundPoint]:
        """Every point in the scope, page by page."""
        flt = _native_filter(scope)
        payload: Any = list(fields) if fields is not None else True

        def page(offset: Any) -> tuple[Sequence[Any], Any]:
            return self._client.scroll(
                self.collection,
                scroll_filter=flt,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=payload,
                with_vectors=[DENSE] if with_dense else False,
            )

        for r in paginate(page):
            yield FoundPoint.of(r.id, 0.0, r.payload, r.vector)

    def count(self, scope: Scope) -> int:
        """Number of points in the scope."""
        return int(self._client.count(self.collection, count_filter=_native_filter(scope), exact=True).count)

    def optimize(self) -> None:
        """The server optimizes by itself."""

    def close(self) -> None:
        """Release the client."""
        self._client.close()
