"""What the checks read: the objects of the namespaces analyzed (``_Scope``), a pod's containers (``_Container``) and
the lookups over plain objects that the checks share (nested fields, names, references, conditions, events, owners)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import ClusterError, NotFoundError
from ingest.cluster.kinds import CLUSTER_NAMESPACE, KINDS
from ingest.cluster.readers import ClusterReader, Json, namespace_of


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
