"""Readable descriptions of cluster objects: what `kubectl describe` tells a person, as markdown sections.

Only what the object says is written (absolute timestamps, never "5m ago"), so an unchanged object gives the same
text on every sync and is not embedded again. Credentials are redacted before anything is rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.errors import AssistantError
from ingest.cluster.kinds import CLUSTER_NAMESPACE, KINDS
from ingest.cluster.readers import Json
from ingest.cluster.redaction import redact_object, redact_text
from ingest.cluster.state import ClusterState, event_time

LOG_LINES = 20
EVENTS = 10


@dataclass
class Description:
    """One object as a document: its source id, title, markdown text and the metadata its chunks carry."""

    source_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def source_id(context: str, kind: str, namespace: str | None, name: str) -> str:
    """``cluster/<context>/<namespace>/<kind>/<name>`` (``_cluster`` for cluster-scoped objects)."""
    return f"cluster/{context}/{namespace or CLUSTER_NAMESPACE}/{kind}/{name}"


class Writer:
    """Markdown lines of one description."""

    def __init__(self, title: str) -> None:
        self.lines = [f"# {title}", ""]

    def para(self, text: str) -> None:
        """A paragraph."""
        self.lines += [text, ""]

    def section(self, heading: str, items: Iterable[str], level: int = 2) -> None:
        """A heading with a bullet list; nothing when there are no items."""
        items = [i for i in items if i]
        if items:
            self.lines += [f"{'#' * level} {heading}", "", *(f"- {_one_line(i)}" for i in items), ""]

    def insert(self, heading: str, items: list[str], at: int) -> None:
        """A section put at line ``at`` (after the title and the opening paragraph)."""
        self.lines[at:at] = [f"## {heading}", "", *(f"- {_one_line(i)}" for i in items), ""]

    def block(self, heading: str, text: str) -> None:
        """A heading with a verbatim block (logs)."""
        if text.strip():
            fence = "~" * max(4, _longest_run(text, "~") + 1)
            self.lines += [f"## {heading}", "", fence, text.rstrip("\n"), fence, ""]

    def text(self) -> str:
        """The document."""
        return "\n".join(self.lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _longest_run(text: str, char: str) -> int:
    best = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        best = max(best, run)
    return best


# -- shared pieces ----------------------------------------------------------------------------------------------------


def meta(obj: Json) -> Json:
    """The object's metadata."""
    return dict(obj.get("metadata") or {})


def labels(obj: Json) -> str:
    """Labels as k=v, comma-separated."""
    return ", ".join(f"{k}={v}" for k, v in sorted((meta(obj).get("labels") or {}).items()))


def app_name(obj: Json) -> str | None:
    """The service a workload belongs to, from its usual labels."""
    found = meta(obj).get("labels") or {}
    for key in ("app.kubernetes.io/name", "app", "k8s-app", "app.kubernetes.io/instance"):
        if found.get(key):
            return str(found[key])
    return None


def overview(obj: Json, state: ClusterState, *extra: str) -> list[str]:
    """The lines every object has: cluster, namespace, owner, labels, creation."""
    m = meta(obj)
    owners = state.owner_chain(obj)
    owned = " (".join(f"{o.get('kind')} {meta(o).get('name')}" for o in owners) + ")" * (len(owners) - 1)
    return [
        f"Cluster: {state.context}",
        f"Namespace: {m['namespace']}" if m.get("namespace") else "",
        *extra,
        f"Controlled by: {owned}" if owners else "",
        f"Labels: {labels(obj)}" if m.get("labels") else "",
        f"Created: {m.get('creationTimestamp')}" if m.get("creationTimestamp") else "",
    ]


def conditions(obj: Json) -> list[str]:
    """Status conditions: type, status, reason and message, since when."""
    lines = []
    for c in obj.get("status", {}).get("conditions") or []:
        why = ": ".join(str(x) for x in (c.get("reason"), c.get("message")) if x)
        since = c.get("lastTransitionTime") or c.get("lastUpdateTime")
        lines.append(
            f"{c.get('type')}: {c.get('status')}" + (f", {why}" if why else "") + (f" (since {since})" if since else "")
        )
    return lines


