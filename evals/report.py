"""The report of a run: one JSON document (what scripts, the gate and later comparisons read), and the same content
for people as Markdown and HTML, with the per-tag table, the retrieval-mode comparison, latency, the worst cases with
what they retrieved, and what moved against a baseline report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from evals.document import Block, Doc, Image, Table, Text
from evals.metrics import CaseScore, by_tag, hit_at, percentiles, recall_at
from evals.runner import CaseResult, RunResult

SCHEMA = "aiops-eval/1"
CURVE_KS = tuple(range(1, 11))
STAGES = ("tools_ms", "retrieval_ms", "generation_ms", "validation_ms", "total_ms")
MOVED = 0.005  # a mean that changed by at least half a point has moved
WORST = 10
# the columns of the tables, in this order, where measured
HEADLINE = (
    "hit@1",
    "hit@5",
    "recall@5",
    "mrr",
    "ndcg@5",
    "citation_validity",
    "cited",
    "citation_precision",
    "citation_recall",
    "fact_coverage",
    "fact_coverage_semantic",
    "abstention_accuracy",
)


def verdicts(metrics: Mapping[str, float | None], leaks: int) -> dict[str, bool]:
    """The pass/fail checks of one case (those that apply): what a flip between two runs is about."""
    checks = {
        "retrieval": metrics.get("hit@5"),
        "cites expected": None if metrics.get("citation_recall") is None else float(bool(metrics["citation_recall"])),
        "facts": metrics.get("fact_coverage"),
        "abstention": metrics.get("abstention_accuracy"),
    }
    found = {name: value == 1.0 for name, value in checks.items() if value is not None}
    found["no leak"] = leaks == 0
    return found


def build(
    run: RunResult, baseline: Mapping[str, Any] | None = None, baseline_path: str | None = None
) -> dict[str, Any]:
    """The JSON report of a run (compared with ``baseline`` when given)."""
    s = run.settings
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "run": {
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "set": str(run.config.set_path),
            "modes": list(run.config.modes),
            "provider": s.provider,
            "tools": run.config.tools,
            "cases": len(run.cases),
            "skipped": [{"id": p.case_id, "file": p.file, "reason": p.reason} for p in run.problems],
            "seconds": run.seconds,
            "ingest_seconds": run.ingest_seconds,
            "ingested": [
                {
                    "org": i.org,
                    "root": i.root,
                    "chunks": i.chunks,
                    "embedded": i.embedded,
                    "failed": len(i.failed),
                    "seconds": round(i.seconds, 2),
                }
                for i in run.ingested
            ],
            "settings": {
                k: getattr(s, k)
                for k in (
                    "embedding_model",
                    "chunk_tokens",
                    "chunk_overlap",
                    "retrieval_k",
                    "context_tokens",
                    "min_similarity",
                )
            },
            "not_computed": dict(run.not_computed),
        },
        "modes": {mode: _mode(results) for mode, results in run.results.items()},
    }
    if baseline is not None:
        report["comparison"] = compare(report, baseline) | {"baseline": baseline_path}
    return report


def _mode(results: Sequence[CaseResult]) -> dict[str, Any]:
    scores = [CaseScore(r.case.id, r.score.tags, {**r.score.values, **r.extra}, r.score.leaks) for r in results]
    judged = [r for r in results if r.case.answerable and r.case.expected_sources]
    pairs = [([x.source_id for x in r.retrieved], r.case.expected_sources) for r in judged]
    curves = {
        "k": list(CURVE_KS),
        "recall": [_mean(recall_at(ids, wanted, k) for ids, wanted in pairs) for k in CURVE_KS],
        "hit": [_mean(hit_at(ids, wanted, k) for ids, wanted in pairs) for k in CURVE_KS],
    }
    latency = {
        stage: percentiles(values) | {"n": len(values)}
        for stage in STAGES
        if (values := [r.timings[stage] for r in results if stage in r.timings])
    }
    return {
        "summary": {tag: vars(summary) for tag, summary in by_tag(scores).items()},
        "latency_ms": latency,
        "curves": curves,
        "errors": sum(r.status == "error" for r in results),
        "cases": [_case(r, s) for r, s in zip(results, scores, strict=True)],
    }


def _case(r: CaseResult, s: CaseScore) -> dict[str, Any]:
    return {
        "id": r.case.id,
        "org": r.case.org,
        "tags": list(r.case.tags),
        "question": r.case.question,
        "history": list(r.case.history),
        "answerable": r.case.answerable,
        "expected_sources": list(r.case.expected_sources),
        "expected_facts": list(r.case.expected_facts),
        "status": r.status,
        "provider": r.provider,
        "answer": r.answer,
        "retrieved": [
            {"source_id": x.source_id, "section": x.section, "similarity": x.similarity, "live": x.live}
            for x in r.retrieved
        ],
        "cited": list(dict.fromkeys(r.cited)),
        "tool_calls": r.tool_calls,
        "timings": r.timings,
        "warnings": r.warnings,
        "metrics": dict(s.values),
        "verdicts": verdicts(s.values, s.leaks),
        "leaks": s.leaks,
        "foreign": r.foreign,
        "error": r.error,
    }


def _mean(values: Any) -> float:
    found = list(values)
    return round(sum(found) / len(found), 4) if found else 0.0


# -- comparison with a baseline ---------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """A report written earlier (a clear error when it is not one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the report {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InvalidInputError(f"{path} is not an eval report ({SCHEMA})")
    return data


def compare(report: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """The means that moved (per mode and tag) and the cases whose checks flipped, against ``baseline``."""
    moved = []
    flipped = []
    for mode, now in report["modes"].items():
        before = baseline.get("modes", {}).get(mode)
        if before is None:
            continue
        for tag, summary in now["summary"].items():
            old = before["summary"].get(tag, {}).get("means", {})
            for metric, value in summary["means"].items():
                if metric in old and abs(value - old[metric]) >= MOVED:
                    moved.append(
                        {"mode": mode, "tag": tag, "metric": metric, "before": old[metric], "after": value}
                        | {"delta": round(value - old[metric], 4)}
                    )
            leaks_before = before["summary"].get(tag, {}).get("leaks")
            if tag == "all" and leaks_before is not None and leaks_before != summary["leaks"]:
                moved.append(
                    {"mode": mode, "tag": tag, "metric": "leaks", "before": leaks_before, "after": summary["leaks"]}
                    | {"delta": summary["leaks"] - leaks_before}
                )
        earlier = {c["id"]: c for c in before["cases"]}
        for case in now["cases"]:
            old_case = earlier.get(case["id"])
            if old_case is None:
                continue
            for check, ok in case["verdicts"].items():
                was = old_case.get("verdicts", {}).get(check)
                if was is not None and was != ok:
                    flipped.append({"mode": mode, "id": case["id"], "check": check, "now": "pass" if ok else "fail"})
    new_ids = {c["id"] for m in report["modes"].values() for c in m["cases"]}
    old_ids = {c["id"] for m in baseline.get("modes", {}).values() for c in m["cases"]}
    return {
        "moved": moved,
        "flipped": flipped,
        "new_cases": sorted(new_ids - old_ids),
        "gone_cases": sorted(old_ids - new_ids),
    }


# -- the document for people ------------------------------------------------------------------------------------


def document(report: Mapping[str, Any], plots: Sequence[Path] = ()) -> Doc:
    """The report as a document (rendered to Markdown and HTML)."""
    run = report["run"]
    modes = list(report["modes"])
    main = report["modes"][modes[0]]
    blocks: list[Block] = [
        Text(
            f"Golden set `{run['set']}`: {run['cases']} cases, provider `{run['provider']}`, retrieval "
            f"{', '.join(f'`{m}`' for m in modes)}{'' if run['tools'] else ', no live tools'}; "
            f"{run['seconds']:.0f} s in all, {run['ingest_seconds']:.0f} s of it ingesting "
            f"({sum(i['chunks'] for i in run['ingested'])} chunks). Finished {run['finished_at']}."
        )
    ]
    if run["skipped"]:
        blocks.append(Text(f"Skipped {len(run['skipped'])} cases:", heading=3))
        blocks.append(Table(["case", "file", "why"], [[p["id"], p["file"], p["reason"]] for p in run["skipped"]]))
    if run["not_computed"]:
        blocks.append(Text("Not computed: " + "; ".join(f"{k} ({v})" for k, v in run["not_computed"].items())))
    if main["errors"]:
        blocks.append(Text(f"{main['errors']} cases failed to run (see the cases' `error`)."))
    blocks += [Text(f"Per tag (`{modes[0]}`)", heading=2), _tag_table(main["summary"])]
    if len(modes) > 1:
        blocks += [Text("Retrieval modes", heading=2), _mode_table(report["modes"])]
    blocks += [Text("Latency (ms)", heading=2), _latency_table(report["modes"])]
    blocks += [Image(p.name, p.stem.replace("_", " ")) for p in plots]
    if "comparison" in report:
        blocks += _comparison(report["comparison"])
    if "gate" in report:
        gate = report["gate"]
        blocks.append(Text(f"Gate: {'passed' if gate['passed'] else 'FAILED'}", heading=2))
        checks = gate["checks"]
        rows = [[c["scope"], c["metric"], _cell(c["value"]), c["limit"], "ok" if c["ok"] else "FAIL"] for c in checks]
        blocks.append(Table(["scope", "metric", "value", "limit", "check"], rows))
    blocks += _worst(main["cases"])
    return Doc(f"Answer-quality eval: {Path(run['set']).name}", blocks)


def _metrics_in(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {m for s in summaries for m in s["means"]}
    return [m for m in HEADLINE if m in present] + sorted(present - set(HEADLINE) - _HIDDEN)


_HIDDEN = {f"{name}@{k}" for name in ("hit", "recall", "ndcg") for k in (3, 10)} | {"recall@1", "ndcg@1"}


def _tag_table(summary: Mapping[str, Any]) -> Table:
    metrics = _metrics_in(list(summary.values()))
    rows = [[tag, s["cases"], *(_cell(s["means"].get(m)) for m in metrics), s["leaks"]] for tag, s in summary.items()]
    return Table(["tag", "cases", *metrics, "leaks"], rows)


def _mode_table(modes: Mapping[str, Any]) -> Table:
    metrics = _metrics_in([m["summary"]["all"] for m in modes.values()])
    rows = [
        [mode, *(_cell(m["summary"]["all"]["means"].get(x)) for x in metrics), m["summary"]["all"]["leaks"]]
        + [_cell(m["latency_ms"].get("retrieval_ms", {}).get("p50"), 1)]
        for mode, m in modes.items()
    ]
    return Table(["mode", *metrics, "leaks", "retrieval p50 ms"], rows)


def _latency_table(modes: Mapping[str, Any]) -> Table:
    rows = []
    for mode, m in modes.items():
        for stage, q in m["latency_ms"].items():
            rows.append([mode, stage.removesuffix("_ms"), q["n"], _cell(q.get("p50"), 1), _cell(q.get("p95"), 1)])
    return Table(["mode", "stage", "answers", "p50", "p95"], rows)


def _comparison(comparison: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = [Text(f"Against the baseline `{comparison.get('baseline')}`", heading=2)]
    moved = sorted(
        (m for m in comparison["moved"] if m["metric"] not in _HIDDEN),
        key=lambda m: (m["tag"] != "all", -abs(m["delta"])),
    )
    if moved:
        rows = [
            [m["mode"], m["tag"], m["metric"], _cell(m["before"]), _cell(m["after"]), f"{m['delta']:+.3f}"]
            for m in moved
        ]
        blocks.append(Table(["mode", "tag", "metric", "before", "after", "change"], rows))
    else:
        blocks.append(Text(f"No mean moved by {MOVED} or more."))
    flipped = comparison["flipped"]
    if flipped:
        blocks.append(Text(f"{len(flipped)} checks flipped:", heading=3))
        rows = [[f["mode"], f["id"], f["check"], f["now"]] for f in flipped]
        blocks.append(Table(["mode", "case", "check", "now"], rows))
    else:
        blocks.append(Text("No case flipped."))
    for key, label in (("new_cases", "New cases"), ("gone_cases", "Cases no longer in the set")):
        if comparison.get(key):
            blocks.append(Text(f"{label}: {', '.join(comparison[key])}"))
    return blocks


def _badness(case: Mapping[str, Any]) -> tuple[float, ...]:
    failed = sum(not ok for ok in case["verdicts"].values())
    m = case["metrics"]
    return (-failed, m.get("mrr") or 0.0, m.get("fact_coverage") or 0.0, m.get("citation_recall") or 0.0)


def _worst(cases: Sequence[Mapping[str, Any]]) -> list[Block]:
    failing = sorted((c for c in cases if not all(c["verdicts"].values())), key=_badness)[:WORST]
    blocks: list[Block] = [Text(f"Worst cases ({len(failing)} shown)", heading=2)]
    if not failing:
        return [*blocks, Text("Every case passed every check.")]
    for c in failing:
        failed = ", ".join(k for k, ok in c["verdicts"].items() if not ok)
        blocks.append(Text(f"{c['id']}: {failed}", heading=3))
        asked = " / ".join([*c["history"], c["question"]])
        blocks.append(
            Text(
                f"Asked: {asked} | expected: {', '.join(c['expected_sources']) or '(no answer)'} | "
                f"status `{c['status']}`, cited: {', '.join(c['cited']) or 'nothing'}"
                + (f" | facts wanted: {', '.join(c['expected_facts'])}" if c["expected_facts"] else "")
                + (f" | error: {c['error']}" if c["error"] else "")
            )
        )
        rows = [
            [n, r["source_id"] + (" (live)" if r["live"] else ""), r["section"], f"{r['similarity']:.3f}"]
            for n, r in enumerate(c["retrieved"][:8], 1)
        ]
        if rows:
            blocks.append(Table(["#", "retrieved", "section", "similarity"], rows))
    return blocks


def _cell(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write(report: Mapping[str, Any], out: Path, plots: Sequence[Path] = ()) -> list[Path]:
    """report.json, report.md and report.html in ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    doc = document(report, plots)
    files = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
        "report.md": doc.markdown(),
        "report.html": doc.html(),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]
