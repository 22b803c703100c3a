"""Descriptions of the kinds other than pods: workloads, jobs, networking, storage, nodes, config maps."""

from __future__ import annotations

from ingest.cluster.describe import (
    Describer,
    Writer,
    conditions,
    container_spec,
    events,
    meta,
    overview,
    pod_line,
    pod_logs,
    quantities,
)
from ingest.cluster.kinds import KINDS
from ingest.cluster.readers import Json
from ingest.cluster.state import ClusterState


def _template_containers(state: ClusterState, obj: Json, w: Writer) -> None:
    template = obj.get("spec", {}).get("template", {}).get("spec", {})
    for c in template.get("containers") or []:
        w.section(f"Pod template: container {c.get('name')}", container_spec(c))


def _images(obj: Json) -> list[str]:
    return [c.get("image", "") for c in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []]


def _revision(obj: Json) -> str:
    return str((meta(obj).get("annotations") or {}).get("deployment.kubernetes.io/revision", "?"))


def _name(obj: Json) -> str:
    return str(meta(obj).get("name"))


def describe_deployment(state: ClusterState, d: Json, w: Writer) -> None:
    """Replicas, strategy, conditions, ReplicaSets, pods and events."""
    spec, status = d.get("spec", {}), d.get("status", {})
    desired = int(spec.get("replicas", 1))
    available = int(status.get("availableReplicas") or 0)
    stalled = [c for c in status.get("conditions") or [] if c.get("status") != "True"]
    trouble = "; ".join(f"{c.get('type')} is {c.get('status')}: {c.get('reason')}" for c in stalled)
    w.para(
        f"Deployment {_name(d)} in namespace {meta(d).get('namespace')} has {available} of {desired} replicas "
        f"available" + (f"; {trouble}." if trouble else ".")
    )
    strategy = spec.get("strategy", {})
    rolling = strategy.get("rollingUpdate") or {}
    w.section(
        "Overview",
        overview(
            d,
            state,
            f"Replicas: {desired} desired, {status.get('updatedReplicas', 0)} updated, "
            f"{status.get('replicas', 0)} total, "
            f"{status.get('readyReplicas', 0)} ready, {available} available, {status.get('unavailableReplicas', 0)} "
            "unavailable",
            f"Strategy: {strategy.get('type', 'RollingUpdate')}"
            + (
                f" (max surge {rolling.get('maxSurge')}, max unavailable {rolling.get('maxUnavailable')})"
                if rolling
                else ""
            ),
            f"Revision: {(meta(d).get('annotations') or {}).get('deployment.kubernetes.io/revision')}"
            if (meta(d).get("annotations") or {}).get("deployment.kubernetes.io/revision")
            else "",
            "Selector: "
            + ", ".join(f"{k}={v}" for k, v in (spec.get("selector", {}).get("matchLabels") or {}).items()),
        ),
    )
    w.section("Conditions", conditions(d))
    _template_containers(state, d, w)
    sets = sorted(state.children(d, "replicaset"), key=lambda r: meta(r).get("creationTimestamp") or "", reverse=True)
    w.section(
        "ReplicaSets",
        [
            f"{_name(r)} (revision {_revision(r)}): "
            f"{r.get('spec', {}).get('replicas', 0)} desired, {r.get('status', {}).get('readyReplicas', 0)} ready, "
            f"image {', '.join(_images(r))}"
            for r in sets
        ],
    )
    w.section("Pods", [pod_line(p) for p in state.pods_of(d)])
    w.section("Events", events(state, d) + [line for r in sets for line in events(state, r)])


def describe_replicaset(state: ClusterState, r: Json, w: Writer) -> None:
    """Replicas, owner, pods and events."""
    spec, status = r.get("spec", {}), r.get("status", {})
    w.para(
        f"ReplicaSet {_name(r)} in namespace {meta(r).get('namespace')} has {status.get('readyReplicas', 0)} of "
        f"{spec.get('replicas', 0)} replicas ready."
    )
    w.section(
        "Overview",
        overview(
            r,
            state,
            f"Replicas: {spec.get('replicas', 0)} desired, {status.get('readyReplicas', 0)} ready, "
            f"{status.get('availableReplicas', 0)} available",
        ),
    )
    w.section("Conditions", conditions(r))
    _template_containers(state, r, w)
    w.section("Pods", [pod_line(p) for p in state.children(r, "pod")])
    w.section("Events", events(state, r))


