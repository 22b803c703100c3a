"""The checks of a pod: CrashLoopBackOff, OOMKilled, ImagePullBackOff, FailedScheduling and ProbeFailing.

A container is reported by one check only (an OOM kill, then a crash loop, then an image pull, then its probes), so
the same failure is not reported twice under different names.
"""

from __future__ import annotations

from ingest.cluster.findings import Finding, _cap, _finding
from ingest.cluster.readers import Json, namespace_of
from ingest.cluster.scope import (
    _condition_line,
    _conditions,
    _Container,
    _containers,
    _count,
    _event_container,
    _event_lines,
    _get,
    _message,
    _name,
    _phase,
    _ref,
    _Scope,
    _where,
)

_PULL_REASONS = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}
_PULL_EVENTS = {"Failed", "BackOff", "InspectFailed", "ErrImageNeverPull"}
_PROBES = {"Readiness": "readinessProbe", "Liveness": "livenessProbe", "Startup": "startupProbe"}


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
