"""Deterministic checks over cluster state, reading it as ``kubectl describe`` and k8sgpt's analyzers would.

Each check turns objects into ``Finding`` values: the object, one sentence saying what is wrong, the facts that show it
quoted from the objects (status fields, condition and event messages, the last lines of the log of a failed container),
the alerts that failure raises (to link runbooks) and the other objects involved. Nothing here calls a model or writes
to the cluster; besides one list per kind and namespace, the only reads are logs, and a log that cannot be read is
noted in the evidence instead of failing the analysis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from core.errors import ClusterError, NotFoundError
from ingest.cluster.kinds import CLUSTER_NAMESPACE, KINDS, kind_spec
from ingest.cluster.readers import ClusterReader, Json, namespace_of

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
_PULL_REASONS = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}
_PULL_EVENTS = {"Failed", "BackOff", "InspectFailed", "ErrImageNeverPull"}
_PROBES = {"Readiness": "readinessProbe", "Liveness": "livenessProbe", "Startup": "startupProbe"}
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


def _cap(text: str) -> str:
    text = text.strip()
    if len(text) <= _CAP:
        return text
    # a wrapped error puts its context first and its root cause last ("...: 403 Forbidden"): keep both ends
    half = (_CAP - 3) // 2
    return f"{text[:half]} … {text[-half:]}"


def _get(obj: Json, *path: str) -> Any:
    """A nested field, None when any step is absent."""
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _name(obj: Json) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _ref(obj: Json) -> str:
    return f"{str(obj.get('kind', '')).lower()}/{namespace_of(obj)}/{_name(obj)}"


def _where(obj: Json) -> str:
    return f"{namespace_of(obj)}/{_name(obj)}"


def _conditions(obj: Json) -> dict[str, Json]:
    return {str(c.get("type")): c for c in _get(obj, "status", "conditions") or []}


def _condition_line(c: Json, *, message: bool = True) -> str:
    reason = f" ({c['reason']})" if c.get("reason") else ""
    said = f": {c['message']}" if message and c.get("message") else ""
    return f"condition {c.get('type')} {c.get('status')}{reason}{said}"


def _phase(obj: Json) -> str:
    return str(_get(obj, "status", "phase") or "")


def _unready(pod: Json) -> bool:
    """Not ready, and not because it has finished."""
    ready = _get(_conditions(pod), "Ready", "status") == "True"
    return not ready and _phase(pod) not in ("Succeeded", "Failed")


def _event_container(event: Json) -> str | None:
    path = str(_get(event, "involvedObject", "fieldPath") or "")  # spec.containers{name}
    return path.partition("{")[2].rstrip("}") or None


@dataclass(frozen=True)
class _Container:
    """A container of a pod: its spec and its status side by side."""

    name: str
    label: str  # "container x" or "init container x"
    spec: Json
    status: Json

    def state(self, key: str) -> Json:
        """The current state's ``waiting``, ``running`` or ``terminated`` part ({} when in another state)."""
        found: Json = _get(self.status, "state", key) or {}
        return found

    @property
    def waiting(self) -> str:
        return str(self.state("waiting").get("reason") or "")

    @property
    def last(self) -> Json:
        found: Json = _get(self.status, "lastState", "terminated") or {}
        return found

    @property
    def memory_limit(self) -> str | None:
        limit = _get(self.spec, "resources", "limits", "memory")
        return str(limit) if limit else None

    def oom(self) -> Json | None:
        """The terminated state that was an OOM kill, the current one first."""
        return next((t for t in (self.state("terminated"), self.last) if t.get("reason") == "OOMKilled"), None)

    def state_lines(self) -> list[str]:
        """Its waiting state, restart count and terminations, as ``kubectl describe`` shows them."""
        lines = []
        if waiting := self.state("waiting"):
            said = f": {waiting['message']}" if waiting.get("message") else ""
            lines.append(f"{self.label}: waiting {waiting.get('reason')}{said}")
        lines.append(f"{self.label}: restartCount {self.status.get('restartCount', 0)}")
        for when, t in (("terminated", self.state("terminated")), ("last terminated", self.last)):
            if t:
                finished = f", finished {t['finishedAt']}" if t.get("finishedAt") else ""
                said = f": {t['message']}" if t.get("message") else ""
                lines.append(f"{self.label}: {when} {t.get('reason')}, exit code {t.get('exitCode')}{finished}{said}")
        return lines


