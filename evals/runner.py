"""Runs a golden set through the answering pipeline the service uses and scores every case.

The runner ingests what the set needs (``<corpus>/<org>/`` for each organization of the set and the cluster dumps
``<corpus>/clusters/<org>-*/``, which also serve as each organization's live cluster for the read-only tools) into a
fresh data folder, or uses an existing one; then asks every case as its organization (earlier turns of a multi-turn
case first, in one conversation) with the answer cache off and the query-vector cache emptied before each question,
once per retrieval mode. What the pipeline retrieved is observed at its retrieval stage, where each source still
carries its organization: that is what the leak count rests on, not on the answer's own account.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from assistant.answers import Answer, Workspace
from assistant.auth import Principal
from assistant.context import ContextSource
from assistant.database import Database
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from assistant.tools.investigation import Investigation, Investigator
from assistant.tools.sandbox import Sandbox, documents_from
from core.errors import InvalidInputError
from core.settings import Settings
from evals.golden import CaseProblem, GoldenCase, read_cases
from evals.metrics import CaseScore, Outcome, score, semantic_fact_coverage
from index.factory import open_index
from index.knowledge import KnowledgeIndex
from index.records import SearchMode, Visibility
from ingest.cluster.config import ClusterConfig, Clusters
from ingest.cluster.ingestion import ingest_cluster
from ingest.cluster.readers import DumpCluster
from ingest.summary import IngestSummary
from ingest.sync import ingest_path

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what, done, total)
MakeAssistant = Callable[[KnowledgeIndex, Settings, Database, Investigator | None], Assistant]
MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class RunConfig:
    """What to evaluate and how."""

    set_path: Path
    corpus: Path | None = None  # default: the folder holding the set's folder (corpora/ for corpora/evals/x.yaml)
    orgs: tuple[str, ...] = ()  # only these organizations' cases
    tags: tuple[str, ...] = ()  # only cases with one of these tags
    every: int = 1  # every n-th case of each file (a deterministic subset), cases of `always` tags kept
    always: tuple[str, ...] = ()
    provider: str | None = None
    modes: tuple[SearchMode, ...] = ("hybrid",)  # the first is the run's main mode; the others are compared with it
    tools: bool = True  # live cluster tools over the organizations' clusters
    data_dir: Path | None = None  # an existing data folder (kept); default: a fresh temporary one
    ingest: bool = True  # sync the corpus into the data folder first (unchanged files are skipped)
    strict: bool = False  # a malformed case or a missing expected source fails the run


@dataclass(frozen=True)
class Retrieved:
    """One source of the context, as the retrieval stage produced it."""

    n: int
    source_id: str
    org: str | None
    title: str
    section: str
    source_type: str
    similarity: float
    live: bool
    text: str


@dataclass
class CaseResult:
    """One case asked in one retrieval mode: what the pipeline did and how it scored."""

    case: GoldenCase
    mode: str
    status: str  # answered | no_evidence | error
    answer: str
    provider: str
    retrieved: list[Retrieved]
    cited: list[str]
    tool_calls: list[str]
    timings: dict[str, float]
    warnings: list[str]
    score: CaseScore
    foreign: list[str]
    extra: dict[str, float | None] = field(default_factory=dict)  # semantic coverage, ragas metrics
    error: str | None = None


@dataclass
class RunResult:
    """Everything a report is made of."""

    config: RunConfig
    settings: Settings
    cases: list[GoldenCase]
    problems: list[CaseProblem]
    ingested: list[IngestSummary]
    results: dict[str, list[CaseResult]]  # by mode, in case order
    seconds: float = 0.0
    ingest_seconds: float = 0.0
    not_computed: dict[str, str] = field(default_factory=dict)  # metric -> why (e.g. the judge is unreachable)


def select(cases: Sequence[GoldenCase], config: RunConfig) -> list[GoldenCase]:
    """The cases of the run: the organizations and tags asked for, then every n-th (``always`` tags all kept)."""
    chosen = [
        c
        for c in cases
        if (not config.orgs or c.org in config.orgs) and (not config.tags or set(c.tags) & set(config.tags))
    ]
    if config.every <= 1:
        return chosen
    counter: dict[str, int] = {}
    subset = []
    for case in chosen:
        n = counter.get(case.org, 0)
        counter[case.org] = n + 1
        if n % config.every == 0 or set(case.tags) & set(config.always):
            subset.append(case)
    return subset


def corpus_of(config: RunConfig) -> Path:
    """Where the set's organizations' sources are: ``--corpus``, or the folder holding the set's folder."""
    if config.corpus is not None:
        return config.corpus
    folder = config.set_path if config.set_path.is_dir() else config.set_path.parent
    return folder.resolve().parent


def cluster_dumps(corpus: Path, org: str) -> list[Path]:
    """The organization's cluster dumps in the corpus (``clusters/<org>-<name>/``)."""
    root = corpus / "clusters"
    return sorted(p for p in root.glob(f"{org}-*") if p.is_dir()) if root.is_dir() else []


