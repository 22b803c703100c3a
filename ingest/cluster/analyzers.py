"""Deterministic checks over cluster state, reading it as ``kubectl describe`` and k8sgpt's analyzers would.

Each check turns objects into ``Finding`` values: the object, one sentence saying what is wrong, the facts that show it
quoted from the objects (status fields, condition and event messages, the last lines of the log of a failed container),
the alerts that failure raises (to link runbooks) and the other objects involved. Nothing here calls a model or writes
to the cluster; besides one list per kind and namespace, the only reads are logs, and a log that cannot be read is
noted in the evidence instead of failing the analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ingest.cluster.checks_pods import _pod_findings
from ingest.cluster.checks_workloads import _daemonset, _deployment, _job, _node, _pvc, _statefulset
from ingest.cluster.findings import CHECKS, CheckName, Finding, Severity
from ingest.cluster.kinds import CLUSTER_NAMESPACE, kind_spec
from ingest.cluster.readers import ClusterReader, Json
from ingest.cluster.scope import _Scope

__all__ = ["CHECKS", "CheckName", "Finding", "Severity", "analyze", "findings_for"]

# one check per kind; the pod checks run together (``_pod_findings``) as each container goes to one of them only
_OBJECT_CHECKS: tuple[tuple[str, Callable[[_Scope, Json], Finding | None]], ...] = (
    ("node", _node),
    ("persistentvolumeclaim", _pvc),
    ("job", _job),
    ("deployment", _deployment),
    ("statefulset", _statefulset),
    ("daemonset", _daemonset),
)


def analyze(
    reader: ClusterReader, namespaces: Sequence[str] | None = None, *, cluster_scoped: bool = True, log_lines: int = 8
) -> list[Finding]:
    """Findings of these namespaces (None: all) and, if cluster_scoped, of nodes; critical first, then by object."""
    names = list(namespaces) if namespaces is not None else reader.namespaces()
    scope = _Scope(reader, names, cluster_scoped, log_lines)
    found = [f for pod in scope.objects["pod"] for f in _pod_findings(scope, pod)]
    for kind, check in _OBJECT_CHECKS:
        found += [f for obj in scope.objects[kind] if (f := check(scope, obj)) is not None]
    return sorted(found, key=lambda f: (f.severity != "critical", f.namespace, f.kind, f.name, f.check))


def findings_for(findings: Iterable[Finding], kind: str, namespace: str, name: str) -> list[Finding]:
    """The findings about one object and those whose ``related`` names it (any name of the kind: pod, po, Pod)."""
    spec = kind_spec(kind)
    ref = f"{spec.kind}/{namespace if spec.namespaced else CLUSTER_NAMESPACE}/{name}"
    return [f for f in findings if f.ref == ref or ref in f.related]