def _containers(pod: Json) -> list[_Container]:
    found = []
    for kind, specs, statuses in (("init container", "initContainers", "initContainerStatuses"),
                                  ("container", "containers", "containerStatuses")):  # fmt: skip
        by_name = {str(c.get("name")): c for c in _get(pod, "spec", specs) or []}
        for status in _get(pod, "status", statuses) or []:
            name = str(status.get("name", ""))
            found.append(_Container(name, f"{kind} {name}", by_name.get(name, {}), status))
    return found


class _Scope:
    """What the checks read: the objects of the namespaces analyzed, listed once and cross-referenced."""

    READ = ("pod", "replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob", "persistentvolumeclaim")

    def __init__(self, reader: ClusterReader, namespaces: list[str], cluster_scoped: bool, log_lines: int) -> None:
        self.reader, self.log_lines = reader, log_lines
        self.objects = {k: [o for ns in namespaces for o in reader.list_objects(KINDS[k], ns)] for k in self.READ}
        # a namespaced service account may not list nodes: without cluster_scoped they are not read at all
        self.objects["node"] = reader.list_objects(KINDS["node"]) if cluster_scoped else []
        self.events: dict[str, list[Json]] = defaultdict(list)
        for event in (e for ns in namespaces for e in reader.list_objects(KINDS["event"], ns)):
            about = event.get("involvedObject") or {}
            ns = about.get("namespace") or CLUSTER_NAMESPACE
            self.events[f"{str(about.get('kind', '')).lower()}/{ns}/{about.get('name', '')}"].append(event)
        self.parents = {_ref(o): p for items in self.objects.values() for o in items if (p := _controller(o))}
        self.members: dict[str, list[Json]] = defaultdict(list)  # a controller -> the pods under it, at any depth
        for pod in self.objects["pod"]:
            for owner in self.chain(_ref(pod)):
                self.members[owner].append(pod)
        self.down = {_name(n) for n in self.objects["node"] if _get(_conditions(n), "Ready", "status") != "True"}

    def chain(self, ref: str) -> list[str]:
        """The controllers above an object, nearest first."""
        found: list[str] = []
        while (ref := self.parents.get(ref, "")) and ref not in found:
            found.append(ref)
        return found

    def owners(self, pod: Json) -> list[str]:
        """The pod's workload and its controllers, skipping a ReplicaSet whose Deployment is known."""
        return [r for r in self.chain(_ref(pod)) if not (r.startswith("replicaset/") and r in self.parents)]

    def node_down(self, pod: Json) -> bool:
        """The pod's node is not ready (the node controller says so on the pod when nodes are not read)."""
        reason = _get(_conditions(pod), "Ready", "reason")
        return _get(pod, "spec", "nodeName") in self.down or reason == "NodeNotReady"

    def event_lines(self, obj: Json, keep: Callable[[Json], bool], skip: Iterable[str] = ()) -> list[str]:
        """``event <reason> (x<count>): <message>`` for the object's events that ``keep`` accepts."""
        return _event_lines([e for e in self.events.get(_ref(obj), []) if keep(e)], skip)

    def log_tail(self, pod: Json, container: str, *, previous: bool) -> list[str]:
        """The last lines of a container's log, one evidence line each; a log that cannot be read is noted."""
        label = f"{container} {'previous log' if previous else 'log'}"
        try:
            text = self.reader.logs(namespace_of(pod), _name(pod), container, previous=previous, tail=self.log_lines)
        except (NotFoundError, ClusterError) as exc:
            return [f"{'previous log' if previous else 'log'} unavailable: {exc}"]
        return [f"{label}: {line.rstrip()}" for line in text.splitlines() if line.strip()] or [f"{label}: (empty)"]


def _message(event: Json) -> str:
    return str(event.get("message") or event.get("note") or "")


def _count(event: Json) -> int:
    return int(event.get("count") or _get(event, "series", "count") or 1)


def _event_lines(events: Iterable[Json], skip: Iterable[str] = ()) -> list[str]:
    skipped = set(skip)
    return [f"event {e.get('reason')} (x{_count(e)}): {_message(e)}" for e in events if _message(e) not in skipped]


def _controller(obj: Json) -> str | None:
    refs = sorted(_get(obj, "metadata", "ownerReferences") or [], key=lambda r: not r.get("controller"))
    if refs:
        return f"{str(refs[0].get('kind', '')).lower()}/{namespace_of(obj)}/{refs[0].get('name', '')}"
    job = _get(obj, "metadata", "labels", "job-name")  # a Job's pods carry its name even when orphaned
    return f"job/{namespace_of(obj)}/{job}" if job and obj.get("kind") == "Pod" else None


