"""One corpus size, end to end: ingestion against raw embedding, re-syncs, search and in-process ask.

A generated corpus of about ``chunks`` chunks is ingested by ``aiops ingest`` in a child process (so its peak memory
is its own), into a data folder that the HTTP load then serves. In this process, on the ingested index:
- raw embedding: a sample of the very chunks (the text ingestion embedded) re-encoded by the same model with the same
  batch size, the compute limit ingestion is measured against;
- search: query embedding and index time apart, with the tenant filter every search carries and without any filter,
  with every chunk in one organization and with the same points spread over 100 organizations;
- ask: the extractive pipeline in-process, answer cache and query-vector cache off.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import AIOPS, data_env, edge_settings, latency, run_child, since, stored_embed_text
from benchmarks.corpus import change, documents_for, queries, write_corpus
from core.settings import Settings
from index.edge_store import EdgeStore, query_request
from index.embedding import Embedder
from index.factory import build_embedder, open_index
from index.knowledge import KnowledgeIndex
from index.records import Chunk, FoundPoint
from index.tenancy import ORG_FIELD, scope

ORG = "bench"
TENANTS = 100
_INDEX_FIELDS = {"source_id", "position", "text", ORG_FIELD}  # the index sets these itself
_COPY_BATCH = 512


@dataclass(frozen=True)
class Scale:
    """Where one size's corpus and data live."""

    chunks: int
    work: Path

    @property
    def corpus(self) -> Path:
        return self.work / "corpus"

    @property
    def data(self) -> Path:
        return self.work / "data"

    def settings(self, **overrides: Any) -> Settings:
        return edge_settings(self.data, **overrides)


def measure(scale: Scale, query_count: int, sample: int, asks: int) -> dict[str, Any]:
    """Every figure of one size."""
    write_corpus(scale.corpus, documents_for(scale.chunks))
    files = sorted(scale.corpus.rglob("*.md"))
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    first = _ingest(scale)
    unchanged = _ingest(scale)
    edited = change(scale.corpus, 0.01)
    changed = _ingest(scale)
    embedder = build_embedder(scale.settings())
    with open_index(scale.settings(), embedder) as index:
        raw = _raw_embedding(index, sample)
        asked = queries(query_count)
        search = {"1 org": _search(index, scale.settings(), [ORG], asked)}
        ask = _ask(index, scale.settings(answer_cache_ttl_s=0), asked[:asks])
        spread = scale.work / "tenants"
        search[f"{TENANTS} orgs"] = _spread_search(index, embedder, spread, asked)
    shutil.rmtree(spread, ignore_errors=True)
    seconds = float(first["seconds"])
    return {
        "target_chunks": scale.chunks,
        "chunks": first["chunks"],
        "files": len(files),
        "megabytes": round(megabytes, 2),
        "ingest": {
            "seconds": seconds,
            "wall_seconds": first["wall_seconds"],
            "chunks_per_s": round(first["chunks"] / seconds, 2),
            "mb_per_s": round(megabytes / seconds, 3),
            "raw_embed_chunks_per_s": raw["chunks_per_s"],
            "share_of_raw": round(first["chunks"] / seconds / raw["chunks_per_s"], 3),
            "raw_sample": raw["sample"],
            "stage_seconds": first["timings"],
            "peak_rss_mib": first["peak_rss_mib"],
        },
        "resync_unchanged": _resync(unchanged, seconds),
        "resync_changed": _resync(changed, seconds) | {"files_edited": len(edited)},
        "search": search,
        "ask": ask,
    }


def _ingest(scale: Scale) -> dict[str, Any]:
    out, wall, peak = run_child([*AIOPS, "ingest", str(scale.corpus), "--org", ORG, "--json"], data_env(scale.data))
    summary: dict[str, Any] = json.loads(out)
    if summary["failed_count"]:
        raise RuntimeError(f"ingestion failed on {summary['failed_count']} files: {summary['failed'][:3]}")
    return summary | {"wall_seconds": round(wall, 2), "peak_rss_mib": round(peak)}


def _resync(summary: dict[str, Any], first_seconds: float) -> dict[str, Any]:
    return {
        "seconds": summary["seconds"],
        "wall_seconds": summary["wall_seconds"],
        "embedded": summary["embedded"],
        "reused": summary["reused"],
        "updated_sources": summary["updated"],
        "share_of_first_ingest": round(float(summary["seconds"]) / first_seconds, 4),
        "stage_seconds": summary["timings"],
    }


def _raw_embedding(index: KnowledgeIndex, sample: int) -> dict[str, Any]:
    points = list(index.store.scroll(scope(ORG), fields=["title", "section", "text"]))
    texts = [stored_embed_text(p.payload) for p in random.Random(3).sample(points, min(sample, len(points)))]
    index.embedder.encode(texts[:32])  # warm-up: the model loads
    started = time.perf_counter()
    index.embedder.encode(texts)
    return {"sample": len(texts), "chunks_per_s": round(len(texts) / (time.perf_counter() - started), 2)}