def events(state: ClusterState, obj: Json) -> list[str]:
    """The object's latest events."""
    return [event_line(e) for e in state.events_of(obj)[-EVENTS:]]


def event_line(e: Json) -> str:
    """One event as a person reads it."""
    count = int(e.get("count") or 1)
    first, last = e.get("firstTimestamp"), event_time(e)
    when = f"x{count} from {first} to {last}" if count > 1 and first and first != last else f"at {last}"
    source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
    about = e.get("involvedObject", {})
    return (
        f"{e.get('type', 'Normal')} {e.get('reason', '')} on {about.get('kind', '')} {about.get('name', '')}, {when}"
        + (f" ({source})" if source else "")
        + f": {e.get('message', '')}"
    )


def quantities(values: Json | None) -> str:
    """cpu 250m, memory 384Mi."""
    return ", ".join(f"{k} {v}" for k, v in sorted((values or {}).items()))


def probe(p: Json | None) -> str:
    """A probe as `kubectl describe` prints it."""
    if not p:
        return ""
    if "httpGet" in p:
        h = p["httpGet"]
        how = f"http-get {h.get('scheme', 'HTTP').lower()}://:{h.get('port')}{h.get('path', '/')}"
    elif "tcpSocket" in p:
        how = f"tcp-socket :{p['tcpSocket'].get('port')}"
    elif "exec" in p:
        how = "exec [" + " ".join(p["exec"].get("command") or []) + "]"
    elif "grpc" in p:
        how = f"grpc :{p['grpc'].get('port')}"
    else:
        how = "probe"
    timing = (
        f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
        f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
        f"#failure={p.get('failureThreshold', 3)}"
    )
    return f"{how} {timing}"


def env_line(entries: list[Json] | None) -> str:
    """Environment: values inline (already redacted), references by name only."""
    parts = []
    for e in entries or []:
        source = e.get("valueFrom") or {}
        if "value" in e:
            parts.append(f"{e.get('name')}={e.get('value')}")
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            parts.append(f"{e.get('name')} from secret {ref.get('name')} key {ref.get('key')}")
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            parts.append(f"{e.get('name')} from config map {ref.get('name')} key {ref.get('key')}")
        elif "fieldRef" in source:
            parts.append(f"{e.get('name')} from field {source['fieldRef'].get('fieldPath')}")
        else:
            parts.append(str(e.get("name")))
    return ", ".join(parts)


def container_spec(c: Json) -> list[str]:
    """What a container is told to be."""
    ports = ", ".join(
        f"{p.get('name', '')} {p.get('containerPort')}/{p.get('protocol', 'TCP')}".strip() for p in c.get("ports") or []
    )
    resources = c.get("resources") or {}
    return [
        f"Image: {c.get('image')}",
        "Command: " + " ".join(c.get("command") or []) if c.get("command") else "",
        "Args: " + " ".join(c.get("args") or []) if c.get("args") else "",
        f"Ports: {ports}" if ports else "",
        f"Requests: {quantities(resources.get('requests'))}" if resources.get("requests") else "Requests: none",
        f"Limits: {quantities(resources.get('limits'))}" if resources.get("limits") else "Limits: none",
        f"Liveness probe: {probe(c.get('livenessProbe'))}" if c.get("livenessProbe") else "",
        f"Readiness probe: {probe(c.get('readinessProbe'))}" if c.get("readinessProbe") else "",
        f"Startup probe: {probe(c.get('startupProbe'))}" if c.get("startupProbe") else "",
        f"Environment: {env_line(c.get('env'))}" if c.get("env") else "",
        "Environment from: " + ", ".join(_env_from(c.get("envFrom") or [])) if c.get("envFrom") else "",
        "Mounts: " + ", ".join(f"{m.get('name')} at {m.get('mountPath')}" for m in c.get("volumeMounts") or [])
        if c.get("volumeMounts")
        else "",
    ]


