"""The suite's report: growth per 10x and the targets are computed from the figures, not asserted by hand."""

from __future__ import annotations

from typing import Any

from benchmarks.report import render, targets
from benchmarks.suite import growth


def _lat(p50: float) -> dict[str, float]:
    return {"p50": p50, "p95": p50 * 1.5, "p99": p50 * 2, "n": 10}


def _scale(chunks: int, chunks_per_s: float, share: float, search_p50: float, ask_p50: float) -> dict[str, Any]:
    search = {
        "query_embedding_ms": _lat(2.0),
        "index_ms": _lat(search_p50 - 2),
        "engine_ms": {"tenant_filter": _lat(search_p50 - 2.5), "no_filter": _lat(1.0)},
        "total_ms": _lat(search_p50),
    }
    resync = {"seconds": 0.5, "embedded": 3, "reused": 9, "share_of_first_ingest": 0.01, "files_edited": 2}
    return {
        "chunks": chunks,
        "files": chunks // 7,
        "megabytes": chunks / 2000,
        "ingest": {
            "seconds": chunks / chunks_per_s,
            "chunks_per_s": chunks_per_s,
            "mb_per_s": 0.03,
            "raw_embed_chunks_per_s": chunks_per_s / share,
            "share_of_raw": share,
            "stage_seconds": {"embed": 1.0},
            "peak_rss_mib": 900,
        },
        "resync_unchanged": resync,
        "resync_changed": resync,
        "search": {"1 org": search, "100 orgs": search},
        "ask": {
            "total_ms": _lat(ask_p50),
            "stages_ms": {"retrieval": _lat(ask_p50 / 2)},
            "answered": 9,
            "questions": 10,
        },
    }


def _report(scales: list[dict[str, Any]], errors: int = 0) -> dict[str, Any]:
    run = {"clients": 32, "requests": 128, "errors": errors, "answers_per_s": 30.0, "latency_ms": _lat(900.0)}
    figures = {"chunks_per_s": 50.0, "search_ms": _lat(4.0), "hit_at_5": 0.95, "queries": 96}
    base = {"chunks_per_s": 25.0, "search_ms": _lat(80.0), "hit_at_5": 0.94}
    ratios = {"build_speed": 2.0, "search_p50_speed": 20.0, "search_p95_speed": 20.0, "hit_at_5_points": 1.0}
    return {
        "machine": {"cpu": "test", "cores": 2, "memory_gib": 24, "python": "3.11", "versions": {}},
        "settings": {
            "embedding_model": "m",
            "embedding_backend": "onnx-int8",
            "embedding_batch_size": 32,
            "chunk_tokens": 200,
            "index_backend": "edge",
            "retrieval_mode": "hybrid",
        },
        "scales": scales,
        "http": {"chunks": 10_000, "runs": [run]},
        "baseline": [{"chunks": 10_100, "ours": figures, "baseline": base, "ratios": ratios}],
        "growth": growth(scales),
    }


def test_growth_is_per_10x_even_between_sizes_that_are_not_10x_apart() -> None:
    rows = {r["figure"]: r for r in growth([_scale(1_000, 50, 0.9, 4, 10), _scale(100_000, 50, 0.9, 16, 40)])}
    assert rows["search p50 ms (1 org)"]["steps"][0]["per_10x"] == 2.0  # 4x over 100x: 2x per 10x
    assert rows["ingest chunks/s"]["values"] == [50.0, 50.0]


def test_targets_are_judged_on_the_measured_figures() -> None:
    good = _report([_scale(1_000, 50, 0.9, 4, 10), _scale(10_000, 48, 0.88, 5, 20), _scale(100_000, 45, 0.86, 9, 30)])
    assert [met for _, _, met in targets(good)] == [True, True, True, True, True]
    slow = _report([_scale(10_000, 40, 0.7, 5, 80), _scale(100_000, 40, 0.9, 35, 90)], errors=2)
    assert [met for _, _, met in targets(slow)] == [False, False, False, True, False]
    small = _report([_scale(1_000, 50, 0.9, 4, 10)])
    assert targets(small)[1][2] is None  # search at 100k was not measured: neither met nor missed


def test_the_markdown_has_every_table() -> None:
    text = render(_report([_scale(1_000, 50, 0.9, 4, 10), _scale(10_000, 48, 0.88, 5, 20)]))
    for title in ("**Ingestion**", "**Re-sync**", "**Search**", "**Ask, in-process**", "HTTP API", "baseline", "10x"):
        assert title in text
    assert "| 10,000 | 1 org |" in text and "| met |" in text