def describe_statefulset(state: ClusterState, s: Json, w: Writer) -> None:
    """Replicas, claims, pods and events."""
    spec, status = s.get("spec", {}), s.get("status", {})
    desired = int(spec.get("replicas", 1))
    w.para(
        f"StatefulSet {_name(s)} in namespace {meta(s).get('namespace')} has {status.get('readyReplicas', 0)} of "
        f"{desired} replicas ready."
    )
    claims = [
        f"{c.get('metadata', {}).get('name')}: {quantities(c.get('spec', {}).get('resources', {}).get('requests'))}, "
        f"class {c.get('spec', {}).get('storageClassName', 'default')}"
        for c in spec.get("volumeClaimTemplates") or []
    ]
    w.section(
        "Overview",
        overview(
            s,
            state,
            f"Replicas: {desired} desired, {status.get('currentReplicas', 0)} current, "
            f"{status.get('readyReplicas', 0)} ready, {status.get('updatedReplicas', 0)} updated",
            f"Service: {spec.get('serviceName')}" if spec.get("serviceName") else "",
            "Volume claim templates: " + "; ".join(claims) if claims else "",
        ),
    )
    w.section("Conditions", conditions(s))
    _template_containers(state, s, w)
    w.section("Pods", [pod_line(p) for p in state.pods_of(s)])
    w.section("Events", events(state, s))


def describe_daemonset(state: ClusterState, d: Json, w: Writer) -> None:
    """Scheduled, ready and unavailable counts, pods and events."""
    status = d.get("status", {})
    w.para(
        f"DaemonSet {_name(d)} in namespace {meta(d).get('namespace')} has {status.get('numberReady', 0)} of "
        f"{status.get('desiredNumberScheduled', 0)} pods ready, {status.get('numberUnavailable', 0)} unavailable."
    )
    w.section(
        "Overview",
        overview(
            d,
            state,
            f"Pods: {status.get('desiredNumberScheduled', 0)} desired, {status.get('currentNumberScheduled', 0)} "
            f"scheduled, {status.get('numberReady', 0)} ready, {status.get('numberAvailable', 0)} available, "
            f"{status.get('numberUnavailable', 0)} unavailable, {status.get('numberMisscheduled', 0)} misscheduled",
        ),
    )
    w.section("Conditions", conditions(d))
    _template_containers(state, d, w)
    w.section("Pods", [pod_line(p) for p in state.pods_of(d)])
    w.section("Events", events(state, d))


def describe_job(state: ClusterState, j: Json, w: Writer) -> None:
    """Completions, failures, conditions, pods (with the failed pod's log) and events."""
    spec, status = j.get("spec", {}), j.get("status", {})
    failed = [c for c in status.get("conditions") or [] if c.get("type") == "Failed" and c.get("status") == "True"]
    outcome = (
        f"failed: {failed[0].get('reason')}: {failed[0].get('message')}"
        if failed
        else ("complete" if status.get("succeeded") else f"{status.get('active', 0)} active")
    )
    w.para(f"Job {_name(j)} in namespace {meta(j).get('namespace')} {outcome}.")
    w.section(
        "Overview",
        overview(
            j,
            state,
            f"Completions: {status.get('succeeded', 0)}/{spec.get('completions', 1)}",
            f"Pods: {status.get('active', 0)} active, {status.get('succeeded', 0)} succeeded, "
            f"{status.get('failed', 0)} failed",
            f"Backoff limit: {spec.get('backoffLimit', 6)}",
            f"Active deadline: {spec.get('activeDeadlineSeconds')}s" if spec.get("activeDeadlineSeconds") else "",
            f"Started: {status.get('startTime')}" if status.get("startTime") else "",
            f"Completed: {status.get('completionTime')}" if status.get("completionTime") else "",
        ),
    )
    w.section("Conditions", conditions(j))
    _template_containers(state, j, w)
    pods = sorted(state.children(j, "pod"), key=lambda p: meta(p).get("creationTimestamp") or "")
    w.section("Pods", [pod_line(p) for p in pods])
    w.section("Events", events(state, j))
    if pods:
        for heading, text in pod_logs(state, pods[-1]):
            w.block(f"{heading} of pod {_name(pods[-1])}", text)


