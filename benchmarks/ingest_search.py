"""Ingestion and search benchmark (issue 2): run with `make bench` or `python benchmarks/ingest_search.py`.

Measures, in one run on a generated corpus:
- ingestion end to end (`aiops ingest` in a child process: chunks/s and peak RSS), against the raw embedding
  throughput of a sample of the same chunks (same model, same batch size) measured in this process;
- re-ingesting the unchanged corpus (speed-up against the first ingest);
- search latency (query embedding + hybrid search) p50/p95 on the edge backend.
Results go to benchmarks/results/ingest_search.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.corpus import queries, write_corpus  # noqa: E402
from core.settings import Settings  # noqa: E402
from index.factory import open_index  # noqa: E402


def ingest_child(corpus: Path, data_dir: Path) -> tuple[dict[str, object], float, float]:
    """`aiops ingest --json` in a child process: its summary, wall seconds and peak RSS in MiB."""
    env = {**os.environ, "AIOPS_DATA_DIR": str(data_dir), "AIOPS_INDEX_BACKEND": "edge"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(corpus), "--org", "bench", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads(done.stdout), wall, peak_mib


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1460, help="generated documents (about 5 chunks each)")
    parser.add_argument("--sample", type=int, default=1000, help="chunks re-encoded to measure raw throughput")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ingest_search.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aiops-bench-"))
    corpus, data_dir = work / "corpus", work / "data"
    write_corpus(corpus, args.documents)
    size_mb = sum(p.stat().st_size for p in corpus.rglob("*.md")) / 1e6

    first, first_wall, peak_mib = ingest_child(corpus, data_dir)
    again, again_wall, _ = ingest_child(corpus, data_dir)

    settings = Settings(data_dir=data_dir, index_backend="edge")
    with open_index(settings) as index:
        points = list(index.store.scroll(__import__("index.tenancy").tenancy.scope("bench")))
        rng = random.Random(3)
        sample = rng.sample(points, min(args.sample, len(points)))
        texts = [f"{p.payload['title']} > {p.payload['section']}\n{p.payload['text']}" for p in sample]
        index.embedder.encode(texts[:32])  # warm-up
        t0 = time.perf_counter()
        index.embedder.encode(texts)
        raw_rate = len(texts) / (time.perf_counter() - t0)

        latencies, embed_times = [], []
        for q in queries(args.queries):
            t0 = time.perf_counter()
            index.search("bench", q, k=5)
            latencies.append((time.perf_counter() - t0) * 1000)
            t1 = time.perf_counter()
            index.embedder.encode([q])
            embed_times.append((time.perf_counter() - t1) * 1000)
        chunks = index.count("bench")

    end_to_end = float(first["chunks_per_second"])  # type: ignore[arg-type]
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus": {"documents": args.documents, "chunks": chunks, "megabytes": round(size_mb, 2)},
        "ingest": {
            "chunks_per_second_end_to_end": end_to_end,
            "raw_encode_chunks_per_second": round(raw_rate, 2),
            "end_to_end_share_of_raw": round(end_to_end / raw_rate, 3),
            "seconds_in_run": first["seconds"],
            "seconds_wall_with_start_up": round(first_wall, 2),
            "stage_seconds": first["timings"],
            "peak_rss_mib": round(peak_mib),
        },
        "resync_unchanged": {
            "seconds_in_run": again["seconds"],
            "seconds_wall_with_start_up": round(again_wall, 2),
            "speedup_in_run": round(float(first["seconds"]) / max(float(again["seconds"]), 1e-6), 1),  # type: ignore[arg-type]
            "speedup_wall": round(first_wall / again_wall, 1),
        },
        "search_edge": {
            "chunks": chunks,
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
            "query_embedding_p50_ms": round(statistics.median(embed_times), 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    i, r, s = results["ingest"], results["resync_unchanged"], results["search_edge"]
    print(f"| corpus | {chunks} chunks, {args.documents} files, {size_mb:.1f} MB |")
    print(
        f"| ingest end to end | {i['chunks_per_second_end_to_end']} chunks/s "
        f"({i['end_to_end_share_of_raw']:.0%} of raw encode {i['raw_encode_chunks_per_second']} chunks/s) |"
    )
    print(f"| ingest peak RSS | {i['peak_rss_mib']} MiB |")
    print(
        f"| re-ingest unchanged | {r['seconds_in_run']} s ({r['speedup_in_run']}x faster; "
        f"{r['speedup_wall']}x with process start-up) |"
    )
    print(
        f"| search p50 / p95 | {s['p50_ms']} / {s['p95_ms']} ms "
        f"(query embedding p50 {s['query_embedding_p50_ms']} ms) |"
    )


if __name__ == "__main__":
    main()