def _env_from(sources: list[Json]) -> list[str]:
    found = []
    for s in sources:
        for key, what in (("configMapRef", "config map"), ("secretRef", "secret")):
            if key in s:
                found.append(f"{what} {s[key].get('name')}")
    return found


def container_state(state: Json | None) -> str:
    """Running since, Waiting with reason, or Terminated with reason and exit code."""
    if not state:
        return ""
    if "running" in state:
        return f"Running since {state['running'].get('startedAt')}"
    if "waiting" in state:
        w = state["waiting"]
        return (
            "Waiting"
            + (f", {w.get('reason')}" if w.get("reason") else "")
            + (f": {w['message']}" if w.get("message") else "")
        )
    t = state.get("terminated") or {}
    if not t:
        return ""
    return (
        f"Terminated, {t.get('reason', 'Unknown')}, exit code {t.get('exitCode')}"
        + (f", signal {t['signal']}" if t.get("signal") else "")
        + f", started {t.get('startedAt')}, finished {t.get('finishedAt')}"
        + (f": {t['message']}" if t.get("message") else "")
    )


# -- pods -------------------------------------------------------------------------------------------------------------


def pod_status(pod: Json) -> str:
    """The STATUS column of `kubectl get pods`."""
    if meta(pod).get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    inits = status.get("initContainerStatuses") or []
    for init, c in [(True, c) for c in inits] + [(False, c) for c in status.get("containerStatuses") or []]:
        state = c.get("state") or {}
        prefix = "Init:" if init else ""  # as kubectl prints a failing init container
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return prefix + str(state["waiting"]["reason"])
        if "terminated" in state and state["terminated"].get("reason") not in (None, "Completed"):
            return prefix + str(state["terminated"]["reason"])
    return str(status.get("reason") or status.get("phase") or "Unknown")


def pod_readiness(pod: Json) -> tuple[int, int, int]:
    """(ready containers, containers, restarts)."""
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or statuses)
    ready = sum(1 for c in statuses if c.get("ready"))
    return ready, total, sum(int(c.get("restartCount") or 0) for c in statuses)


def pod_line(pod: Json) -> str:
    """A pod in a list of pods."""
    ready, total, restarts = pod_readiness(pod)
    node = pod.get("spec", {}).get("nodeName") or "no node"
    return f"{meta(pod).get('name')}: {pod_status(pod)}, {ready}/{total} ready, {restarts} restarts, on {node}"


def describe_pod(state: ClusterState, pod: Json, w: Writer) -> None:
    """Status, conditions, containers, events and, for a pod in trouble, the tail of its log."""
    ready, total, restarts = pod_readiness(pod)
    spec, status = pod.get("spec", {}), pod.get("status", {})
    phrase = pod_status(pod)
    w.para(
        f"Pod {meta(pod).get('name')} in namespace {meta(pod).get('namespace')} of cluster {state.context} is "
        f"{phrase}: {ready}/{total} containers ready, {restarts} restarts."
    )
    w.section(
        "Overview",
        overview(
            pod,
            state,
            f"Status: {phrase} (phase {status.get('phase')})",
            f"Ready: {ready}/{total}",
            f"Restarts: {restarts}",
            f"Node: {spec.get('nodeName') or 'not scheduled'}",
            f"Pod IP: {status.get('podIP')}" if status.get("podIP") else "",
            f"QoS class: {status.get('qosClass')}" if status.get("qosClass") else "",
            f"Service account: {spec.get('serviceAccountName')}" if spec.get("serviceAccountName") else "",
            f"Message: {status.get('message')}" if status.get("message") else "",
        ),
    )
    w.section("Conditions", conditions(pod))
    statuses = {
        c.get("name"): c for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    }
    for kind, containers in (("Init container", spec.get("initContainers")), ("Container", spec.get("containers"))):
        for c in containers or []:
            s = statuses.get(c.get("name"), {})
            w.section(
                f"{kind} {c.get('name')}",
                [
                    f"State: {container_state(s.get('state'))}" if s.get("state") else "",
                    f"Last state: {container_state(s.get('lastState'))}" if container_state(s.get("lastState")) else "",
                    f"Ready: {str(bool(s.get('ready'))).lower()}" if s else "",
                    f"Restart count: {s.get('restartCount', 0)}" if s else "",
                    *container_spec(c),
                ],
            )
    volumes = [_volume(v) for v in spec.get("volumes") or []]
    w.section("Volumes", volumes)
    w.section("Events", events(state, pod))
    for heading, text in pod_logs(state, pod):
        w.block(heading, text)