def describe_cronjob(state: ClusterState, c: Json, w: Writer) -> None:
    """Schedule, last runs and their jobs."""
    spec, status = c.get("spec", {}), c.get("status", {})
    w.para(
        f"CronJob {_name(c)} in namespace {meta(c).get('namespace')} runs on schedule {spec.get('schedule')}"
        + (" (suspended)" if spec.get("suspend") else "")
        + f"; last scheduled {status.get('lastScheduleTime', 'never')}, last successful "
        f"{status.get('lastSuccessfulTime', 'never')}."
    )
    w.section(
        "Overview",
        overview(
            c,
            state,
            f"Schedule: {spec.get('schedule')}" + (f" ({spec['timeZone']})" if spec.get("timeZone") else ""),
            f"Suspend: {str(bool(spec.get('suspend'))).lower()}",
            f"Concurrency policy: {spec.get('concurrencyPolicy', 'Allow')}",
            f"Last schedule: {status.get('lastScheduleTime', 'never')}",
            f"Last successful: {status.get('lastSuccessfulTime', 'never')}",
        ),
    )
    jobs = sorted(state.children(c, "job"), key=lambda j: meta(j).get("creationTimestamp") or "")
    w.section("Jobs", [f"{_name(j)}: {_job_outcome(j)}" for j in jobs])
    w.section("Events", events(state, c))


