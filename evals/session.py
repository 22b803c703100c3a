"""One evaluation from configuration to files: run the cases, add the ragas metrics, build the report (compared with
a baseline and checked against a gate when given), draw the plots and write everything to the report folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.settings import Settings
from evals import plots
from evals import report as reports
from evals.gate import Check, Gate, check
from evals.runner import Evaluation, MakeAssistant, Progress, RunConfig
from index.knowledge import KnowledgeIndex


@dataclass
class Evaluated:
    """The report, the files written and the gate's checks (none without a gate)."""

    report: dict[str, Any]
    written: list[Path]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True without a gate, or when every check of the gate holds."""
        return all(c.ok for c in self.checks)


def evaluate(
    config: RunConfig,
    settings: Settings,
    out: Path,
    *,
    judge: str | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_path: str | None = None,
    gate: Gate | None = None,
    draw: bool = True,
    progress: Progress | None = None,
    index: KnowledgeIndex | None = None,
    make_assistant: MakeAssistant | None = None,
) -> Evaluated:
    """Run, score, report and write (see the module docstring)."""
    from evals.ragas_metrics import RagasScorer

    scorer = RagasScorer(settings, judge)
    evaluation = Evaluation(
        config, settings, index=index, make_assistant=make_assistant, progress=progress, scorers=[scorer]
    )
    try:
        run = evaluation.run()
    finally:
        scorer.close()
    run.not_computed.update(scorer.not_computed)
    report = reports.build(run, baseline, baseline_path)
    checks = check(gate, report) if gate is not None else []
    if gate is not None:
        report["gate"] = {"passed": all(c.ok for c in checks), "checks": [vars(c) for c in checks]}
    pictures = plots.draw(report, out) if draw else []
    return Evaluated(report, [*reports.write(report, out, pictures), *pictures], checks)
