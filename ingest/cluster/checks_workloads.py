"""The checks of the other objects: NodeNotReady, PVCPending, JobFailed, and DeploymentUnavailable for Deployments,
StatefulSets and DaemonSets (naming the pods not ready under them and the nodes down beneath those)."""

from __future__ import annotations

from dataclasses import replace

from ingest.cluster.findings import Finding, Severity, _finding
from ingest.cluster.kinds import CLUSTER_NAMESPACE
from ingest.cluster.readers import Json, namespace_of
from ingest.cluster.scope import (
    _condition_line,
    _conditions,
    _containers,
    _get,
    _name,
    _phase,
    _ref,
    _Scope,
    _unready,
    _where,
)


def _node(scope: _Scope, node: Json) -> Finding | None:
    conditions = _conditions(node)
    ready = conditions.get("Ready")
    if not ready or ready.get("status") == "True":
        return None
    evidence = [_condition_line(ready)]
    if ready.get("lastHeartbeatTime"):
        evidence.append(f"last heartbeat {ready['lastHeartbeatTime']}")
    evidence += [f"taint {t.get('key')}:{t.get('effect')}" for t in _get(node, "spec", "taints") or []]
    pressures = ("MemoryPressure", "DiskPressure", "PIDPressure")
    evidence += [_condition_line(conditions[p]) for p in pressures if _get(conditions, p, "status") == "True"]
    # of the namespaces analyzed only: a caller scoped to some namespaces sees no pods of the others
    stuck = [p for p in scope.objects["pod"] if _get(p, "spec", "nodeName") == _name(node) and _unready(p)]
    if stuck:
        evidence.append("pods not ready on it: " + ", ".join(_where(p) for p in stuck))
    message = str(ready.get("message") or "no message").rstrip(".")
    summary = f"Node {_name(node)} is not ready (Ready {ready.get('status')}, {ready.get('reason')}): {message}."
    return _finding("NodeNotReady", "critical", node, summary, evidence, [_ref(p) for p in stuck])


def _pvc(scope: _Scope, claim: Json) -> Finding | None:
    if _phase(claim) != "Pending":
        return None
    events = scope.events.get(_ref(claim), [])
    warnings = [e for e in events if e.get("type") == "Warning"]
    if not warnings and any(e.get("reason") == "WaitForFirstConsumer" for e in events):
        return None  # by design: the claim binds once a pod that uses it is scheduled
    spec, ns = claim.get("spec") or {}, namespace_of(claim)
    users = [p for p in scope.objects["pod"] if namespace_of(p) == ns and _name(claim) in _claims(p)]
    size, storage_class = _get(spec, "resources", "requests", "storage"), spec.get("storageClassName") or "(default)"
    evidence = [
        *scope.event_lines(claim, lambda e: e.get("type") == "Warning"),
        f"phase Pending, storageClassName {storage_class}, requests storage {size}",
        *(f"used by pod {_where(p)} (phase {_phase(p)})" for p in users),
    ]
    why = str(warnings[-1].get("reason")) if warnings else "not bound"
    summary = (
        f"PersistentVolumeClaim {_where(claim)} is Pending: {why} for storage class {storage_class} ({size} requested)."
    )
    return _finding("PVCPending", "warning", claim, summary, evidence, [_ref(p) for p in users])


def _claims(pod: Json) -> set[str]:
    return {str(_get(v, "persistentVolumeClaim", "claimName")) for v in _get(pod, "spec", "volumes") or []}


def _job(scope: _Scope, job: Json) -> Finding | None:
    failed = _conditions(job).get("Failed") or {}
    if failed.get("status") != "True":
        return None
    spec, status = job.get("spec") or {}, job.get("status") or {}
    evidence = [
        _condition_line(failed),
        f"failed {status.get('failed', 0)}, succeeded {status.get('succeeded', 0)}, "
        f"backoffLimit {spec.get('backoffLimit', 6)}",
        *([f"activeDeadlineSeconds {spec['activeDeadlineSeconds']}"] if spec.get("activeDeadlineSeconds") else []),
        *scope.event_lines(job, lambda e: e.get("type") == "Warning", skip=[str(failed.get("message"))]),
    ]
    pods = sorted(scope.members.get(_ref(job), []), key=lambda p: (_get(p, "status", "startTime") or "", _name(p)))
    evidence += _last_failed_pod(scope, [p for p in pods if _phase(p) == "Failed"])
    cronjob = next((c for c in scope.objects["cronjob"] if _ref(c) in scope.chain(_ref(job))), None)
    succeeded = str(_get(cronjob, "status", "lastSuccessfulTime") or "") if cronjob else ""
    if cronjob and succeeded:
        evidence.append(f"CronJob {_name(cronjob)} last succeeded at {succeeded}")
    # a later run of the same CronJob succeeded (RFC 3339 UTC times compare as text): this failure is history
    later = bool(succeeded) and succeeded > str(failed.get("lastTransitionTime") or succeeded)
    severity: Severity = "warning" if later else "critical"
    of = f" of CronJob {_name(cronjob)}" if cronjob else ""
    summary = (
        f"Job {_where(job)}{of} failed with {failed.get('reason')} after {status.get('failed', 0)} failed pods: "
        f"{str(failed.get('message') or 'no message').rstrip('.')}."
    )
    related = [*([_ref(cronjob)] if cronjob else []), *map(_ref, pods)]
    finding = _finding("JobFailed", severity, job, summary, evidence, related)
    return replace(finding, alerts=(*finding.alerts, "CronJobFailed")) if cronjob else finding


