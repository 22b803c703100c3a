"""What the assistant returns: an answer with validated citations (the external contract of `aiops ask --json`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnswerStatus = Literal["answered", "no_evidence"]

NO_EVIDENCE_TEXT = "Not found in the knowledge base: none of your organization's sources answers this question."


class Citation(BaseModel):
    """A numbered source the answer cites, with where to open it."""

    model_config = ConfigDict(frozen=True)

    n: int
    source_id: str
    source_type: str | None = None
    uri: str | None = None
    title: str | None = None
    section: str | None = None
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None
    snippet: str
    score: float


class ToolCall(BaseModel):
    """One tool the assistant ran for the answer, as the sandbox reported it (its data went into the sources)."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: Literal["ok", "error", "denied", "disabled", "timeout"] = "ok"
    summary: str = ""
    invocation: str = ""
    cluster: str | None = None
    error: str | None = None
    duration_ms: float = 0.0
    truncated: bool = False


class Workspace(BaseModel):
    """The caller's default context: narrows retrieval and is shown with the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str | None = None
    namespace: str | None = None
    project: str | None = None

    @property
    def empty(self) -> bool:
        """True when no field is set."""
        return not (self.cluster or self.namespace or self.project)


class Answer(BaseModel):
    """The answer as the CLI prints with --json and the API returns."""

    answer: str
    status: AnswerStatus
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    provider: str
    timings: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, int] = Field(default_factory=dict)
    answer_id: str
    conversation_id: str
    question: str
    retrieval_query: str
    workspace: Workspace | None = None
    cached: bool = False
    warnings: list[str] = Field(default_factory=list)
    invalid_citations: list[int] = Field(default_factory=list)
