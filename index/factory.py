"""Builds the knowledge index from settings: the embedder and the backend chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import ConfigurationError
from core.settings import Settings
from index.embedding import Embedder, SentenceTransformerEmbedder, model_slug
from index.generations import Generations
from index.knowledge import KnowledgeIndex
from index.store import VectorStore


def collection_name(embedder: Embedder) -> str:
    """One collection per embedding model and dimension, so a model change never mixes vectors."""
    return f"chunks-{model_slug(embedder.name, embedder.dimension)}"


def _edge(settings: Settings, embedder: Embedder) -> VectorStore:
    from index.edge_store import EdgeStore

    return EdgeStore(settings.index_dir / "edge" / collection_name(embedder), embedder.dimension)


def _server(settings: Settings, embedder: Embedder) -> VectorStore:
    from qdrant_client import QdrantClient

    from index.server_store import ServerStore

    if settings.qdrant_local_path is not None:
        client = QdrantClient(path=str(settings.qdrant_local_path))
    elif settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=api_key, timeout=30)
    else:
        raise ConfigurationError("the server backend needs AIOPS_QDRANT_URL (or AIOPS_QDRANT_LOCAL_PATH for tests)")
    return ServerStore(client, collection_name(embedder), embedder.dimension)


BACKENDS: dict[str, Callable[[Settings, Embedder], VectorStore]] = {"edge": _edge, "server": _server}


def build_embedder(settings: Settings) -> Embedder:
    """The dense embedding model named by the settings, on the configured runtime (torch or ONNX Runtime)."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbedder(
            settings.embedding_model, batch_size=settings.embedding_batch_size, threads=settings.embedding_threads
        )
    from index.onnx_embedding import OnnxEmbedder

    return OnnxEmbedder(
        settings.embedding_model,
        settings.model_cache_dir / "models",
        quantized=settings.embedding_backend == "onnx-int8",
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
    )


def open_index(settings: Settings, embedder: Embedder | None = None) -> KnowledgeIndex:
    """The knowledge index on the configured backend (the embedder may be shared)."""
    backend = BACKENDS.get(settings.index_backend)
    if backend is None:
        raise ConfigurationError(f"unknown index backend {settings.index_backend!r}; use one of {sorted(BACKENDS)}")
    embedder = embedder or build_embedder(settings)
    return KnowledgeIndex(
        backend(settings, embedder),
        embedder,
        rrf_k=settings.rrf_k,
        prefetch_factor=settings.prefetch_factor,
        generations=Generations(settings.index_dir / "generations.db"),
    )