class Evaluation:
    """One evaluation run: prepare the index, ask the cases, score them."""

    def __init__(
        self,
        config: RunConfig,
        settings: Settings,
        *,
        index: KnowledgeIndex | None = None,
        make_assistant: MakeAssistant | None = None,
        progress: Progress | None = None,
        scorers: Sequence[Callable[[GoldenCase, CaseResult, KnowledgeIndex], dict[str, float | None]]] = (),
    ) -> None:
        self.config = config
        self.base = settings
        self.index = index
        self.make_assistant = make_assistant or _assistant
        self.progress = progress or (lambda what, done, total: None)
        self.scorers = [semantic_coverage, *scorers]

    def run(self) -> RunResult:
        """Load, ingest, ask and score; problems of single cases are reported, not raised (unless strict)."""
        started = time.perf_counter()
        config = self.config
        loaded, problems = read_cases(config.set_path)
        cases = select(loaded, config)
        if not cases:
            raise InvalidInputError(f"{config.set_path}: no case to run (of {len(loaded)}) with these filters")
        with ExitStack() as stack:
            settings = self._settings(stack)
            index = self.index or stack.enter_context(open_index(settings))
            corpus = corpus_of(config)
            orgs = sorted({c.org for c in cases})
            dumps = {org: cluster_dumps(corpus, org) for org in orgs}
            t0 = time.perf_counter()
            ingested = self._ingest(index, settings, corpus, dumps) if config.ingest else []
            ingest_seconds = time.perf_counter() - t0
            cases, missing = _with_sources(index, cases)
            problems += missing
            if config.strict and problems:
                raise InvalidInputError("; ".join(str(p) for p in problems[:5]))
            clusters = self._clusters(settings, dumps)
            sandbox = Sandbox(settings, clusters, documents=documents_from(index)) if config.tools else None
            if sandbox is not None:
                stack.callback(sandbox.close)
            results: dict[str, list[CaseResult]] = {
                mode: self._ask_all(index, settings, mode, cases, clusters, sandbox) for mode in config.modes
            }
        return RunResult(
            config,
            settings,
            cases,
            problems,
            ingested,
            results,
            seconds=round(time.perf_counter() - started, 2),
            ingest_seconds=round(ingest_seconds, 2),
        )

    # -- preparation --------------------------------------------------------------------------------------------

    def _settings(self, stack: ExitStack) -> Settings:
        update: dict[str, Any] = {"answer_cache_ttl_s": 0}
        if self.config.provider:
            update["provider"] = self.config.provider
        if self.config.data_dir is not None:
            update["data_dir"] = self.config.data_dir
        elif self.index is None:
            update["data_dir"] = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aiops-eval-")))
        return self.base.model_copy(update=update)

    def _ingest(
        self, index: KnowledgeIndex, settings: Settings, corpus: Path, dumps: dict[str, list[Path]]
    ) -> list[IngestSummary]:
        summaries = []
        for org, org_dumps in dumps.items():
            root = corpus / org
            if root.is_dir():
                summaries.append(ingest_path(index, settings, org, root, None, self._step(f"{org}: ")))
            else:
                log.warning("no sources of %s at %s", org, root)
            for dump in org_dumps:
                summaries.append(ingest_cluster(index, settings, org, DumpCluster(dump), None, self._step(f"{org}: ")))
        return summaries

    def _step(self, prefix: str) -> Progress:
        return lambda what, done, total: self.progress(f"ingesting {prefix}{what}", done, total)

    def _clusters(self, settings: Settings, dumps: dict[str, list[Path]]) -> Clusters:
        """The corpus's dumps as the organizations' clusters; without ingestion, the configured clusters."""
        if not self.config.ingest:
            return Clusters.load(settings.clusters_file)
        return Clusters([ClusterConfig(org=org, name=d.name, dump=d) for org, found in dumps.items() for d in found])

    # -- asking -------------------------------------------------------------------------------------------------

    def _ask_all(
        self,
        index: KnowledgeIndex,
        settings: Settings,
        mode: SearchMode,
        cases: list[GoldenCase],
        clusters: Clusters,
        sandbox: Sandbox | None,
    ) -> list[CaseResult]:
        mode_settings = settings.model_copy(update={"retrieval_mode": mode})
        db = Database()
        assistant = self.make_assistant(index, mode_settings, db, Investigator(sandbox) if sandbox else None)
        recorder = _Recorder(assistant.retriever)
        assistant.retriever = recorder
        results = []
        try:
            for n, case in enumerate(cases):
                self.progress(f"{mode}: {case.id}", n, len(cases))
                result = self._ask(assistant, recorder, index, case, mode, clusters)
                for scorer in self.scorers:
                    result.extra.update(scorer(case, result, index))
                results.append(result)
            self.progress(f"{mode}: done", len(cases), len(cases))
        finally:
            assistant.close()
            db.close()
        return results

    def _ask(
        self,
        assistant: Assistant,
        recorder: _Recorder,
        index: KnowledgeIndex,
        case: GoldenCase,
        mode: str,
        clusters: Clusters,
    ) -> CaseResult:
        caller = Principal(user="eval", org=case.org, roles=("operator",), via="cli")
        own_clusters = {c.name for c in clusters.of(case.org)}
        foreign: list[str] = []
        answer: Answer | None = None
        error = None
        try:
            conversation = None
            for turn in [*case.history, case.question]:
                index.forget_queries()  # the model's time belongs to the measurement, not to the cache
                recorder.sources = []
                answer = assistant.ask(case.org, turn, conversation_id=conversation, caller=caller, user="eval")
                conversation = answer.conversation_id
                foreign += [s.source_id for s in recorder.sources if not _own(s, case.org, own_clusters)]
        except Exception as exc:  # one failing case is reported with its reason; the run goes on
            log.warning("case %s failed: %s", case.id, exc)
            error = f"{exc.__class__.__name__}: {exc}"[:500]
        if answer is None or error is not None:
            failed = CaseResult(case, mode, "error", "", "", [], [], [], {}, [], _UNSCORED, foreign, error=error)
            return self._scored(failed)
        result = CaseResult(
            case=case,
            mode=mode,
            status=answer.status,
            answer=answer.answer,
            provider=answer.provider,
            retrieved=[_retrieved(s) for s in recorder.sources],
            cited=[c.source_id for c in answer.citations],
            tool_calls=[f"{t.name} {t.status}" for t in answer.tool_calls],
            timings=dict(answer.timings),
            warnings=list(answer.warnings),
            score=_UNSCORED,
            foreign=foreign,
        )
        return self._scored(result)

    def _scored(self, result: CaseResult) -> CaseResult:
        """The result with its metrics (an errored case fails every check that applies)."""
        case = result.case
        ranked = [r.source_id for r in result.retrieved]
        given = ranked if result.status == "answered" else []
        outcome = Outcome(result.status, result.answer, ranked, result.cited, given, result.foreign)
        result.score = score(case.id, case.tags, case.answerable, case.expected_sources, case.expected_facts, outcome)
        return result


