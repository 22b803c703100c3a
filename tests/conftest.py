"""Shared fixtures: one real embedding model per session, and real indexes on both backends in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from core.settings import Settings, get_settings  # noqa: E402
from index.embedding import SentenceTransformerEmbedder  # noqa: E402
from index.factory import open_index  # noqa: E402
from index.knowledge import KnowledgeIndex  # noqa: E402

BACKENDS = ["edge", "server"]
pytest_plugins = ["tests.kube.fixtures", "tests.prom.fixtures"]  # Kubernetes API server and Prometheus fixtures


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, loaded once."""
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=32)


def settings_for(tmp_path: Path, backend: str, **overrides: object) -> Settings:
    """Settings with all state under tmp_path; the server backend runs on qdrant-client's local mode."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "index_backend": backend,
        "qdrant_local_path": tmp_path / "qdrant-local" if backend == "server" else None,
        "chunk_tokens": 120,
        "chunk_overlap": 16,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the contract holds for both."""
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> Settings:
    """Settings for the backend under test."""
    return settings_for(tmp_path, backend)


@pytest.fixture
def index(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[KnowledgeIndex]:
    """A fresh, real index on the backend under test."""
    with open_index(settings, embedder) as idx:
        yield idx


@pytest.fixture
def write_files(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Writes a tree of files under tmp_path/src and returns its root."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "src"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


@pytest.fixture
def env_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """Points the process settings (as the CLI reads them) at tmp_path for a backend."""

    def use(backend: str) -> None:
        monkeypatch.setenv("AIOPS_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("AIOPS_INDEX_BACKEND", backend)
        monkeypatch.setenv("AIOPS_CHUNK_TOKENS", "120")
        if backend == "server":
            monkeypatch.setenv("AIOPS_QDRANT_LOCAL_PATH", str(tmp_path / "qdrant-local"))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()
