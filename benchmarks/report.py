"""The suite's results as Markdown tables: what README and the notes quote."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any]) -> str:
    """Every table, then the targets."""
    parts = [
        _machine(report),
        _ingest(report["scales"]),
        _resync(report["scales"]),
        _search(report["scales"]),
        _ask(report["scales"]),
        _http(report.get("http")),
        _baseline(report.get("baseline") or []),
        _growth(report.get("growth") or [], report["scales"]),
        _targets(report),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _k(chunks: int) -> str:
    return f"{chunks / 1000:.1f}k" if chunks < 10_000 else f"{chunks / 1000:.0f}k"


def _machine(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    took = report.get("suite_seconds", {}).get("all")
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, no GPU; Python {m['python']}; {versions}.\n"
        f"Embedder {s['embedding_model']} on {s['embedding_backend']} (batch {s['embedding_batch_size']}), chunks of "
        f"{s['chunk_tokens']} tokens, {s['index_backend']} backend, {s['retrieval_mode']} retrieval."
        + (f" The suite took {took / 60:.0f} min." if took else "")
    )


def _ingest(scales: list[dict[str, Any]]) -> str:
    rows = []
    for s in scales:
        i, st = s["ingest"], s["ingest"]["stage_seconds"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in st.items() if v >= 0.05)
        rows.append(
            [
                s["chunks"],
                s["files"],
                s["megabytes"],
                i["seconds"],
                i["chunks_per_s"],
                i["mb_per_s"],
                i["raw_embed_chunks_per_s"],
                f"{i['share_of_raw']:.0%}",
                i["peak_rss_mib"],
                stages,
            ]
        )
    head = ["chunks", "files", "MB", "ingest s", "chunks/s", "MB/s", "raw embedding chunks/s", "share of raw"]
    return "**Ingestion** (`aiops ingest` in a child process, end to end)\n\n" + _table(
        [*head, "peak RSS MiB", "stage seconds"], rows
    )


def _resync(scales: list[dict[str, Any]]) -> str:
    rows = []
    for s in scales:
        u, c, first = s["resync_unchanged"], s["resync_changed"], s["ingest"]["seconds"]
        rows.append(
            [
                s["chunks"],
                u["seconds"],
                f"{first / max(u['seconds'], 1e-3):,.0f}x",
                c["files_edited"],
                c["embedded"],
                c["reused"],
                c["seconds"],
                f"{c['share_of_first_ingest']:.1%}",
            ]
        )
    head = ["chunks", "unchanged s", "faster than first", "1%: files edited", "embedded", "reused", "s", "of first"]
    return "**Re-sync** (in the run, without process start-up)\n\n" + _table(head, rows)


def _search(scales: list[dict[str, Any]]) -> str:
    rows = []
    for s in scales:
        for layout, f in s["search"].items():
            engine = f["engine_ms"]
            rows.append(
                [
                    s["chunks"],
                    layout,
                    _ps(f["total_ms"]),
                    f["query_embedding_ms"]["p50"],
                    _ps(f["index_ms"]),
                    _ps(engine["tenant_filter"]),
                    _ps(engine["no_filter"]),
                ]
            )
    head = ["chunks", "orgs", "total", "query embedding p50", "index", "engine, tenant filter", "engine, no filter"]
    return (
        "**Search** (hybrid, k=5, ms p50 / p95 / p99; total = query embedding + index, what a caller waits for; "
        "engine = the Edge query alone, with the org's filter and with none; 100 orgs: the same points, each source "
        "in one of 100 orgs)\n\n" + _table(head, rows)
    )


def _ps(d: dict[str, float]) -> str:
    return f"{d['p50']:.2f} / {d['p95']:.2f} / {d['p99']:.2f}"


def _ask(scales: list[dict[str, Any]]) -> str:
    rows = []
    for s in scales:
        a = s["ask"]
        st = a["stages_ms"]
        rows.append(
            [
                s["chunks"],
                a["total_ms"]["p50"],
                a["total_ms"]["p95"],
                st.get("retrieval", {}).get("p50"),
                st.get("generation", {}).get("p50"),
                f"{a['answered']}/{a['questions']}",
            ]
        )
    head = ["chunks", "ask p50 ms", "p95 ms", "retrieval p50", "generation p50", "answered"]
    return "**Ask, in-process** (extractive, answer and query-vector caches off)\n\n" + _table(head, rows)


def _http(http: dict[str, Any] | None) -> str:
    if not http:
        return ""
    rows = [
        [
            r["clients"],
            r["requests"],
            r["errors"],
            r["answers_per_s"],
            r["latency_ms"].get("p50"),
            r["latency_ms"].get("p95"),
            r["latency_ms"].get("p99"),
        ]
        for r in http["runs"]
    ]
    return f"**Ask through the HTTP API** (`aiops serve` on loopback, {http['chunks']:,} chunks)\n\n" + _table(
        ["clients", "requests", "errors", "answers/s", "p50 ms", "p95 ms", "p99 ms"], rows
    )


def _baseline(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return ""
    rows = []
    for b in runs:
        o, t, r = b["ours"], b["baseline"], b["ratios"]
        rows.append(
            [
                b["chunks"],
                f"{o['chunks_per_s']} / {t['chunks_per_s']} ({r['build_speed']}x)",
                f"{o['search_ms']['p50']} / {t['search_ms']['p50']} ({r['search_p50_speed']}x)",
                f"{o['search_ms']['p95']} / {t['search_ms']['p95']} ({r['search_p95_speed']}x)",
                f"{o['hit_at_5']:.3f} / {t['hit_at_5']:.3f} ({r['hit_at_5_points']:+} points)",
            ]
        )
    queries = runs[0]["ours"]["queries"]
    return (
        "**Against the baseline** (ours / llama-index VectorStoreIndex over qdrant-client local mode with "
        f"HuggingFaceEmbedding of the same model; the sample corpora plus generated documents; {queries} golden "
        "questions)\n\n" + _table(["chunks", "build chunks/s", "search p50 ms", "search p95 ms", "hit@5"], rows)
    )


def _growth(rows: list[dict[str, Any]], scales: list[dict[str, Any]]) -> str:
    if len(scales) < 2:
        return ""
    sizes = [_k(s["chunks"]) for s in scales]
    steps = [f"per 10x, {a} to {b}" for a, b in zip(sizes, sizes[1:], strict=False)]
    table = [[r["figure"], *r["values"], *(s["per_10x"] for s in r["steps"])] for r in rows]
    return "**Growth per 10x chunks**\n\n" + _table(["figure", *sizes, *steps], table)


def targets(report: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets: (target, measured, met); None where the run did not measure it."""
    scales = report["scales"]
    found: list[tuple[str, str, bool | None]] = []
    if scales:
        shares = [s["ingest"]["share_of_raw"] for s in scales]
        found.append(
            (
                "ingestion >= 85% of raw embedding throughput",
                ", ".join(f"{_k(s['chunks'])}: {x:.0%}" for s, x in zip(scales, shares, strict=True)),
                min(shares) >= 0.85,
            )
        )
        largest = max(scales, key=lambda s: s["chunks"])
        p50s = {k: v["total_ms"]["p50"] for k, v in largest["search"].items()}
        found.append(
            (
                f"search p50 < 30 ms with query embedding at {_k(largest['chunks'])} chunks",
                ", ".join(f"{k}: {v:.1f} ms" for k, v in p50s.items()),
                max(p50s.values()) < 30 if largest["chunks"] >= 90_000 else None,
            )
        )
        ten = _near(scales, 10_000)
        found.append(
            (
                "ask p50 in-process < 60 ms at 10k chunks",
                f"{ten['ask']['total_ms']['p50']:.1f} ms" if ten else "not run",
                ten["ask"]["total_ms"]["p50"] < 60 if ten else None,
            )
        )
    base = _near(report.get("baseline") or [], 10_000)
    found.append(
        (
            ">= 10x faster search than the baseline at 10k, hit@5 equal or better",
            f"{base['ratios']['search_p50_speed']}x, hit@5 {base['ratios']['hit_at_5_points']:+} points"
            if base
            else "not run",
            base["ratios"]["search_p50_speed"] >= 10 and base["ratios"]["hit_at_5_points"] >= 0 if base else None,
        )
    )
    http = report.get("http")
    most = max(http["runs"], key=lambda r: r["clients"]) if http else None
    found.append(
        (
            "no errors under 32 concurrent clients",
            f"{most['errors']} errors in {most['requests']} requests at {most['clients']} clients"
            if most
            else "not run",
            most["errors"] == 0 if most and most["clients"] >= 32 else None,
        )
    )
    return found


def _near(runs: list[dict[str, Any]], chunks: int) -> dict[str, Any] | None:
    """The run within 20% of ``chunks``, if any."""
    close = [r for r in runs if abs(r["chunks"] - chunks) <= 0.2 * chunks]
    return close[0] if close else None


def _targets(report: dict[str, Any]) -> str:
    marks = {True: "met", False: "**not met**", None: "not measured in this run"}
    rows = [[t, m, marks[ok]] for t, m, ok in targets(report)]
    return "**Targets**\n\n" + _table(["target", "measured", ""], rows)