_UNSCORED = CaseScore("", (), {})


def semantic_coverage(case: GoldenCase, result: CaseResult, index: KnowledgeIndex) -> dict[str, float | None]:
    """The semantic fact coverage of an answerable case's answer, with the index's own embedding model."""
    if not (case.answerable and case.expected_facts):
        return {}
    return {"fact_coverage_semantic": semantic_fact_coverage(result.answer, case.expected_facts, index.embedder.encode)}


class _Recorder(Retriever):
    """The pipeline's own retrieval stage, with the sources of the last question kept for the metrics."""

    def __init__(self, inner: Retriever) -> None:
        super().__init__(inner.index, inner.settings)
        self.inner = inner
        self.sources: list[ContextSource] = []

    def retrieve(
        self,
        org: str,
        query: str,
        workspace: Workspace | None,
        found: Investigation | None = None,
        visible: Visibility | None = None,
    ) -> tuple[list[ContextSource], float]:
        sources, ms = self.inner.retrieve(org, query, workspace, found, visible)
        self.sources = list(sources)
        return sources, ms


def _assistant(index: KnowledgeIndex, settings: Settings, db: Database, investigator: Investigator | None) -> Assistant:
    return Assistant(index, settings, db, investigator=investigator)


def _own(source: ContextSource, org: str, clusters: set[str]) -> bool:
    """A source of the organization: an indexed chunk carries its org; a live one names one of the org's clusters."""
    if source.field("live"):
        parts = source.source_id.split("/")
        return len(parts) > 1 and parts[0] == "cluster" and parts[1] in clusters
    return bool(source.field("org_id") == org)


def _retrieved(source: ContextSource) -> Retrieved:
    return Retrieved(
        n=source.n,
        source_id=source.source_id,
        org=cast(str | None, source.field("org_id")),
        title=source.title,
        section=source.section,
        source_type=source.source_type,
        similarity=round(source.hit.similarity, 4),
        live=bool(source.field("live")),
        text=source.text,
    )


def _with_sources(index: KnowledgeIndex, cases: list[GoldenCase]) -> tuple[list[GoldenCase], list[CaseProblem]]:
    """The cases whose expected sources are all in their organization's index; a problem for each of the others."""
    known: dict[str, set[str]] = {}
    kept: list[GoldenCase] = []
    problems: list[CaseProblem] = []
    for case in cases:
        if case.org not in known:
            known[case.org] = set(index.sources(case.org))
        missing = [s for s in case.expected_sources if s not in known[case.org]]
        if missing:
            reason = f"expected source not in {case.org}'s index: {', '.join(missing)}"
            problems.append(CaseProblem(case.id, "", reason))
        else:
            kept.append(case)
    return kept, problems
