"""`aiops eval run`: a golden set through the pipeline, scored, reported, compared and gated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from assistant.console import err, out, progress_bar
from index.records import SearchMode

EXIT_GATE = 11  # the run finished below the gate's floors

eval_app = typer.Typer(no_args_is_help=True, help="Offline answer-quality evals over golden sets.")

_MODES = ("hybrid", "dense", "bm25")
# the metrics shown in the terminal, with short column names (the reports have them all, named in full)
_SHOWN = {
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "mrr": "mrr",
    "citation_validity": "valid",
    "citation_recall": "cites",
    "fact_coverage": "facts",
    "abstention_accuracy": "abstain",
}


@eval_app.command("run")
def run(
    set_path: Annotated[
        Path | None, typer.Option("--set", help="A golden-set YAML file or a folder of them (default: the gate's).")
    ] = None,
    org: Annotated[list[str] | None, typer.Option("--org", help="Only this organization's cases (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only cases with this tag (repeatable).")] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Answering provider (default: the configured one).")
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="PROVIDER:MODEL judging faithfulness and relevancy (ragas), e.g. ollama:mistral."),
    ] = None,
    mode: Annotated[
        list[str] | None,
        typer.Option("--mode", help="Retrieval: hybrid, dense, bm25 or all (repeatable; the first is the main one)."),
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Folder with <org>/ sources and clusters/<org>-*/ dumps.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Use (and keep) this data folder instead of a fresh one.")
    ] = None,
    no_ingest: Annotated[
        bool, typer.Option("--no-ingest", help="With --data-dir: ask what is indexed, ingest nothing.")
    ] = False,
    no_tools: Annotated[bool, typer.Option("--no-tools", help="No live cluster tools: the index alone.")] = False,
    every: Annotated[int, typer.Option("--every", min=1, help="Every n-th case of each organization.")] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder of the reports and plots.")] = Path("eval-report"),
    baseline: Annotated[Path | None, typer.Option("--baseline", help="An earlier report.json to compare with.")] = None,
    gate: Annotated[
        Path | None, typer.Option("--gate", help="A gate file: its subset and floors; exit 11 below them.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on a malformed case or a missing expected source.")
    ] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Write no pictures.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
) -> None:
    """Run a golden set through the answering pipeline and write report.json, report.md, report.html and plots."""
    from core.settings import get_settings
    from evals import gate as gates
    from evals import report as reports
    from evals.runner import RunConfig
    from evals.session import evaluate

    chosen = _modes(mode)
    the_gate = gates.Gate.load(gate) if gate is not None else None
    if set_path is None and the_gate is None:
        raise typer.BadParameter("give --set FILE_OR_DIR (or --gate FILE)", param_hint="--set")
    if no_ingest and data_dir is None:
        raise typer.BadParameter("--no-ingest needs --data-dir (a fresh folder has nothing indexed)")
    if the_gate is not None and the_gate.mode not in chosen:
        chosen = (the_gate.mode, *chosen) if mode else (the_gate.mode,)
    config = RunConfig(
        set_path=set_path or cast(Any, the_gate).set,
        corpus=corpus,
        orgs=tuple(org or ()),
        tags=tuple(tag or ()),
        every=every if the_gate is None or every != 1 else the_gate.every,
        always=the_gate.always if the_gate is not None else (),
        provider=provider,
        modes=chosen,
        tools=not no_tools,
        data_dir=data_dir,
        ingest=not no_ingest,
        strict=strict,
    )
    earlier = reports.load(baseline) if baseline is not None else None
    with progress_bar() as bar:
        task = bar.add_task("evaluating", total=None)
        done = evaluate(
            config,
            get_settings(),
            out_dir,
            judge=judge,
            baseline=earlier,
            baseline_path=str(baseline) if baseline else None,
            gate=the_gate,
            draw=not no_plots,
            progress=lambda what, n, total: bar.update(task, completed=n, total=total, description=what[-48:]),
        )
    if as_json:
        print(json.dumps(done.report, indent=2, ensure_ascii=False))
    else:
        _print(done.report, done.written)
    for c in done.checks:
        (out if c.ok else err).print(f"gate: {c}", highlight=False, markup=False)
    if not done.passed:
        raise typer.Exit(EXIT_GATE)


def _modes(given: list[str] | None) -> tuple[SearchMode, ...]:
    names: list[str] = []
    for item in given or ["hybrid"]:
        for name in _MODES if item == "all" else [item]:
            if name not in _MODES:
                raise typer.BadParameter(f"{name!r} is not one of hybrid, dense, bm25, all", param_hint="--mode")
            if name not in names:
                names.append(name)
    return cast(tuple[SearchMode, ...], tuple(names))


def _print(report: dict[str, Any], written: list[Path]) -> None:
    run = report["run"]
    for problem in run["skipped"]:
        err.print(f"[yellow]skipped[/] {problem['id']} ({problem['file']}): {problem['reason']}", highlight=False)
    for metric, why in run["not_computed"].items():
        err.print(f"[yellow]not computed[/] {metric}: {why}", highlight=False)
    modes = report["modes"]
    main = next(iter(modes))
    table = Table(title=f"{run['cases']} cases, {main} retrieval, provider {run['provider']}")
    table.add_column("tag", no_wrap=True)
    for column in ("cases", *_SHOWN.values(), "leaks"):
        table.add_column(column, justify="right")
    for tag, summary in modes[main]["summary"].items():
        means = summary["means"]
        table.add_row(tag, str(summary["cases"]), *(_cell(means.get(m)) for m in _SHOWN), str(summary["leaks"]))
    out.print(table)
    if len(modes) > 1:
        compared = Table(title="retrieval modes (all cases; ms: retrieval p50)")
        compared.add_column("mode", no_wrap=True)
        for column in (*_SHOWN.values(), "ms"):
            compared.add_column(column, justify="right")
        for name, data in modes.items():
            means = data["summary"]["all"]["means"]
            p50 = data["latency_ms"].get("retrieval_ms", {}).get("p50")
            compared.add_row(name, *(_cell(means.get(m)) for m in _SHOWN), _cell(p50, 1))
        out.print(compared)
    comparison = report.get("comparison")
    if comparison is not None:
        out.print(
            f"against {comparison['baseline']}: {len(comparison['moved'])} means moved, "
            f"{len(comparison['flipped'])} checks flipped",
            highlight=False,
        )
    out.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


def _cell(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"