def _volume(v: Json) -> str:
    for key, what in (
        ("persistentVolumeClaim", "claim"),
        ("configMap", "config map"),
        ("secret", "secret"),
        ("emptyDir", "emptyDir"),
        ("hostPath", "host path"),
        ("projected", "projected"),
    ):
        if key in v:
            ref = v[key] or {}
            target = ref.get("claimName") or ref.get("name") or ref.get("secretName") or ref.get("path") or ""
            return f"{v.get('name')}: {what} {target}".rstrip()
    return str(v.get("name"))


def pod_logs(state: ClusterState, pod: Json) -> list[tuple[str, str]]:
    """For containers that restarted or are not ready: the tail of the previous (crashed) or the current log."""
    found = []
    ns, name = meta(pod).get("namespace", ""), meta(pod).get("name", "")
    phase = pod.get("status", {}).get("phase")
    status = pod.get("status", {})
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        restarted = int(c.get("restartCount") or 0) > 0
        if c.get("ready") and not restarted and phase != "Failed":
            continue
        if "waiting" in (c.get("state") or {}) and not restarted:
            continue  # never started: no log to read
        previous = restarted and phase != "Failed"
        try:
            text = state.logs(ns, name, c.get("name"), previous=previous, tail=LOG_LINES)
        except AssistantError:
            continue
        which = "previous" if previous else "current"
        found.append((f"Log of the {which} {c.get('name')} container (last {LOG_LINES} lines)", redact_text(text)))
    return found


# -- dispatch ---------------------------------------------------------------------------------------------------------

Describer = Callable[[ClusterState, Json, Writer], None]


def describe(state: ClusterState, obj: Json, findings: list[str] | None = None) -> Description:
    """The description document of one object (events are described with their objects, not on their own)."""
    from ingest.cluster.describe_more import DESCRIBERS

    obj = redact_object(obj)
    kind = str(obj.get("kind", "")).lower()
    m = meta(obj)
    namespace = m.get("namespace") if KINDS[kind].namespaced else None
    title = f"{obj.get('kind')} {namespace + '/' if namespace else ''}{m.get('name')}"
    w = Writer(title)
    body: Describer = DESCRIBERS.get(kind) or describe_pod
    body(state, obj, w)
    if findings:  # right after the opening sentence: they are what a troubleshooting question is about
        w.insert("Findings", findings, at=4)
    metadata = {
        "cluster": state.context,
        "namespace": namespace or CLUSTER_NAMESPACE,
        "kind": kind,
        "name": m.get("name"),
        "status": status_word(obj),
        "services": [app] if (app := app_name(obj)) else [],
    }
    return Description(source_id(state.context, kind, namespace, str(m.get("name"))), title, w.text(), metadata)


def status_word(obj: Json) -> str:
    """A one-word health of the object (pod STATUS, node Ready/NotReady, PVC phase ...)."""
    kind = str(obj.get("kind", "")).lower()
    status = obj.get("status") or {}
    if kind == "pod":
        return pod_status(obj)
    if kind == "node":
        ready: Json = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        return "Ready" if ready.get("status") == "True" else "NotReady"
    if kind in ("persistentvolumeclaim",):
        return str(status.get("phase") or "Unknown")
    return ""