def _search(index: KnowledgeIndex, settings: Settings, orgs: list[str], asked: list[str]) -> dict[str, Any]:
    """Each query as one of ``orgs``: its embedding, then the search as a caller gets it (``index.search``, the
    vector cached by then: index time); and the engine alone on the same request with the tenant filter and with no
    filter at all (which of the two runs first alternates), what the filter itself costs."""
    store = index.store
    assert isinstance(store, EdgeStore), "the search figures are of the embedded backend"
    index.search(orgs[0], "warm up", k=5)
    embed: list[float] = []
    searched: list[float] = []
    engine: dict[str, list[float]] = {"tenant_filter": [], "no_filter": []}
    rng = random.Random(13)
    for n, q in enumerate(asked):
        org = rng.choice(orgs)
        index.forget_queries()
        t0 = time.perf_counter()
        vector = index.query_vector(q)
        embed.append(since(t0))
        t1 = time.perf_counter()
        index.search(org, q, k=5)
        searched.append(since(t1))
        sparse = index.sparse.encode_query(q)
        scopes = {"tenant_filter": scope(org), "no_filter": None}
        for name in sorted(scopes, reverse=n % 2 == 1):
            request = query_request(
                scopes[name], vector, sparse, limit=5, prefetch_limit=index.prefetch_limit(5), rrf_k=settings.rrf_k
            )
            t2 = time.perf_counter()
            # straight to the engine: the store itself has no unscoped search, on purpose
            [FoundPoint.of(p.id, p.score, p.payload, p.vector) for p in store._shard.query(request)]  # noqa: SLF001
            engine[name].append(since(t2))
    totals = [e + s for e, s in zip(embed, searched, strict=True)]
    return {
        "query_embedding_ms": latency(embed),
        "index_ms": latency(searched),
        "engine_ms": {name: latency(values) for name, values in engine.items()},
        "total_ms": latency(totals),
        "query_embedding_p50_share": round(statistics.median(embed) / statistics.median(totals), 3),
    }


def _spread_search(index: KnowledgeIndex, embedder: Embedder, folder: Path, asked: list[str]) -> dict[str, Any]:
    """The same points (vectors reused, not re-embedded) in a fresh index, each source in one of 100 orgs."""
    orgs = [f"org-{n:03d}" for n in range(TENANTS)]
    started = time.perf_counter()
    settings = edge_settings(folder)
    with open_index(settings, embedder) as spread:
        pending: dict[str, list[FoundPoint]] = {}
        for point in index.store.scroll(scope(ORG), with_dense=True):
            org = orgs[zlib.crc32(str(point.payload["source_id"]).encode()) % TENANTS]
            pending.setdefault(org, []).append(point)
            if len(pending[org]) >= _COPY_BATCH:
                _copy(spread, org, pending.pop(org))
        for org, points in pending.items():
            _copy(spread, org, points)
        spread.optimize()
        copied = time.perf_counter() - started
        return _search(spread, settings, orgs, asked) | {"copy_seconds": round(copied, 1)}


def _copy(target: KnowledgeIndex, org: str, points: list[FoundPoint]) -> None:
    """Points of another org's index written as ``org``'s, with their vectors."""
    chunks = [
        Chunk(
            str(p.payload["source_id"]),
            int(p.payload["position"]),
            str(p.payload["text"]),
            stored_embed_text(p.payload),
            {k: v for k, v in p.payload.items() if k not in _INDEX_FIELDS},
        )
        for p in points
    ]
    target.write(org, chunks, np.asarray([p.dense for p in points], dtype=np.float32))


def _ask(index: KnowledgeIndex, settings: Settings, asked: list[str]) -> dict[str, Any]:
    from assistant.database import Database
    from assistant.pipeline import Assistant

    db = Database()
    try:
        assistant = Assistant(index, settings, db)
        assistant.ask(ORG, asked[0])  # warm-up
        totals: list[float] = []
        stages: dict[str, list[float]] = {"retrieval_ms": [], "generation_ms": []}
        answered = 0
        for q in asked:
            index.forget_queries()
            answer = assistant.ask(ORG, q)
            totals.append(answer.timings["total_ms"])
            answered += answer.status == "answered"
            for stage, values in stages.items():
                if stage in answer.timings:
                    values.append(answer.timings[stage])
    finally:
        db.close()
    return {
        "total_ms": latency(totals),
        "stages_ms": {s.removesuffix("_ms"): latency(v) for s, v in stages.items() if v},
        "answered": answered,
        "questions": len(asked),
    }