def _last_failed_pod(scope: _Scope, failed: list[Json]) -> list[str]:
    """How the most recent failed pod of a Job ended, with its log."""
    if not failed:
        return []
    containers = _containers(failed[-1])
    broken = next((c for c in containers if c.state("terminated").get("exitCode")), None)
    chosen = broken or (containers[0] if containers else None)
    lines = [f"most recent failed pod {_name(failed[-1])}"]
    if chosen is not None:
        lines += [line for line in chosen.state_lines() if " terminated " in line]
        lines += scope.log_tail(failed[-1], chosen.name, previous=False)
    return lines


def _workload(scope: _Scope, obj: Json, severity: Severity, summary: str, evidence: list[str]) -> Finding:
    """A DeploymentUnavailable finding that names the pods not ready and the nodes down under them."""
    pods = [p for p in scope.members.get(_ref(obj), []) if _unready(p)]
    if pods:
        evidence.append("pods not ready: " + ", ".join(_name(p) for p in pods))
    nodes = {str(_get(p, "spec", "nodeName")) for p in pods if scope.node_down(p) and _get(p, "spec", "nodeName")}
    related = [*map(_ref, pods), *(f"node/{CLUSTER_NAMESPACE}/{n}" for n in sorted(nodes))]
    return _finding("DeploymentUnavailable", severity, obj, summary, evidence, related)


def _desired(workload: Json) -> int:
    replicas = _get(workload, "spec", "replicas")
    return 1 if replicas is None else int(replicas)  # the API's default


def _deployment(scope: _Scope, deployment: Json) -> Finding | None:
    desired, status = _desired(deployment), deployment.get("status") or {}
    available, conditions = status.get("availableReplicas", 0), _conditions(deployment)
    stuck = _get(conditions, "Progressing", "reason") == "ProgressDeadlineExceeded"
    down = _get(conditions, "Available", "status") == "False"
    failure = _get(conditions, "ReplicaFailure", "status") == "True"  # e.g. pods refused by a quota
    if not (status.get("unavailableReplicas", 0) > 0 or available < desired or stuck or down or failure):
        return None
    counts = ", ".join(f"{k} {status.get(f'{k}Replicas', 0)}" for k in ("updated", "ready", "available", "unavailable"))
    evidence = [f"replicas desired {desired}, {counts}"]
    # the conditions that are not as they should be: Available and Progressing not True, ReplicaFailure True
    evidence += [
        _condition_line(c) for t, c in conditions.items() if (c.get("status") == "True") == (t == "ReplicaFailure")
    ]
    rollout = f"; its rollout is stuck: {_get(conditions, 'Progressing', 'message')}" if stuck else ""
    summary = f"Deployment {_where(deployment)} has {available} of {desired} replicas available{rollout}"
    severity: Severity = "critical" if down or (desired and not available) else "warning"
    return _workload(scope, deployment, severity, summary.rstrip(".") + ".", evidence)


def _statefulset(scope: _Scope, sts: Json) -> Finding | None:
    desired, status = _desired(sts), sts.get("status") or {}
    ready = status.get("readyReplicas", 0)
    if ready >= desired:
        return None
    counts = ", ".join(f"{k} {status.get(f'{k}Replicas', 0)}" for k in ("current", "ready", "updated"))
    evidence = [f"replicas desired {desired}, {counts}"]
    if status.get("updateRevision") not in (None, status.get("currentRevision")):
        evidence.append(f"rolling from revision {status.get('currentRevision')} to {status['updateRevision']}")
    summary = f"StatefulSet {_where(sts)} has {ready} of {desired} replicas ready."
    return _workload(scope, sts, "warning" if ready else "critical", summary, evidence)


def _daemonset(scope: _Scope, ds: Json) -> Finding | None:
    status = ds.get("status") or {}
    unavailable, desired = status.get("numberUnavailable", 0), status.get("desiredNumberScheduled", 0)
    if unavailable <= 0:
        return None
    fields = {"current": "currentNumberScheduled", "ready": "numberReady", "available": "numberAvailable"}
    counts = ", ".join(f"{k} {status.get(f, 0)}" for k, f in fields.items())
    evidence = [f"pods desired {desired}, {counts}, unavailable {unavailable}"]
    if status.get("numberMisscheduled"):
        evidence.append(f"numberMisscheduled {status['numberMisscheduled']}")
    summary = f"DaemonSet {_where(ds)} has {unavailable} of {desired} pods unavailable."
    return _workload(scope, ds, "warning" if status.get("numberAvailable") else "critical", summary, evidence)
