"""`ask` latency benchmark (issue 4): run with `make bench` or `python benchmarks/ask.py`.

Ingests the sample corpora into a fresh data directory, then asks every single-turn golden question (cluster cases
aside) in-process with the extractive provider, ``--rounds`` times with the answer cache and the query-vector
cache off, and once more with the answer cache on. Reports p50/p95 of retrieval, generation, validation and total,
and of a cached answer. Results go to benchmarks/results/ask.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.database import Database  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from core.settings import Settings  # noqa: E402
from evals.golden import load_cases  # noqa: E402
from index.factory import open_index  # noqa: E402
from ingest.sync import ingest_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("retrieval_ms", "generation_ms", "validation_ms", "total_ms")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def run(rounds: int) -> dict[str, object]:
    """Ingest, warm up, then time every question."""
    cases = [c for c in load_cases(ROOT / "corpora" / "evals") if "cluster" not in c.tags and not c.history]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), answer_cache_ttl_s=0)
        cached_settings = Settings(data_dir=Path(tmp))
        with open_index(settings) as index:
            for org in sorted({c.org for c in cases}):
                ingest_path(index, settings, org, ROOT / "corpora" / org)
            assistant = Assistant(index, settings, Database())
            assistant.ask(cases[0].org, cases[0].question)  # loads the model
            timings: dict[str, list[float]] = {s: [] for s in STAGES}
            wall: list[float] = []
            for _ in range(rounds):
                for case in cases:
                    index.forget_queries()  # every ask embeds its question, as a new question would
                    t0 = time.perf_counter()
                    answer = assistant.ask(case.org, case.question)
                    wall.append((time.perf_counter() - t0) * 1000)
                    for stage in STAGES:
                        if stage in answer.timings:
                            timings[stage].append(answer.timings[stage])
            caching = Assistant(index, cached_settings, Database())
            cached: list[float] = []
            for case in cases:
                caching.ask(case.org, case.question)
                t0 = time.perf_counter()
                assert caching.ask(case.org, case.question).cached
                cached.append((time.perf_counter() - t0) * 1000)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "questions": len(cases),
        "rounds": rounds,
        "stages": {s: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)} for s, v in timings.items() if v},
        "wall_ms": {"p50": percentile(wall, 0.5), "p95": percentile(wall, 0.95)},
        "cached_ms": {"p50": percentile(cached, 0.5), "p95": percentile(cached, 0.95)},
    }


def main() -> None:
    """Run and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = run(args.rounds)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ask.json").write_text(json.dumps(result, indent=2))
    print(f"ask (extractive, in-process), {result['questions']} questions x {result['rounds']} rounds\n")
    print("| stage | p50 ms | p95 ms |\n|---|---|---|")
    for stage, v in result["stages"].items():  # type: ignore[attr-defined]
        print(f"| {stage.removesuffix('_ms')} | {v['p50']} | {v['p95']} |")
    for name in ("wall_ms", "cached_ms"):
        v = result[name]
        print(f"| {name.removesuffix('_ms')} | {v['p50']} | {v['p95']} |")  # type: ignore[index]


if __name__ == "__main__":
    main()
