"""Request bodies of the API (responses are the library's own JSON shapes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.answers import Workspace
from index.records import SearchMode, SourceType


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchBody(_Body):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=100)
    source_types: list[SourceType] = Field(default_factory=list)
    mode: SearchMode = "hybrid"


class AskBody(_Body):
    question: str = Field(min_length=1, description="Truncated (with a warning) at AIOPS_MAX_QUESTION_CHARS.")
    conversation_id: str | None = Field(default=None, max_length=64)
    provider: str | None = Field(default=None, max_length=40)
    workspace: Workspace | None = None
    stream: bool = Field(default=False, description="Server-Sent Events instead of one JSON answer.")


class FeedbackBody(_Body):
    answer_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class IngestPathBody(_Body):
    path: str | None = Field(
        default=None, min_length=1, max_length=4096, description="A folder on the server, inside AIOPS_INGEST_ROOTS."
    )
    cluster: str | None = Field(default=None, max_length=63, description="Sync one of the organization's clusters.")
    source_type: SourceType | None = None

    @model_validator(mode="after")
    def _one_target(self) -> IngestPathBody:
        if (self.path is None) == (self.cluster is None):
            raise ValueError("give either a path or a cluster")
        return self


class KeyBody(_Body):
    user: str = Field(min_length=1, max_length=128)
    roles: list[Literal["viewer", "developer", "operator", "admin"]] = Field(min_length=1)
    namespaces: list[str] = Field(default_factory=list)
    name: str = Field(default="", max_length=200)


class ToolBody(_Body):
    arguments: dict[str, Any] = Field(default_factory=dict, description="As the tool's schema (GET /v1/tools) says.")