def _finding(
    check: CheckName, severity: Severity, obj: Json, summary: str, evidence: Iterable[str], related: Iterable[str] = ()
) -> Finding:
    kind = str(obj.get("kind", "")).lower()
    alerts = _WORKLOAD_ALERTS.get(kind, _ALERTS[check]) if check == "DeploymentUnavailable" else _ALERTS[check]
    lines = tuple(dict.fromkeys(_cap(e) for e in evidence if e))
    return Finding(check, severity, kind, namespace_of(obj), _name(obj), summary, lines, alerts, tuple(related))


def _pod_findings(scope: _Scope, pod: Json) -> list[Finding]:
    containers = _containers(pod)
    oom = [c for c in containers if c.oom() is not None]
    # the OOM kill is why such a container loops: its OOMKilled finding says so, a CrashLoopBackOff one would repeat it
    crash = [c for c in containers if c.waiting == "CrashLoopBackOff" and c not in oom]
    pull = [c for c in containers if c.waiting in _PULL_REASONS]
    rest = [c for c in containers if c not in oom + crash + pull]
    found = [
        _oom(scope, pod, oom) if oom else None,
        _crash(scope, pod, crash) if crash else None,
        _image_pull(scope, pod, pull) if pull else None,
        _scheduling(scope, pod),
        _probe(scope, pod, rest),
    ]
    return [f for f in found if f is not None]


def _crash(scope: _Scope, pod: Json, containers: list[_Container]) -> Finding:
    evidence = []
    for c in containers:
        evidence += c.state_lines() + scope.log_tail(pod, c.name, previous=True)
    names = {c.name for c in containers}
    evidence += scope.event_lines(pod, lambda e: e.get("reason") == "BackOff" and _event_container(e) in names)
    first, last = containers[0], containers[0].last
    ended = f", its last run ended with {last.get('reason')} (exit code {last.get('exitCode')})" if last else ""
    also = f" (also {', '.join(c.label for c in containers[1:])})" if len(containers) > 1 else ""
    restarts = first.status.get("restartCount", 0)
    summary = f"Pod {_where(pod)} is in CrashLoopBackOff: {first.label} restarted {restarts} times{ended}{also}."
    return _finding("CrashLoopBackOff", "critical", pod, summary, evidence, scope.owners(pod))


def _oom(scope: _Scope, pod: Json, containers: list[_Container]) -> Finding:
    evidence = []
    for c in containers:
        evidence += c.state_lines() + [f"{c.label}: memory limit {c.memory_limit or '(none set)'}"]
        # the killed run is the previous one, unless the container has not been restarted since
        evidence += scope.log_tail(pod, c.name, previous=c.oom() is c.last)
    first, killed = containers[0], containers[0].oom() or {}
    looping = "; it is now in CrashLoopBackOff" if first.waiting == "CrashLoopBackOff" else ""
    summary = (
        f"Pod {_where(pod)} was OOMKilled: {first.label} exceeded its memory limit of "
        f"{first.memory_limit or '(none set)'} (exit code {killed.get('exitCode')}) and restarted "
        f"{first.status.get('restartCount', 0)} times{looping}."
    )
    return _finding("OOMKilled", "critical", pod, summary, evidence, scope.owners(pod))


def _image_pull(scope: _Scope, pod: Json, containers: list[_Container]) -> Finding:
    evidence = []
    for c in containers:
        evidence += [f"{c.label}: image {c.spec.get('image') or c.status.get('image')}", c.state_lines()[0]]
    names = {c.name for c in containers} | {None}
    evidence += scope.event_lines(pod, lambda e: e.get("reason") in _PULL_EVENTS and _event_container(e) in names)
    first = containers[0]
    image = first.spec.get("image") or first.status.get("image")
    summary = f"Pod {_where(pod)} is in {first.waiting}: {first.label} cannot pull image {image}."
    return _finding("ImagePullBackOff", "critical", pod, summary, evidence, scope.owners(pod))


