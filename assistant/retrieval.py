"""Retrieval for an answer: the tenant-scoped hybrid search, narrowed to the workspace and to the caller's cluster
visibility; for a live investigation its evidence first, then the runbooks of the alerts it raised (one metadata
search per alert) and the closest past incidents; for troubleshooting the steps of the best runbook and postmortem;
then numbered within the token budget."""

from __future__ import annotations

import time

from assistant.answers import Workspace
from assistant.context import ContextSource, build_context, in_workspace
from assistant.intent import is_troubleshooting, section_role
from assistant.tools.investigation import Investigation
from core.settings import Settings
from index.knowledge import KnowledgeIndex
from index.records import SearchFilters, SearchHit, Visibility

_WORKSPACE_OVERFETCH = 3
_STEP_CANDIDATES = 3
_STEP_SIMILARITY_GAP = 0.1
_STEP_ROLES = {"runbook": ("diagnosis", "mitigation"), "incident": ("cause", "mitigation")}
_LIVE_HITS = 6
_RUNBOOK_ALERTS = 3


class Retriever:
    """The retrieval stage of the pipeline."""

    def __init__(self, index: KnowledgeIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings

    def retrieve(
        self,
        org: str,
        query: str,
        workspace: Workspace | None,
        found: Investigation | None = None,
        visible: Visibility | None = None,
    ) -> tuple[list[ContextSource], float]:
        """The numbered sources for a query, and the milliseconds it took: hybrid search within the workspace and
        the caller's visibility, live evidence with its runbooks and incidents first, a matched runbook's or
        postmortem's steps pulled in, all within the token budget."""
        t0 = time.perf_counter()
        k = self.settings.retrieval_k
        fetch = k * _WORKSPACE_OVERFETCH if workspace is not None and not workspace.empty else k
        mode = self.settings.retrieval_mode
        found_hits = self.index.search(org, query, k=fetch, mode=mode, visible=visible)
        hits = [h for h in found_hits if in_workspace(h, workspace)][:k]
        budget = self.settings.context_tokens
        live = found is not None and bool(found.hits)
        if found is not None and found.hits:
            hits = self.with_live(org, query, found, hits)
            # live evidence comes on top of the documents' budget, and the steps of a matched runbook or incident
            # are wanted however far its similarity trails the best hit's
            sizes = self.index.embedder.count_tokens([str(h.payload["text"]) for h in found.hits])
            for hit, size in zip(found.hits, sizes, strict=True):
                hit.payload["tokens"] = size  # counted once: the context budget reads it
            budget += sum(sizes)
        if is_troubleshooting(query) or live:
            hits = self.with_steps(org, hits, 1.0 if live else _STEP_SIMILARITY_GAP, visible)
        sources = build_context(hits, budget, self.index.embedder.count_tokens)
        return sources, _ms(t0)

    def with_live(self, org: str, query: str, found: Investigation, hits: list[SearchHit]) -> list[SearchHit]:
        """Live evidence first, then the runbooks whose alerts the findings raise (a metadata match ranks above a
        text match), then past incidents of the same services and symptom, then the rest; indexed copies of the
        live objects give way to the live ones."""
        evidence = found.search_text()
        runbooks: list[SearchHit] = []
        for alert in found.alerts[:_RUNBOOK_ALERTS]:  # in the order of the alerts: the one asked about first
            match = SearchFilters(source_types=["runbook"], alerts=[alert])
            runbooks += [
                h
                for h in self.index.search(org, f"{evidence} {query}", k=1, filters=match)
                if all(r.source_id != h.source_id for r in runbooks)
            ]
        text = f"{' '.join(found.services)} {evidence} {query}"
        incidents = (
            self.index.search(
                org, text, k=1, filters=SearchFilters(source_types=["incident"], alerts=found.alerts)
            )  # a past incident of the same alert ranks above one that only reads alike
            if found.alerts
            else []
        ) + self.index.search(org, text, k=2, filters=SearchFilters(source_types=["incident"]))
        live_ids = {h.source_id for h in found.hits}
        merged = [*found.hits[:_LIVE_HITS], *runbooks[:1], *incidents[:1], *hits]
        out: list[SearchHit] = []
        for hit in merged:
            if hit.source_id in live_ids and not hit.payload.get("live"):
                continue
            if all(h.id != hit.id for h in out):
                out.append(hit)
        return out

    def with_steps(
        self, org: str, hits: list[SearchHit], gap: float = _STEP_SIMILARITY_GAP, visible: Visibility | None = None
    ) -> list[SearchHit]:
        """Put the diagnosis and mitigation of the best runbook, and the root cause and action items of the best
        postmortem, right after their hits: a troubleshooting answer needs the steps, which rarely share words with
        the symptom."""
        documents = [h for h in hits if not h.payload.get("live")]
        best = documents[0].similarity if documents else 0.0
        expanded = list(hits)
        done: set[str] = set()
        for hit in documents[:_STEP_CANDIDATES]:
            kind = str(hit.payload.get("source_type"))
            roles = _STEP_ROLES.get(kind)
            if roles is None or kind in done or hit.similarity < best - gap:
                continue
            done.add(kind)
            present = {h.id for h in expanded}
            steps = [
                SearchHit(p.id, hit.score, hit.similarity, p.payload)
                for p in self.index.chunks(org, hit.source_id, visible)
                if p.id not in present and section_role(str(p.payload.get("section", ""))) in roles
            ]
            at = next(i for i, h in enumerate(expanded) if h.id == hit.id) + 1
            expanded[at:at] = steps
        return expanded


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
