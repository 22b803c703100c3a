"""What a check reports: the names of the checks, the ``Finding`` value, and how a finding is made from an object.

A finding carries the alerts its failure raises, so that it links their runbooks; its evidence lines are capped and
deduplicated here, once for every check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ingest.cluster.readers import Json, namespace_of
from ingest.cluster.scope import _name

CheckName = Literal[
    "CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "FailedScheduling", "NodeNotReady",
    "ProbeFailing", "PVCPending", "JobFailed", "DeploymentUnavailable",
]  # fmt: skip
Severity = Literal["critical", "warning"]

CHECKS: dict[CheckName, str] = {
    "CrashLoopBackOff": "a container (init containers too) keeps crashing; with the last log lines of the crashed run",
    "OOMKilled": "a container was killed for exceeding its memory limit (exit code 137), with that limit",
    "ImagePullBackOff": "a container's image cannot be pulled (tag never pushed, registry auth, invalid name)",
    "FailedScheduling": "a Pending pod fits no node (resources, node selector, taints, an unbound volume claim)",
    "NodeNotReady": "a node's Ready condition is False or Unknown, with its taints and the pods it leaves not ready",
    "ProbeFailing": "a running container fails its readiness or liveness probe; with the probe and its last log lines",
    "PVCPending": "a PersistentVolumeClaim stays Pending: its volume cannot be provisioned or bound",
    "JobFailed": "a Job failed (backoff limit or deadline exceeded), with the log of its most recent failed pod",
    "DeploymentUnavailable": "a Deployment, StatefulSet or DaemonSet has fewer pods available than desired or is stuck",
}
_ALERTS: dict[CheckName, tuple[str, ...]] = {
    "CrashLoopBackOff": ("KubePodCrashLooping",),
    "OOMKilled": ("KubeContainerOOMKilled", "KubePodCrashLooping"),
    "ImagePullBackOff": ("ImagePullBackOff", "KubePodNotReady"),
    "FailedScheduling": ("KubePodNotReady",),
    "NodeNotReady": ("NodeNotReady", "KubeNodeNotReady"),
    "ProbeFailing": ("KubePodNotReady",),
    "PVCPending": ("KubePersistentVolumeClaimPending",),
    "JobFailed": ("JobFailed", "KubeJobFailed"),
    "DeploymentUnavailable": ("KubeDeploymentReplicasMismatch", "KubeDeploymentRolloutStuck"),
}
# kube-prometheus names the same failure differently for the other workload kinds; a Deployment's runbook is not theirs
_WORKLOAD_ALERTS = {"statefulset": ("KubeStatefulSetReplicasMismatch",), "daemonset": ("KubeDaemonSetRolloutStuck",)}
_CAP = 300


@dataclass(frozen=True)
class Finding:
    """One failure of one object, with the facts that show it."""

    check: CheckName
    severity: Severity
    kind: str
    namespace: str
    name: str
    summary: str
    evidence: tuple[str, ...]
    alerts: tuple[str, ...]
    related: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The object as ``related`` names objects: ``kind/namespace/name``."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    def source_id(self, context: str) -> str:
        """The source id of the object the finding is about."""
        return f"cluster/{context}/{self.namespace}/{self.kind}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _cap(text: str) -> str:
    text = text.strip()
    if len(text) <= _CAP:
        return text
    # a wrapped error puts its context first and its root cause last ("...: 403 Forbidden"): keep both ends
    half = (_CAP - 3) // 2
    return f"{text[:half]} … {text[-half:]}"


def _finding(
    check: CheckName, severity: Severity, obj: Json, summary: str, evidence: Iterable[str], related: Iterable[str] = ()
) -> Finding:
    kind = str(obj.get("kind", "")).lower()
    alerts = _WORKLOAD_ALERTS.get(kind, _ALERTS[check]) if check == "DeploymentUnavailable" else _ALERTS[check]
    lines = tuple(dict.fromkeys(_cap(e) for e in evidence if e))
    return Finding(check, severity, kind, namespace_of(obj), _name(obj), summary, lines, alerts, tuple(related))
