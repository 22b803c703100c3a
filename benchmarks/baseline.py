"""Side by side with what a user would otherwise assemble (issue 10): the same chunks and questions through a plain
llama-index `VectorStoreIndex` over qdrant-client's local mode with the same embedding model (sentence-transformers
through llama-index's HuggingFaceEmbedding, its usual setup), against this project's index on the embedded default.

Both get exactly the chunks this project's ingestion makes of the sample corpora (text with its title and section, as
embedded here), one organization per metadata filter, so the comparison is of indexing and retrieval, not of parsing.
Measured: building the index (embedding included), search latency p50/p95 (query embedding included, one org's
filter), and hit@5 on the golden sets' single-turn answerable document questions. Run:
`python benchmarks/baseline.py` (results in benchmarks/results/baseline.json and a Markdown table on stdout).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.settings import Settings  # noqa: E402
from evals.golden import load_cases  # noqa: E402
from evals.metrics import hit_at  # noqa: E402
from index.embedding import resolve_model_path  # noqa: E402
from index.factory import open_index  # noqa: E402
from ingest.sync import ingest_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ORGS = ("northwind", "orbital")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ours(data: Path, cases: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This project's index: ingest the corpora, then search each case as its org; the chunks for the baseline."""
    settings = Settings(data_dir=data, index_backend="edge")
    with open_index(settings) as index:
        started = time.perf_counter()
        for org in ORGS:
            ingest_path(index, settings, org, ROOT / "corpora" / org)
        build = time.perf_counter() - started
        chunks = []
        for org in ORGS:
            for source_id in sorted(index.sources(org)):
                for point in index.chunks(org, source_id):
                    p = point.payload
                    section = str(p.get("section") or "")
                    heading = f"{p.get('title')} > {section}" if section else str(p.get("title"))
                    chunks.append({"org": org, "source_id": source_id, "text": f"{heading}\n{p.get('text')}"})
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
        "search_p50_ms": round(statistics.median(latencies), 2),
        "search_p95_ms": round(percentile(latencies, 95), 2),
        "hit_at_5": round(statistics.mean(found), 4),
        "queries": len(found),
    }


def main() -> None:
    cases = [
        c
        for c in load_cases(ROOT / "corpora" / "evals")
        if c.answerable and not c.history and "cluster" not in c.tags and c.expected_sources
    ]
    with tempfile.TemporaryDirectory(prefix="aiops-baseline-") as tmp:
        mine, chunks = ours(Path(tmp) / "ours", cases)
        theirs = baseline(Path(tmp) / "baseline", chunks, cases)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "ours": mine,
        "baseline": theirs,
        "ratios": {
            "build_speed": round(mine["chunks_per_s"] / theirs["chunks_per_s"], 2),
            "search_p50_speed": round(theirs["search_p50_ms"] / mine["search_p50_ms"], 2),
            "search_p95_speed": round(theirs["search_p95_ms"] / mine["search_p95_ms"], 2),
            "hit_at_5_points": round(100 * (mine["hit_at_5"] - theirs["hit_at_5"]), 1),
        },
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "baseline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"| | ours ({mine['runtime']}, edge, hybrid) | llama-index VectorStoreIndex + qdrant local | ratio |")
    print("|---|---|---|---|")
    r = result["ratios"]
    print(
        f"| index build ({mine['chunks']} chunks) | {mine['chunks_per_s']} chunks/s | {theirs['chunks_per_s']} "
        f"chunks/s | {r['build_speed']}x |"
    )
    print(f"| search p50 | {mine['search_p50_ms']} ms | {theirs['search_p50_ms']} ms | {r['search_p50_speed']}x |")
    print(f"| search p95 | {mine['search_p95_ms']} ms | {theirs['search_p95_ms']} ms | {r['search_p95_speed']}x |")
    print(
        f"| hit@5 ({mine['queries']} questions) | {mine['hit_at_5']} | {theirs['hit_at_5']} | "
        f"{r['hit_at_5_points']:+} points |"
    )


if __name__ == "__main__":
    main()
