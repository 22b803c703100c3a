"""The performance suite in one command: `make bench` (or `python -m benchmarks.suite`; `--quick` for a smoke run).

For each corpus size (1k, 10k and 100k generated chunks by default): ingestion end to end against the raw embedding
throughput of the same chunks, peak memory, re-sync of the unchanged and of a 1%-changed corpus, search split into
query embedding and index time with and without the tenant filter for 1 and 100 organizations, and the extractive
ask in-process; at one size the HTTP API under 1, 8 and 32 concurrent clients; at two sizes the llama-index baseline
side by side. Then the growth per 10x of each figure and the issue's targets, met or not.
Results: benchmarks/results/suite.json and suite.md (the Markdown is also printed).
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import baseline, scale, serve
from benchmarks.common import RESULTS, machine, write_results
from benchmarks.corpus import queries
from benchmarks.report import render
from core.settings import Settings
from index.factory import build_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1000,10000,100000", help="corpus sizes in chunks, comma-separated")
    parser.add_argument("--baseline-at", default="1000,10000", help="sizes for the baseline side by side")
    parser.add_argument("--http-at", type=int, default=10000, help="the size the HTTP load runs on")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--queries", type=int, default=200, help="search queries per size")
    parser.add_argument("--asks", type=int, default=100, help="in-process asks per size")
    parser.add_argument("--sample", type=int, default=1000, help="chunks re-encoded for the raw embedding figure")
    parser.add_argument("--requests", type=int, default=64, help="HTTP questions per client count (at least 4 each)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 and 3000 chunks, fewer of everything")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.scales, args.baseline_at, args.http_at = "300,3000", "1000", 3000
        args.queries, args.asks, args.sample, args.requests = 40, 20, 200, 16
    sizes = [int(s) for s in args.scales.split(",")]
    report = run(
        sizes,
        baseline_at=[int(s) for s in args.baseline_at.split(",") if s],
        http_at=args.http_at if args.http_at in sizes else None,
        clients=[int(c) for c in args.clients.split(",")],
        query_count=args.queries,
        asks=args.asks,
        sample=args.sample,
        requests=args.requests,
    )
    markdown = render(report)
    path = write_results("suite", report, markdown, args.out)
    print(markdown)
    print(f"results: {path} and {path.with_suffix('.md')}")


def run(
    sizes: list[int],
    *,
    baseline_at: list[int],
    http_at: int | None,
    clients: list[int],
    query_count: int,
    asks: int,
    sample: int,
    requests: int,
) -> dict[str, Any]:
    """Every figure, size by size, then the baseline; each part's seconds are kept beside its figures."""
    started = time.perf_counter()
    settings = Settings()
    build_embedder(settings).encode(["warm up"])  # a new machine exports the ONNX model once: not an ingest figure
    report: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "embedding_backend": settings.embedding_backend,
            "embedding_model": settings.embedding_model,
            "embedding_batch_size": settings.embedding_batch_size,
            "chunk_tokens": settings.chunk_tokens,
            "index_backend": "edge",
            "retrieval_mode": settings.retrieval_mode,
        },
        "scales": [],
        "http": None,
        "baseline": [],
        "suite_seconds": {},
    }
    for size in sizes:
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix=f"aiops-bench-{size}-"))
        try:
            figures = scale.measure(scale.Scale(size, work), query_count, sample, asks)
            report["scales"].append(figures)
            if size == http_at:
                report["http"] = {
                    "chunks": figures["chunks"],
                    "runs": serve.load(work / "data", scale.ORG, queries(4000, seed=17), clients, requests),
                }
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report["suite_seconds"][f"scale {size}"] = round(time.perf_counter() - t0)
        print(f"size {size}: {report['suite_seconds'][f'scale {size}']} s", flush=True)
    for size in baseline_at:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"aiops-baseline-{size}-") as tmp:
            report["baseline"].append(baseline.compare(Path(tmp), size))
        report["suite_seconds"][f"baseline {size}"] = round(time.perf_counter() - t0)
        print(f"baseline {size}: {report['suite_seconds'][f'baseline {size}']} s", flush=True)
    report["growth"] = growth(report["scales"])
    report["suite_seconds"]["all"] = round(time.perf_counter() - started)
    return report


# figure name -> where it is in a size's figures
FIGURES: dict[str, tuple[str, ...]] = {
    "ingest chunks/s": ("ingest", "chunks_per_s"),
    "ingest share of raw embedding": ("ingest", "share_of_raw"),
    "ingest peak RSS MiB": ("ingest", "peak_rss_mib"),
    "re-sync unchanged s": ("resync_unchanged", "seconds"),
    "re-sync 1% changed s": ("resync_changed", "seconds"),
    "search p50 ms (1 org)": ("search", "1 org", "total_ms", "p50"),
    "search p99 ms (1 org)": ("search", "1 org", "total_ms", "p99"),
    "search p50 ms (100 orgs)": ("search", "100 orgs", "total_ms", "p50"),
    "engine p50 ms (1 org, tenant filter)": ("search", "1 org", "engine_ms", "tenant_filter", "p50"),
    "engine p50 ms (100 orgs, tenant filter)": ("search", "100 orgs", "engine_ms", "tenant_filter", "p50"),
    "engine p50 ms (no filter)": ("search", "1 org", "engine_ms", "no_filter", "p50"),
    "ask p50 ms": ("ask", "total_ms", "p50"),
    "ask p95 ms": ("ask", "total_ms", "p95"),
}


def pick(figures: dict[str, Any], path: tuple[str, ...]) -> float | None:
    """The value at ``path``, None where the run has none."""
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def growth(scales: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each figure's factor per 10x more chunks between consecutive sizes (sizes not 10x apart are normalized:
    factor ** (1 / log10(size ratio)))."""
    rows = []
    for name, path in FIGURES.items():
        steps = []
        for small, large in zip(scales, scales[1:], strict=False):
            a, b = pick(small, path), pick(large, path)
            decades = math.log10(large["chunks"] / small["chunks"])
            factor = (b / a) ** (1 / decades) if a and b and decades > 0 else None
            steps.append({"from": small["chunks"], "to": large["chunks"], "per_10x": _round(factor)})
        rows.append({"figure": name, "values": [pick(s, path) for s in scales], "steps": steps})
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


if __name__ == "__main__":
    main()
