"""Cluster ingestion: every readable object of a cluster becomes a description document (source type ``cluster``,
source id ``cluster/<context>/<namespace>/<kind>/<name>``), plus one overview per namespace; a re-sync replaces what
changed and deletes what vanished. Events are described with the objects they are about; config maps by name and
keys only; Secrets are never read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.settings import Settings
from index.knowledge import KnowledgeIndex
from ingest.cluster.analyzers import Finding, analyze, findings_for
from ingest.cluster.describe import Description, Writer, describe, event_line, pod_line, source_id
from ingest.cluster.kinds import KINDS
from ingest.cluster.readers import ClusterReader
from ingest.cluster.redaction import redact_text
from ingest.cluster.state import ClusterState
from ingest.summary import IngestSummary
from ingest.sync import IngestRun, Progress, RenderedSource

_DESCRIBED = [spec for spec in KINDS.values() if spec.kind != "event"]
_NAMESPACE_EVENTS = 15


def sync_root(context: str) -> str:
    """What scopes deletion sync of one cluster."""
    return f"cluster/{context}"


def describe_cluster(state: ClusterState, findings: Sequence[Finding]) -> Iterator[Description]:
    """The description of every object, and an overview of every namespace; credentials redacted from the whole
    text (log lines, event messages and joined args included), which is what gets indexed."""
    for spec in _DESCRIBED:
        for obj in state.objects.get(spec.kind, []):
            meta = obj.get("metadata", {})
            about = findings_for(findings, spec.kind, str(meta.get("namespace") or "_cluster"), str(meta.get("name")))
            described = describe(state, obj, [f.summary for f in about])
            described.metadata["alerts"] = sorted({a for f in about for a in f.alerts})
            described.text = redact_text(described.text)
            yield described
    for namespace in state.namespaces():
        overview = describe_namespace(state, namespace, findings)
        overview.text = redact_text(overview.text)
        yield overview


def describe_namespace(state: ClusterState, namespace: str, findings: Sequence[Finding]) -> Description:
    """A namespace at a glance: what runs there, what is wrong, and the latest warnings."""
    pods = state.list_objects(KINDS["pod"], namespace)
    counts = {spec.plural: len(state.list_objects(spec, namespace)) for spec in _DESCRIBED if spec.namespaced}
    problems = [f for f in findings if f.namespace == namespace]
    w = Writer(f"Namespace {namespace}")
    w.para(
        f"Namespace {namespace} of cluster {state.context} runs {len(pods)} pods; "
        + (f"{len(problems)} problems found." if problems else "no problems found.")
    )
    w.section("Problems", [f"{f.check} ({f.severity}): {f.summary}" for f in problems])
    w.section("Objects", [f"{n} {plural}" for plural, n in counts.items() if n])
    w.section("Pods", [pod_line(p) for p in pods])
    warnings = [e for e in state.list_objects(KINDS["event"], namespace) if e.get("type") == "Warning"]
    w.section("Warning events", [event_line(e) for e in warnings[-_NAMESPACE_EVENTS:]])
    metadata = {
        "cluster": state.context,
        "namespace": namespace,
        "kind": "namespace",
        "name": namespace,
        "status": "problems" if problems else "ok",
        "services": [],
        "alerts": sorted({a for f in problems for a in f.alerts}),
    }
    return Description(source_id(state.context, "namespace", namespace, namespace), w.lines[0][2:], w.text(), metadata)


def ingest_cluster(
    index: KnowledgeIndex,
    settings: Settings,
    org: str,
    reader: ClusterReader,
    namespaces: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> IngestSummary:
    """Sync one cluster (optionally some of its namespaces) into ``org``'s index."""
    state = ClusterState(reader, namespaces)
    findings = analyze(state, state.namespaces())
    described = list(describe_cluster(state, findings))
    sources = (
        RenderedSource(d.source_id, "cluster", f"k8s://{d.source_id.removeprefix('cluster/')}", d.text, d.metadata)
        for d in described
    )
    return IngestRun(index, settings, org).sync(sync_root(state.context), sources, progress, total=len(described))
