"""The numbered sources an answer is built from: retrieved chunks, deduplicated, within a token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answers import Citation, Workspace
from index.records import SearchHit

TokenCounter = Callable[[Sequence[str]], list[int]]

_SNIPPET_CHARS = 300


@dataclass(frozen=True)
class ContextSource:
    """A retrieved chunk as source ``[n]`` of the context."""

    n: int
    hit: SearchHit
    text: str

    def field(self, name: str) -> Any:
        """A payload field of the chunk."""
        return self.hit.payload.get(name)

    @property
    def source_id(self) -> str:
        """Stable id of the source document."""
        return self.hit.source_id

    @property
    def title(self) -> str:
        """Title of the source document."""
        return str(self.field("title") or self.source_id)

    @property
    def section(self) -> str:
        """Heading path of the chunk inside its document."""
        return str(self.field("section") or "")

    @property
    def source_type(self) -> str:
        """doc, runbook, incident or cluster."""
        return str(self.field("source_type") or "doc")

    def citation(self, snippet: str | None = None) -> Citation:
        """The citation of this source, with the snippet the answer rests on (default: the chunk's opening)."""
        text = " ".join((snippet or self.text).split())
        return Citation(
            n=self.n,
            source_id=self.source_id,
            source_type=self.source_type,
            uri=self.field("uri"),
            title=self.title,
            section=self.section or None,
            line_start=self.field("line_start"),
            line_end=self.field("line_end"),
            page=self.field("page"),
            snippet=text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1].rstrip() + "…",
            score=round(self.hit.similarity, 4),
        )


def in_workspace(hit: SearchHit, workspace: Workspace | None) -> bool:
    """False when the chunk belongs to another cluster, namespace or project than the workspace's."""
    if workspace is None or workspace.empty:
        return True
    p = hit.payload
    checks = (
        (workspace.cluster, p.get("cluster")),
        (workspace.namespace, p.get("namespace")),
        (workspace.project, p.get("project")),
    )
    return all(wanted is None or found is None or found == wanted for wanted, found in checks)


def build_context(hits: Sequence[SearchHit], budget_tokens: int, count_tokens: TokenCounter) -> list[ContextSource]:
    """Number the hits best first, skipping repeats, until the token budget is spent (the best hit always fits)."""
    seen: set[tuple[str, Any]] = set()
    unique = []
    for hit in hits:
        key = (hit.source_id, hit.payload.get("position"))
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    if not unique:
        return []
    sizes = _sizes(unique, count_tokens)
    sources: list[ContextSource] = []
    spent = 0
    for hit, size in zip(unique, sizes, strict=True):
        text = str(hit.payload.get("text", ""))
        if sources and spent + size > budget_tokens:
            continue
        if not sources and size > budget_tokens:
            text = _truncate(text, budget_tokens, size)
        sources.append(ContextSource(len(sources) + 1, hit, text))
        spent += size
    return sources


def _sizes(hits: Sequence[SearchHit], count_tokens: TokenCounter) -> list[int]:
    """Token counts of the hits' texts: ingestion stored them with each chunk; only the others are counted."""
    stored = [h.payload.get("tokens") for h in hits]
    missing = [i for i, n in enumerate(stored) if not isinstance(n, int)]
    counted = dict(zip(missing, count_tokens([str(hits[i].payload.get("text", "")) for i in missing]), strict=True))
    return [counted[i] if i in counted else int(n) for i, n in enumerate(stored)]  # type: ignore[arg-type]


def _truncate(text: str, budget: int, size: int) -> str:
    keep = max(1, int(len(text) * budget / max(size, 1)))
    return text[:keep]
