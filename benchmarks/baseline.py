"""Side by side with what a user would otherwise assemble: the same chunks and questions through a plain llama-index
`VectorStoreIndex` over qdrant-client's local mode with the same embedding model (sentence-transformers through
llama-index's HuggingFaceEmbedding, its usual setup), against this project's index on the embedded default.

Both get exactly the chunks this project's ingestion makes (text with its title and section, as embedded here) of the
sample corpora, with generated documents added to both organizations up to the size measured (distractors for the
golden questions), one organization per metadata filter, so the comparison is of indexing and retrieval, not of
parsing. Measured: building the index (embedding included), search latency p50/p95 (query embedding included, one
org's filter), and hit@5 on the golden sets' single-turn answerable document questions.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, edge_settings, latency, stored_embed_text
from benchmarks.corpus import documents_for, write_corpus
from evals.golden import GoldenCase, load_cases
from evals.metrics import hit_at
from index.embedding import resolve_model_path
from index.factory import open_index
from ingest.sync import ingest_path

ORGS = ("northwind", "orbital")
SAMPLE_CHUNKS = 961  # what the sample corpora of both organizations chunk into


def golden_cases() -> list[GoldenCase]:
    """The single-turn answerable questions about documents (the cluster ones need a cluster)."""
    return [
        c
        for c in load_cases(ROOT / "corpora" / "evals")
        if c.answerable and not c.history and "cluster" not in c.tags and c.expected_sources
    ]


def compare(work: Path, chunks: int) -> dict[str, Any]:
    """Ours and the baseline at about ``chunks`` chunks, with ratios (ours / baseline, speed-ups above 1)."""
    cases = golden_cases()
    filler = max(0, chunks - SAMPLE_CHUNKS)
    for n, org in enumerate(ORGS):
        if filler:
            write_corpus(work / "filler" / org, documents_for(filler / len(ORGS)), seed=100 + n)
    mine, made = ours(work / "ours", work / "filler", cases)
    theirs = baseline(work / "baseline", made, cases)
    return {
        "chunks": mine["chunks"],
        "ours": mine,
        "baseline": theirs,
        "ratios": {
            "build_speed": round(mine["chunks_per_s"] / theirs["chunks_per_s"], 2),
            "search_p50_speed": round(theirs["search_ms"]["p50"] / mine["search_ms"]["p50"], 1),
            "search_p95_speed": round(theirs["search_ms"]["p95"] / mine["search_ms"]["p95"], 1),
            "hit_at_5_points": round(100 * (mine["hit_at_5"] - theirs["hit_at_5"]), 1),
        },
    }


def ours(data: Path, filler: Path, cases: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This project's index: ingest the corpora, then search each case as its org; the chunks for the baseline."""
    settings = edge_settings(data)
    with open_index(settings) as index:
        started = time.perf_counter()
        for org in ORGS:
            ingest_path(index, settings, org, ROOT / "corpora" / org)
            if (filler / org).is_dir():
                ingest_path(index, settings, org, filler / org)
        build = time.perf_counter() - started
        chunks = []
        for org in ORGS:
            for source_id in sorted(index.sources(org)):
                for point in index.chunks(org, source_id):
                    chunks.append({"org": org, "source_id": source_id, "text": stored_embed_text(point.payload)})
        index.search(cases[0].org, "warm up", k=5)
        latencies, found = [], []
        for case in cases:
            index.forget_queries()
            t0 = time.perf_counter()
            hits = index.search(case.org, case.question, k=5)
            latencies.append((time.perf_counter() - t0) * 1000)
            found.append(hit_at([h.source_id for h in hits], case.expected_sources, 5))
    return _figures(build, len(chunks), latencies, found, settings.embedding_backend), chunks


def baseline(data: Path, chunks: list[dict[str, Any]], cases: list[Any]) -> dict[str, Any]:
    """llama-index VectorStoreIndex over qdrant-client local mode, HuggingFaceEmbedding of the same model."""
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    model = HuggingFaceEmbedding(model_name=str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu")
    client = QdrantClient(path=str(data / "qdrant"))
    store = QdrantVectorStore(client=client, collection_name="baseline")
    nodes = [TextNode(text=c["text"], metadata={"org": c["org"], "source_id": c["source_id"]}) for c in chunks]
    started = time.perf_counter()
    index = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=model, show_progress=False
    )
    build = time.perf_counter() - started
    retrievers = {
        org: index.as_retriever(
            similarity_top_k=5, filters=MetadataFilters(filters=[ExactMatchFilter(key="org", value=org)])
        )
        for org in ORGS
    }
    retrievers[cases[0].org].retrieve("warm up")
    latencies, found = [], []
    for case in cases:
        t0 = time.perf_counter()
        hits = retrievers[case.org].retrieve(case.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        found.append(hit_at([str(h.node.metadata["source_id"]) for h in hits], case.expected_sources, 5))
    client.close()
    return _figures(build, len(chunks), latencies, found, "torch (llama-index HuggingFaceEmbedding)")


def _figures(build: float, chunks: int, latencies: list[float], found: list[float], runtime: str) -> dict[str, Any]:
    return {
        "runtime": runtime,
        "chunks": chunks,
        "build_s": round(build, 2),
        "chunks_per_s": round(chunks / build, 1),
        "search_ms": latency(latencies),
        "hit_at_5": round(statistics.mean(found), 4),
        "queries": len(found),
    }