def _scheduling(scope: _Scope, pod: Json) -> Finding | None:
    condition = _conditions(pod).get("PodScheduled") or {}
    # SchedulingGated: held back on purpose until its gates are removed
    if _phase(pod) != "Pending" or condition.get("status") != "False" or condition.get("reason") == "SchedulingGated":
        return None
    events = scope.event_lines(pod, lambda e: e.get("reason") == "FailedScheduling")
    said = str(condition.get("message") or "")
    evidence = [*events, _condition_line(condition, message=not any(line.endswith(said) for line in events))]
    for c in _get(pod, "spec", "containers") or []:
        requests = _get(c, "resources", "requests") or {}
        evidence.append(f"container {c.get('name')} requests " + ", ".join(f"{k} {v}" for k, v in requests.items()))
    if selector := _get(pod, "spec", "nodeSelector"):
        evidence.append("nodeSelector " + ", ".join(f"{k}={v}" for k, v in selector.items()))
    claims = {_name(c): c for c in scope.objects["persistentvolumeclaim"] if namespace_of(c) == namespace_of(pod)}
    related = scope.owners(pod)
    for claim in (_get(v, "persistentVolumeClaim", "claimName") for v in _get(pod, "spec", "volumes") or []):
        phase = _phase(claims[claim]) if claim in claims else "not found"
        if claim and phase != "Bound":
            evidence.append(f"waits on PersistentVolumeClaim {claim} (phase {phase})")
            related.append(f"persistentvolumeclaim/{namespace_of(pod)}/{claim}")
    why = said.split(". ")[0].rstrip(".") or "no node fits it"
    return _finding(
        "FailedScheduling", "warning", pod, f"Pod {_where(pod)} cannot be scheduled: {why}.", evidence, related
    )


def _probe_line(c: _Container, field: str) -> str:
    probe = c.spec.get(field) or {}
    if http := probe.get("httpGet"):
        how = f"httpGet {http.get('path', '/')} port {http.get('port')}"
    elif port := _get(probe, "tcpSocket", "port") or _get(probe, "grpc", "port"):
        how = f"{'tcpSocket' if 'tcpSocket' in probe else 'grpc'} port {port}"
    else:
        how = "exec " + " ".join(str(a) for a in _get(probe, "exec", "command") or [])
    timing = f"timeout {probe.get('timeoutSeconds', 1)}s, period {probe.get('periodSeconds', 10)}s"
    return f"{c.label}: {field} {how}, {timing}, failureThreshold {probe.get('failureThreshold', 3)}"


def _probe(scope: _Scope, pod: Json, containers: list[_Container]) -> Finding | None:
    # a pod on a node that is down looks unready too; the NodeNotReady finding names it instead
    if _phase(pod) != "Running" or scope.node_down(pod):
        return None
    unhealthy = [e for e in scope.events.get(_ref(pod), []) if e.get("reason") == "Unhealthy"]
    failing: list[tuple[_Container, list[Json]]] = []
    evidence: list[str] = []
    for c in containers:
        mine = [e for e in unhealthy if _event_container(e) in (c.name, None)]
        probes = {k for k in _PROBES for e in mine if _message(e).startswith(k)}
        unready = bool(c.state("running")) and not c.status.get("ready") and "readinessProbe" in c.spec
        # a readiness failure of a container that is ready again is past; a liveness or startup failure restarts it
        if not (unready or probes - {"Readiness"}):
            continue
        failing.append((c, mine))
        evidence += _event_lines(mine)
        evidence += [_probe_line(c, _PROBES[k]) for k in sorted(probes | ({"Readiness"} if unready else set()))]
        started = c.state("running").get("startedAt")
        evidence.append(f"{c.label}: ready {str(bool(c.status.get('ready'))).lower()}, running since {started}")
        evidence += scope.log_tail(pod, c.name, previous=False)
    if not failing:
        return None
    (first, events) = failing[0]
    state = "running but not ready" if not first.status.get("ready") else "restarted when it fails"
    probe = _message(events[0]).split(" ")[0].lower() if events else "readiness"
    seen = f" ({_cap(_message(events[0]))}, {_count(events[0])} times)" if events else ""
    summary = f"Pod {_where(pod)} fails its {probe} probe: {first.label} is {state}{seen}."
    return _finding("ProbeFailing", "warning", pod, summary, evidence, scope.owners(pod))


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


_OBJECT_CHECKS: tuple[tuple[str, Callable[[_Scope, Json], Finding | None]], ...] = (
    ("node", _node),
    ("persistentvolumeclaim", _pvc),
    ("job", _job),
    ("deployment", _deployment),
    ("statefulset", _statefulset),
    ("daemonset", _daemonset),
)
