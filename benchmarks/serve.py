"""Service benchmark (issue 5): `python benchmarks/serve.py [--clients 20] [--requests 15]` (also in `make bench`).

Ingests the sample corpora into a fresh data directory, starts `aiops serve` on loopback (extractive provider, answer
cache off, so every request runs the whole pipeline), gives each client its own viewer key (per-user rate limits are
per person; the org limits are lifted for the run), and has ``--clients`` concurrent clients each ask ``--requests``
golden questions over HTTP. Reports throughput, p50/p95/p99 latency and errors; JSON to benchmarks/results/serve.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.golden import load_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(
    base: str, token: str, questions: list[tuple[str, str]], latencies: list[float], errors: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
        for _org, question in questions:
            started = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": question})
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:120]}")
                    continue
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            latencies.append((time.perf_counter() - started) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=15, help="Questions per client.")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="aiops-serve-bench-"))
    env = os.environ | {
        "AIOPS_DATA_DIR": str(data),
        "AIOPS_ANSWER_CACHE_TTL_S": "0",
        "AIOPS_ORG_REQUESTS_PER_MINUTE": "0",
        "AIOPS_ORG_CONCURRENT_REQUESTS": "0",
    }
    aiops = [sys.executable, "-m", "assistant"]
    for org in ("northwind", "orbital"):
        subprocess.run([*aiops, "ingest", str(ROOT / "corpora" / org), "--org", org], env=env, check=True)
    tokens = []
    for n in range(args.clients):
        org = ("northwind", "orbital")[n % 2]
        created = subprocess.run(
            [*aiops, "keys", "create", "--org", org, "--user", f"bench-{n}", "--role", "viewer", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tokens.append((org, json.loads(created.stdout)["token"]))
    cases = [c for c in load_cases(ROOT / "corpora" / "evals") if "cluster" not in c.tags and not c.history]
    port = _port()
    server = subprocess.Popen([*aiops, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        latencies: list[float] = []
        errors: list[str] = []

        async def run_all() -> float:
            jobs = []
            for n, (org, token) in enumerate(tokens):
                mine = [c for c in cases if c.org == org]
                questions = [(org, mine[(n * 7 + i) % len(mine)].question) for i in range(args.requests)]
                jobs.append(_client(base, token, questions, latencies, errors))
            started = time.perf_counter()
            await asyncio.gather(*jobs)
            return time.perf_counter() - started

        asyncio.run(_client(base, tokens[0][1], [("", "warm up")], [], []))
        elapsed = asyncio.run(run_all())
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        server.terminate()
        server.wait(timeout=60)
        if server.stderr:
            server.stderr.close()
    total = args.clients * args.requests
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "clients": args.clients,
        "requests": total,
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(latencies) / elapsed, 2),
        "latency_ms": {q: percentile(latencies, p) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "server_stage_sum_s": {
            m.group(1): float(m.group(2))
            for m in re.finditer(r'aiops_answer_stage_seconds_sum\{stage="(\w+)"\} ([\d.e+-]+)', metrics)
        },
    }
    out = ROOT / "benchmarks" / "results" / "serve.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["latency_ms"]
    print("| clients | requests | errors | throughput | p50 | p95 | p99 |\n|---|---|---|---|---|---|---|")
    print(
        f"| {args.clients} | {total} | {result['errors']} | {result['throughput_rps']} req/s | {lat['p50']} ms | "
        f"{lat['p95']} ms | {lat['p99']} ms |"
    )


if __name__ == "__main__":
    main()
