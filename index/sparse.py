"""BM25 sparse vectors, encoded with Qdrant Edge's encoder so that every backend stores identical vectors."""

from __future__ import annotations

import qdrant_edge

from index.records import SparseVector


class Bm25Encoder:
    """Term-frequency document vectors and unit-weight query vectors; the index applies IDF at query time."""

    def __init__(self) -> None:
        self._model = qdrant_edge.Bm25()

    def encode_document(self, text: str) -> SparseVector:
        """Vector of an indexed text."""
        vector = self._model.embed_document(text)
        return SparseVector(list(vector.indices), list(vector.values))

    def encode_query(self, text: str) -> SparseVector:
        """Vector of a query."""
        vector = self._model.embed_query(text)
        return SparseVector(list(vector.indices), list(vector.values))
