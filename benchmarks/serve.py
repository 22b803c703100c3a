"""The service under concurrent clients: `aiops serve` on loopback over an ingested data folder.

Extractive provider, answer cache off and every question new (every request runs the whole pipeline, query embedding
included), rate limits lifted for the run; each client has its own viewer key and asks its questions one after another.
Reported per number of clients: throughput, latency p50/p95/p99 and errors, with what the server spent per stage.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from benchmarks.common import AIOPS, data_env, latency
from core.settings import Settings

_STAGE = re.compile(r'aiops_answer_stage_seconds_sum\{stage="(\w+)"\} ([\d.e+-]+)')


def load(data: Path, org: str, questions: list[str], clients: list[int], requests: int) -> list[dict[str, Any]]:
    """For each number of clients, ``max(requests, clients * 4)`` questions shared among them; no question is asked
    twice in the whole load (the server keeps a query-vector cache: a repeat would skip the model)."""
    totals = [max(requests, count * 4) for count in clients]
    if len(set(questions)) < sum(totals) + 1:
        raise ValueError(f"the load needs {sum(totals) + 1} distinct questions, {len(set(questions))} given")
    unique = iter(dict.fromkeys(questions))
    tokens = _keys(data, org, max(clients))
    env = data_env(
        data,
        AIOPS_ANSWER_CACHE_TTL_S="0",
        AIOPS_ORG_REQUESTS_PER_MINUTE="0",  # limits are lifted: the load measures the pipeline, not the quotas
        AIOPS_USER_REQUESTS_PER_MINUTE="0",
        AIOPS_ORG_CONCURRENT_REQUESTS="0",
    )
    port = _port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen([*AIOPS, "serve", "--port", str(port)], env=env, stdout=log, stderr=log, text=True)
        try:
            _ready(base, server, log)
            asyncio.run(_clients(base, tokens[:1], [next(unique)]))  # warm-up: the PII analyzer loads
            return [
                _run(base, tokens[:count], [next(unique) for _ in range(total)])
                for count, total in zip(clients, totals, strict=True)
            ]
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _run(base: str, tokens: list[str], questions: list[str]) -> dict[str, Any]:
    before = _stages(base)
    started = time.perf_counter()
    latencies, errors = asyncio.run(_clients(base, tokens, questions))
    elapsed = time.perf_counter() - started
    after = _stages(base)
    return {
        "clients": len(tokens),
        "requests": len(questions),
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(elapsed, 2),
        "answers_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": latency(latencies),
        "server_stage_seconds": {k: round(after[k] - before.get(k, 0.0), 2) for k in after},
    }


def _keys(data: Path, org: str, count: int) -> list[str]:
    from assistant.auth import KeyStore
    from assistant.database import Database

    db = Database.for_settings(Settings(data_dir=data))
    try:
        store = KeyStore(db)
        return [store.create(org, f"bench-{n}", ["viewer"])[1] for n in range(count)]
    finally:
        db.close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(base: str, server: subprocess.Popen[str], log: IO[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"aiops serve exited: {log.read()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("aiops serve was not ready in 5 minutes")


def _stages(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {m.group(1): float(m.group(2)) for m in _STAGE.finditer(text)}


async def _clients(base: str, tokens: list[str], questions: list[str]) -> tuple[list[float], list[str]]:
    """The questions dealt round-robin to one client per token, all clients at once."""
    latencies: list[float] = []
    errors: list[str] = []
    dealt = [questions[n :: len(tokens)] for n in range(len(tokens))]
    await asyncio.gather(*(_client(base, t, mine, latencies, errors) for t, mine in zip(tokens, dealt, strict=True)))
    return latencies, errors


async def _client(base: str, token: str, questions: list[str], latencies: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
        for question in questions:
            started = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": question})
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:120]}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
