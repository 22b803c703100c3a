"""What every benchmark shares: the machine it ran on, latency summaries, a child process's peak memory, results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.settings import Settings  # noqa: E402
from evals.metrics import percentiles  # noqa: E402
from index.records import embed_text  # noqa: E402

AIOPS = [sys.executable, "-m", "assistant"]


def machine() -> dict[str, Any]:
    """CPU, cores, memory and the versions that shape the figures."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )
    mem_kib = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0)
    versions = {}
    for package in ("onnxruntime", "qdrant-edge-py", "qdrant-client", "llama-index-core", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def edge_settings(data: Path, **overrides: Any) -> Settings:
    """The settings of a benchmark's data folder on the embedded backend."""
    return Settings(data_dir=data, index_backend="edge", **overrides)


def data_env(data: Path, **variables: str) -> dict[str, str]:
    """The environment of an `aiops` child on that data folder."""
    return {**os.environ, "AIOPS_DATA_DIR": str(data), "AIOPS_INDEX_BACKEND": "edge", **variables}


def stored_embed_text(payload: dict[str, Any]) -> str:
    """What ingestion embedded for a stored chunk."""
    return embed_text(str(payload.get("title")), str(payload.get("section") or ""), str(payload.get("text")))


def latency(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 of milliseconds, with how many there were."""
    return {**percentiles(values, (50, 95, 99)), "n": len(values)}


def since(started: float) -> float:
    """Milliseconds since a perf_counter reading."""
    return (time.perf_counter() - started) * 1000


def run_child(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run a command; its stdout, wall seconds and its own peak RSS in MiB (os.wait4 reaps this child only)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        assert child.stdout is not None
        out = child.stdout.read()  # to the end: the child has exited or closed its stdout
        child.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args[2:])} failed ({child.returncode}): {err.read()[-2000:]}")
    return out, time.perf_counter() - started, usage.ru_maxrss / 1024


def write_results(name: str, data: dict[str, Any], markdown: str, out: Path = RESULTS) -> Path:
    """``<name>.json`` and ``<name>.md`` under ``out``; returns the JSON path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown)
    return out / f"{name}.json"
