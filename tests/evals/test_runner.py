"""The eval runner on a small two-organization corpus: real ingestion, the real pipeline, real reports; bad cases
reported and skipped; a leaking pipeline caught; the command line with a gate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.answers import Workspace
from assistant.context import ContextSource, build_context
from assistant.database import Database
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from assistant.tools.investigation import Investigation, Investigator
from core.errors import InvalidInputError
from core.settings import Settings
from evals.gate import Gate, check
from evals.runner import MakeAssistant
from evals.session import Evaluated
from index.knowledge import KnowledgeIndex
from index.records import SearchHit, Visibility
from tests.evals.conftest import Run


@pytest.fixture(scope="module")
def evaluated(run_eval: Run, tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    return run_eval(tmp_path_factory.mktemp("report"), config={"modes": ("hybrid", "bm25")})


def test_cases_are_asked_scored_and_bad_ones_reported_by_id(evaluated: Evaluated) -> None:
    report = evaluated.report
    skipped = {p["id"]: p["reason"] for p in report["run"]["skipped"]}
    assert set(skipped) == {"bad-case", "acme-missing"}
    assert "expected_sources" in skipped["bad-case"] or "expected sources" in skipped["bad-case"]
    assert "docs/gone.md" in skipped["acme-missing"]
    hybrid = report["modes"]["hybrid"]
    assert report["run"]["cases"] == 6 and hybrid["summary"]["all"]["cases"] == 6 and hybrid["errors"] == 0
    overall = hybrid["summary"]["all"]
    assert overall["leaks"] == 0
    assert overall["means"]["citation_validity"] == 1.0
    assert overall["means"]["hit@5"] == 1.0
    assert hybrid["summary"]["cross-tenant"]["means"]["abstention_accuracy"] == 1.0
    cases = {c["id"]: c for c in hybrid["cases"]}
    assert cases["acme-asks-globex"]["status"] == "no_evidence"
    assert all(r["source_id"] != "docs/backups.md" for r in cases["acme-asks-globex"]["retrieved"])
    assert cases["globex-backups"]["status"] == "answered" and cases["globex-backups"]["cited"] == ["docs/backups.md"]
    assert cases["acme-tls"]["metrics"]["fact_coverage"] == 1.0
    assert cases["acme-follow-up"]["history"] and cases["acme-follow-up"]["metrics"]["hit@1"] == 1.0
    # every stage of the pipeline timed, per mode
    assert {"retrieval_ms", "generation_ms", "total_ms"} <= set(hybrid["latency_ms"])
    assert hybrid["latency_ms"]["total_ms"]["p95"] >= hybrid["latency_ms"]["total_ms"]["p50"] > 0
    # the two modes ran the same cases
    assert [c["id"] for c in report["modes"]["bm25"]["cases"]] == [c["id"] for c in hybrid["cases"]]
    curve = hybrid["curves"]["recall"]
    assert len(curve) == 10 and curve == sorted(curve) and curve[-1] == 1.0


def test_reports_and_plots_are_written(evaluated: Evaluated) -> None:
    names = {p.name for p in evaluated.written}
    assert names == {"report.json", "report.md", "report.html", "recall_at_k.png", "by_tag.png", "latency.png"}
    folder = evaluated.written[0].parent
    assert json.loads((folder / "report.json").read_text())["schema"] == "aiops-eval/1"
    markdown = (folder / "report.md").read_text()
    assert "## Per tag (`hybrid`)" in markdown and "| all | 6 |" in markdown
    assert "## Retrieval modes" in markdown and "| bm25 |" in markdown
    assert "![recall at k](recall_at_k.png)" in markdown
    page = (folder / "report.html").read_text()
    assert page.startswith("<!doctype html>") and '<img src="recall_at_k.png"' in page and "<script" not in page
    for picture in ("recall_at_k.png", "by_tag.png", "latency.png"):
        assert (folder / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_is_deterministic_with_the_extractive_provider(
    evaluated: Evaluated, run_eval: Run, tmp_path: Path
) -> None:
    again = run_eval(tmp_path, config={"modes": ("hybrid",)}, draw=False)

    def stable(report: dict[str, Any]) -> list[tuple[Any, ...]]:
        cases = report["modes"]["hybrid"]["cases"]
        return [(c["id"], c["status"], c["answer"], c["retrieved"], c["cited"], c["metrics"]) for c in cases]

    assert stable(again.report) == stable(evaluated.report)
    assert again.report["modes"]["hybrid"]["summary"] == evaluated.report["modes"]["hybrid"]["summary"]


def test_strict_fails_on_the_first_bad_case(run_eval: Run, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="bad-case"):
        run_eval(tmp_path, config={"strict": True}, draw=False)


def test_a_baseline_comparison_shows_what_moved_and_what_flipped(
    evaluated: Evaluated, run_eval: Run, tmp_path: Path
) -> None:
    degraded = run_eval(
        tmp_path,
        config={"modes": ("hybrid",)},
        baseline=evaluated.report,
        baseline_path="before.json",
        make_assistant=_forgetful,
        draw=False,
    )
    comparison = degraded.report["comparison"]
    assert comparison["baseline"] == "before.json"
    moved = {(m["tag"], m["metric"]): m for m in comparison["moved"]}
    assert moved[("all", "hit@1")]["delta"] <= -0.5
    flipped = {(f["id"], f["check"]): f["now"] for f in comparison["flipped"]}
    assert flipped[("acme-tls", "retrieval")] == "fail"
    assert "## Against the baseline `before.json`" in (tmp_path / "report.md").read_text()


def test_a_leaking_pipeline_is_counted_and_fails_the_gate(corpus: Path, run_eval: Run, tmp_path: Path) -> None:
    gate = Gate(set=corpus / "evals", floors={"all": {"citation_validity": 1.0}}, max_leaks=0)
    leaky = run_eval(tmp_path, config={"orgs": ("acme",)}, gate=gate, make_assistant=_leaky, draw=False)
    overall = leaky.report["modes"]["hybrid"]["summary"]["all"]
    assert overall["leaks"] > 0
    foreign = {s for c in leaky.report["modes"]["hybrid"]["cases"] for s in c["foreign"]}
    assert foreign == {"docs/backups.md"}
    assert not leaky.passed
    failed = [c for c in leaky.checks if not c.ok]
    assert [(c.scope, c.metric) for c in failed] == [("all", "leaks")]
    assert leaky.report["gate"]["passed"] is False


def test_the_gate_fails_a_floor_that_was_not_measured(evaluated: Evaluated) -> None:
    gate = Gate(set=Path("x"), floors={"all": {"hit@5": 0.5}, "no-such-tag": {"hit@5": 0.5}})
    checks = {(c.scope, c.metric): c for c in check(gate, evaluated.report)}
    assert checks[("all", "hit@5")].ok
    assert not checks[("no-such-tag", "hit@5")].ok and "not measured" in str(checks[("no-such-tag", "hit@5")])
    assert checks[("all", "leaks")].ok and checks[("all", "errors")].ok


def test_the_command_line_writes_the_reports_and_exits_11_below_the_gate(corpus: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        yaml.safe_dump({"set": str(corpus / "evals"), "floors": {"all": {"hit@5": 0.99, "fact_coverage": 1.01}}}),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOPS_")} | {"HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "eval", "run", "--gate", str(gate), "--out", str(tmp_path / "out")]
        + ["--org", "acme", "--no-plots"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert run.returncode == 11, run.stderr
    assert re.search(r"gate: all fact_coverage = [\d.]+ \(needs >= 1.01\): FAIL", run.stderr)
    assert "gate: all hit@5 = 1 (needs >= 0.99): ok" in run.stdout
    assert "skipped bad-case" in run.stderr and "Value error" not in run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gate"]["passed"] is False and report["run"]["cases"] == 5
    assert not (tmp_path / "out" / "recall_at_k.png").exists()


# -- degraded pipelines -----------------------------------------------------------------------------------------


Search = Callable[[KnowledgeIndex, str, str, int], list[SearchHit]]


class _Rigged(Retriever):
    """Retrieval through a broken search (the context is built as usual)."""

    def __init__(self, index: KnowledgeIndex, settings: Settings, search: Search) -> None:
        super().__init__(index, settings)
        self.search = search

    def retrieve(
        self,
        org: str,
        query: str,
        workspace: Workspace | None,
        found: Investigation | None = None,
        visible: Visibility | None = None,
    ) -> tuple[list[ContextSource], float]:
        hits = self.search(self.index, org, query, self.settings.retrieval_k)
        return build_context(hits, self.settings.context_tokens, self.index.embedder.count_tokens), 0.0


def _rigged(search: Search) -> MakeAssistant:
    def make(index: KnowledgeIndex, settings: Settings, db: Database, inv: Investigator | None) -> Assistant:
        assistant = Assistant(index, settings, db, investigator=inv)
        assistant.retriever = _Rigged(index, settings, search)
        return assistant

    return make


# loses the best hit: what an off-by-one in a ranking change would do
_forgetful = _rigged(lambda index, org, query, k: index.search(org, query, k=k + 1)[1:])
# also searches another organization: what a broken tenant filter would do
_leaky = _rigged(lambda index, org, query, k: index.search(org, query, k=4) + index.search("globex", query, k=1))
