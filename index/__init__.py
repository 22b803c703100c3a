"""The tenant-partitioned hybrid index: embeddings, BM25 and two Qdrant backends behind one interface."""

from index.embedding import Embedder, SentenceTransformerEmbedder
from index.factory import BACKENDS, build_embedder, collection_name, open_index
from index.knowledge import KnowledgeIndex, SourceState
from index.records import (
    SOURCE_TYPES,
    Chunk,
    SearchFilters,
    SearchHit,
    SearchMode,
    SourceType,
    point_id,
)
from index.tenancy import validate_org

__all__ = [
    "BACKENDS",
    "SOURCE_TYPES",
    "Chunk",
    "Embedder",
    "KnowledgeIndex",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "SentenceTransformerEmbedder",
    "SourceState",
    "SourceType",
    "build_embedder",
    "collection_name",
    "open_index",
    "point_id",
    "validate_org",
]
