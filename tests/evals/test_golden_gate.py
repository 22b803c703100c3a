"""Slow: the CI gate on the project's golden sets (evals/gate.yaml, the sample corpora and clusters ingested once),
pipelines degraded on purpose failing it, and what the live cluster tools add over the index alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assistant.pipeline as pipeline
from assistant.database import Database
from assistant.evidence import Evidence
from assistant.pipeline import Assistant
from assistant.tools.investigation import Investigator
from core.settings import Settings
from evals.gate import Gate
from evals.runner import RunConfig
from evals.session import Evaluated, evaluate
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from index.knowledge import KnowledgeIndex
from tests.conftest import settings_for

ROOT = Path(__file__).resolve().parents[2]
GATE = Gate.load(ROOT / "evals" / "gate.yaml")
ARTIFACTS = ROOT / "build" / "test-artifacts" / "evals"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(tmp_path_factory.mktemp("golden"), "edge", chunk_tokens=200, chunk_overlap=32)


@pytest.fixture(scope="module")
def index(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[KnowledgeIndex]:
    with open_index(settings, embedder) as idx:
        yield idx


@pytest.fixture(scope="module")
def gated(settings: Settings, index: KnowledgeIndex) -> Evaluated:
    """The gate's run on a fresh index: the first run ingests the corpora; later ones find them unchanged."""
    return _gate_run(settings, index, ARTIFACTS / "gate")


def _config(**extra: Any) -> RunConfig:
    return RunConfig(set_path=GATE.set, every=GATE.every, always=GATE.always, modes=(GATE.mode,), **extra)


def _gate_run(settings: Settings, index: KnowledgeIndex, out: Path, **options: Any) -> Evaluated:
    return evaluate(_config(), settings, out, index=index, gate=GATE, **options)


def test_the_gate_passes_on_the_golden_sets(gated: Evaluated) -> None:
    run = gated.report["run"]
    assert not run["skipped"], run["skipped"]
    assert all(i["failed"] == 0 for i in run["ingested"]) and len(run["ingested"]) == 4
    assert run["cases"] >= 80
    failed = [str(c) for c in gated.checks if not c.ok]
    assert gated.passed, failed
    print("\n" + "\n".join(str(c) for c in gated.checks))


def _narrow(index: KnowledgeIndex, settings: Settings, db: Database, inv: Investigator | None) -> Assistant:
    """A retrieval budget cut to one chunk: what a bad default would do."""
    return Assistant(index, settings.model_copy(update={"retrieval_k": 1}), db, investigator=inv)


def _no_evidence_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """An evidence check that always finds evidence: the assistant never abstains."""
    monkeypatch.setattr(pipeline, "assess", lambda question, sources, floor: Evidence(bool(sources), ""))


class _Leaky(Assistant):
    """Answers as the asking org from another organization's index too: a broken tenant filter."""

    def __init__(self, index: KnowledgeIndex, settings: Settings, db: Database, inv: Investigator | None) -> None:
        super().__init__(index, settings, db, investigator=inv)
        search = index.search

        def everyone(org: str, query: str, *args: Any, **kwargs: Any) -> Any:
            other = "orbital" if org == "northwind" else "northwind"
            return search(org, query, *args, **kwargs)[:4] + search(other, query, *args, **kwargs)[:2]

        self.retriever.index = _Index(index, everyone)


class _Index:
    def __init__(self, index: KnowledgeIndex, search: Any) -> None:
        self._index = index
        self.search = search

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


@pytest.mark.parametrize(
    ("degradation", "fails"),
    [
        ("narrow retrieval", ("all", "hit@5")),
        ("no evidence gate", ("all", "abstention_accuracy")),
        ("leak", ("all", "leaks")),
    ],
)
def test_a_degraded_pipeline_fails_the_gate(
    degradation: str,
    fails: tuple[str, str],
    gated: Evaluated,
    settings: Settings,
    index: KnowledgeIndex,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    make: Any = {"narrow retrieval": _narrow, "leak": _Leaky}.get(degradation)
    if degradation == "no evidence gate":
        _no_evidence_gate(monkeypatch)
    degraded = _gate_run(settings, index, tmp_path, make_assistant=make, draw=False)
    failed = {(c.scope, c.metric) for c in degraded.checks if not c.ok}
    assert not degraded.passed and fails in failed, failed
    print(f"\n{degradation}: " + "; ".join(str(c) for c in degraded.checks if not c.ok))


def test_the_live_tools_add_what_the_index_alone_cannot_tell(
    gated: Evaluated, settings: Settings, index: KnowledgeIndex, tmp_path: Path
) -> None:
    def cluster_run(tools: bool) -> dict[str, Any]:
        config = RunConfig(set_path=GATE.set, tags=("cluster",), tools=tools)
        done = evaluate(config, settings, tmp_path / str(tools), index=index, draw=False)
        return dict(done.report["modes"]["hybrid"]["summary"])

    live, indexed = cluster_run(True), cluster_run(False)
    print(f"\ncluster cases, with tools: {live['all']['means']}\nfrom the index alone: {indexed['all']['means']}")
    assert live["all"]["leaks"] == indexed["all"]["leaks"] == 0
    assert live["cross-tenant"]["means"]["abstention_accuracy"] == 1.0
    assert live["all"]["means"]["fact_coverage"] > indexed["all"]["means"]["fact_coverage"]
    assert live["all"]["means"]["fact_coverage"] >= 0.75 and live["all"]["means"]["citation_recall"] >= 0.85
