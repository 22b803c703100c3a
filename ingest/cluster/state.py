"""One consistent read of a cluster: every readable kind listed once, then served from memory with cross-references
(owners, a node's pods, an object's events). It is itself a ClusterReader, so analyzers and descriptions built on it
make no further API calls except for logs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from core.errors import NotFoundError
from ingest.cluster.kinds import KINDS, KindSpec
from ingest.cluster.readers import ClusterReader, Json, field_value


class ClusterState:
    """The objects of some namespaces of one cluster (and its nodes), read once."""

    def __init__(self, reader: ClusterReader, namespaces: Sequence[str] | None = None, *, nodes: bool = True) -> None:
        self.reader = reader
        self.context = reader.context
        self._namespaces = sorted(namespaces) if namespaces is not None else reader.namespaces()
        self.objects: dict[str, list[Json]] = {}
        for spec in KINDS.values():
            if spec.namespaced and namespaces is None:  # one list call per kind, however many namespaces
                self.objects[spec.kind] = reader.list_objects(spec, None)
            elif spec.namespaced:
                self.objects[spec.kind] = [o for ns in self._namespaces for o in reader.list_objects(spec, ns)]
            else:
                self.objects[spec.kind] = reader.list_objects(spec) if nodes else []
        self._by_uid = {uid(o): o for items in self.objects.values() for o in items if uid(o)}
        self._children: dict[str, list[Json]] = defaultdict(list)
        for items in self.objects.values():
            for obj in items:
                for ref in obj.get("metadata", {}).get("ownerReferences") or []:
                    self._children[str(ref.get("uid", ""))].append(obj)

    # -- the ClusterReader protocol ---------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """The namespaces this state covers."""
        return list(self._namespaces)

    def list_objects(
        self, spec: KindSpec, namespace: str | None = None, fields: dict[str, str] | None = None
    ) -> list[Json]:
        """Objects of a kind, from memory."""
        found = self.objects.get(spec.kind, [])
        if spec.namespaced and namespace is not None:
            found = [o for o in found if o.get("metadata", {}).get("namespace") == namespace]
        return [o for o in found if all(field_value(o, k) == v for k, v in (fields or {}).items())]

    def get(self, spec: KindSpec, namespace: str | None, name: str) -> Json:
        """One object, from memory."""
        for obj in self.list_objects(spec, namespace if spec.namespaced else None, {"metadata.name": name}):
            return obj
        raise NotFoundError(
            f"{spec.kind} {f'{namespace}/' if spec.namespaced else ''}{name} not found in {self.context}"
        )

    def logs(
        self, namespace: str, pod: str, container: str | None = None, *, previous: bool = False, tail: int | None = None
    ) -> str:
        """Logs are not kept: asked of the reader."""
        return self.reader.logs(namespace, pod, container, previous=previous, tail=tail)

    def close(self) -> None:
        """The reader is its owner's to close."""

    # -- cross-references -------------------------------------------------------------------------------------------

    def children(self, obj: Json, kind: str | None = None) -> list[Json]:
        """Objects whose owner is ``obj`` (optionally of one kind)."""
        found = self._children.get(uid(obj), [])
        return [o for o in found if kind is None or o.get("kind", "").lower() == kind]

    def owner_chain(self, obj: Json) -> list[Json]:
        """The controllers above an object, nearest first (a pod's ReplicaSet, then its Deployment)."""
        chain: list[Json] = []
        current = obj
        while len(chain) < 5:
            refs = [r for r in current.get("metadata", {}).get("ownerReferences") or [] if r.get("controller")]
            owner = self._by_uid.get(str(refs[0].get("uid", ""))) if refs else None
            if owner is None:
                break
            chain.append(owner)
            current = owner
        return chain

    def pods_of(self, obj: Json) -> list[Json]:
        """Pods controlled by a workload, directly or through its ReplicaSets or Jobs."""
        pods = self.children(obj, "pod")
        for middle in self.children(obj, "replicaset") + self.children(obj, "job"):
            pods += self.children(middle, "pod")
        return pods

    def pods_on(self, node: str) -> list[Json]:
        """Pods scheduled on a node."""
        return [p for p in self.objects.get("pod", []) if p.get("spec", {}).get("nodeName") == node]

    def events_of(self, obj: Json) -> list[Json]:
        """Events about an object, latest last."""
        meta = obj.get("metadata", {})
        kind, name, ns = obj.get("kind"), meta.get("name"), meta.get("namespace")
        found = [
            e
            for e in self.objects.get("event", [])
            if e.get("involvedObject", {}).get("kind") == kind
            and e.get("involvedObject", {}).get("name") == name
            and (ns is None or e.get("involvedObject", {}).get("namespace") in (ns, None))
        ]
        return sorted(found, key=event_time)

    def orphan_events(self, namespace: str) -> list[Json]:
        """Events of a namespace about objects this state does not hold (deleted pods, secrets, ...)."""
        known = {(o.get("kind"), o.get("metadata", {}).get("name")) for items in self.objects.values() for o in items}
        return sorted(
            (
                e
                for e in self.list_objects(KINDS["event"], namespace)
                if (e.get("involvedObject", {}).get("kind"), e.get("involvedObject", {}).get("name")) not in known
            ),
            key=event_time,
        )


def uid(obj: Json) -> str:
    """The object's uid ('' when absent)."""
    return str(obj.get("metadata", {}).get("uid") or "")


def event_time(event: Json) -> str:
    """When an event last happened, as an ISO string that sorts."""
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or "")