def _job_outcome(j: Json) -> str:
    for cond in j.get("status", {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return f"{cond.get('type')}" + (f" ({cond.get('reason')})" if cond.get("reason") else "")
    return f"{j.get('status', {}).get('active', 0)} active"


def describe_service(state: ClusterState, s: Json, w: Writer) -> None:
    """Type, addresses, ports, selector and the pods it selects."""
    spec = s.get("spec", {})
    selector = spec.get("selector") or {}
    pods = [
        p
        for p in state.list_objects(KINDS["pod"], meta(s).get("namespace"))
        if selector and all((meta(p).get("labels") or {}).get(k) == v for k, v in selector.items())
    ]
    ready = [p for p in pods if all(c.get("ready") for c in p.get("status", {}).get("containerStatuses") or [{}])]
    ports = [
        f"{p.get('name', '')} {p.get('port')}/{p.get('protocol', 'TCP')} -> {p.get('targetPort', p.get('port'))}"
        + (f" (node port {p['nodePort']})" if p.get("nodePort") else "")
        for p in spec.get("ports") or []
    ]
    w.para(
        f"Service {_name(s)} in namespace {meta(s).get('namespace')} ({spec.get('type', 'ClusterIP')}) selects "
        f"{len(pods)} pods, {len(ready)} ready."
    )
    w.section(
        "Overview",
        overview(
            s,
            state,
            f"Type: {spec.get('type', 'ClusterIP')}",
            f"Cluster IP: {spec.get('clusterIP')}" if spec.get("clusterIP") else "",
            "Selector: " + ", ".join(f"{k}={v}" for k, v in selector.items()) if selector else "Selector: none",
            "Ports: " + "; ".join(ports) if ports else "",
        ),
    )
    w.section("Endpoints", [pod_line(p) for p in pods])
    w.section("Events", events(state, s))


def describe_ingress(state: ClusterState, i: Json, w: Writer) -> None:
    """Class, rules, TLS and annotations."""
    spec = i.get("spec", {})
    rules = []
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            backend = (path.get("backend") or {}).get("service") or {}
            port = backend.get("port", {})
            rules.append(
                f"{rule.get('host', '*')}{path.get('path', '/')} ({path.get('pathType', 'Prefix')}) -> service "
                f"{backend.get('name')}:{port.get('number') or port.get('name')}"
            )
    tls = [
        f"{', '.join(t.get('hosts') or [])} with certificate secret {t.get('secretName')}"
        for t in spec.get("tls") or []
    ]
    annotations = [f"{k}: {v}" for k, v in sorted((meta(i).get("annotations") or {}).items())]
    hosts = sorted({r.get("host", "*") for r in spec.get("rules") or []})
    w.para(f"Ingress {_name(i)} in namespace {meta(i).get('namespace')} routes {', '.join(hosts) or 'no host'}.")
    w.section("Overview", overview(i, state, f"Class: {spec.get('ingressClassName', 'default')}"))
    w.section("Rules", rules)
    w.section("TLS", tls)
    w.section("Annotations", annotations)
    w.section("Events", events(state, i))


def describe_pvc(state: ClusterState, c: Json, w: Writer) -> None:
    """Phase, class, size, volume, the pods using it and events."""
    spec, status = c.get("spec", {}), c.get("status", {})
    users = [
        p
        for p in state.list_objects(KINDS["pod"], meta(c).get("namespace"))
        if any(
            (v.get("persistentVolumeClaim") or {}).get("claimName") == _name(c)
            for v in p.get("spec", {}).get("volumes") or []
        )
    ]
    w.para(
        f"PersistentVolumeClaim {_name(c)} in namespace {meta(c).get('namespace')} is {status.get('phase', 'Unknown')}"
        f" (requested {quantities(spec.get('resources', {}).get('requests'))}, class "
        f"{spec.get('storageClassName', 'default')})."
    )
    w.section(
        "Overview",
        overview(
            c,
            state,
            f"Status: {status.get('phase', 'Unknown')}",
            f"Storage class: {spec.get('storageClassName', 'default')}",
            f"Requested: {quantities(spec.get('resources', {}).get('requests'))}",
            f"Capacity: {quantities(status.get('capacity'))}" if status.get("capacity") else "",
            f"Access modes: {', '.join(spec.get('accessModes') or [])}",
            f"Volume: {spec.get('volumeName')}" if spec.get("volumeName") else "Volume: none bound",
        ),
    )
    w.section("Used by", [pod_line(p) for p in users])
    w.section("Events", events(state, c))


def describe_node(state: ClusterState, n: Json, w: Writer) -> None:
    """Conditions, taints, capacity, system info, its pods and events."""
    spec, status = n.get("spec", {}), n.get("status", {})
    ready: Json = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    pods = state.pods_on(_name(n))
    label = meta(n).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in label if k.startswith("node-role.kubernetes.io/")) or ["none"]
    info = status.get("nodeInfo") or {}
    w.para(
        f"Node {_name(n)} of cluster {state.context} is {'Ready' if ready.get('status') == 'True' else 'NotReady'}"
        + (f": {ready.get('reason')}: {ready.get('message')}" if ready.get("status") != "True" else "")
        + f"; {len(pods)} pods scheduled on it."
    )
    w.section(
        "Overview",
        overview(
            n,
            state,
            f"Roles: {', '.join(roles)}",
            f"Zone: {label.get('topology.kubernetes.io/zone')}" if label.get("topology.kubernetes.io/zone") else "",
            f"Instance type: {label.get('node.kubernetes.io/instance-type')}"
            if label.get("node.kubernetes.io/instance-type")
            else "",
            "Addresses: " + ", ".join(f"{a.get('type')} {a.get('address')}" for a in status.get("addresses") or []),
            "Unschedulable: true" if spec.get("unschedulable") else "",
            f"Capacity: {quantities(status.get('capacity'))}",
            f"Allocatable: {quantities(status.get('allocatable'))}",
            f"Kubelet: {info.get('kubeletVersion')}, {info.get('osImage')}, kernel {info.get('kernelVersion')}, "
            f"{info.get('containerRuntimeVersion')}"
            if info
            else "",
        ),
    )
    w.section("Conditions", conditions(n))
    w.section(
        "Taints",
        [f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}".replace("=:", ":") for t in spec.get("taints") or []],
    )
    w.section("Pods", [f"{meta(p).get('namespace')}/{pod_line(p)}" for p in pods])
    w.section("Events", events(state, n))


def describe_configmap(state: ClusterState, c: Json, w: Writer) -> None:
    """Name and keys only: values may hold anything."""
    keys = sorted({*(c.get("data") or {}), *(c.get("binaryData") or {})})
    w.para(f"ConfigMap {_name(c)} in namespace {meta(c).get('namespace')} holds {len(keys)} keys.")
    w.section("Overview", overview(c, state))
    w.section("Keys", keys)


DESCRIBERS: dict[str, Describer] = {
    "deployment": describe_deployment,
    "replicaset": describe_replicaset,
    "statefulset": describe_statefulset,
    "daemonset": describe_daemonset,
    "job": describe_job,
    "cronjob": describe_cronjob,
    "service": describe_service,
    "ingress": describe_ingress,
    "persistentvolumeclaim": describe_pvc,
    "node": describe_node,
    "configmap": describe_configmap,
}
