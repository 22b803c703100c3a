"""The Kubernetes kinds the product reads: how each is named, listed and fetched. Secrets are not among them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInputError
from index.tenancy import CLUSTER_NAMESPACE


@dataclass(frozen=True)
class KindSpec:
    """One readable kind: its names, its API group and the official client's methods for it."""

    kind: str  # lower case, as in source ids: pod, deployment, node ...
    title: str  # as the API writes it: Pod, Deployment ...
    plural: str  # as in REST paths and dump file names: pods, deployments ...
    api_version: str
    client: str  # CoreV1Api, AppsV1Api, ...
    namespaced: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def list_namespaced(self) -> str:
        """The client method listing one namespace."""
        return f"list_namespaced_{_snake(self.title)}"

    @property
    def list_all(self) -> str:
        """The client method listing every namespace (or the cluster-scoped kind)."""
        name = _snake(self.title)
        return f"list_{name}_for_all_namespaces" if self.namespaced else f"list_{name}"

    @property
    def read(self) -> str:
        """The client method reading one object."""
        name = _snake(self.title)
        return f"read_namespaced_{name}" if self.namespaced else f"read_{name}"

    @property
    def list_kind(self) -> str:
        """The kind of a list of these (PodList)."""
        return f"{self.title}List"


def _snake(title: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(title))


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec("pod", "Pod", "pods", "v1", "CoreV1Api", aliases=("po", "pods")),
        KindSpec("deployment", "Deployment", "deployments", "apps/v1", "AppsV1Api", aliases=("deploy", "deployments")),
        KindSpec("statefulset", "StatefulSet", "statefulsets", "apps/v1", "AppsV1Api", aliases=("sts", "statefulsets")),
        KindSpec("daemonset", "DaemonSet", "daemonsets", "apps/v1", "AppsV1Api", aliases=("ds", "daemonsets")),
        KindSpec("replicaset", "ReplicaSet", "replicasets", "apps/v1", "AppsV1Api", aliases=("rs", "replicasets")),
        KindSpec("job", "Job", "jobs", "batch/v1", "BatchV1Api", aliases=("jobs",)),
        KindSpec("cronjob", "CronJob", "cronjobs", "batch/v1", "BatchV1Api", aliases=("cj", "cronjobs")),
        KindSpec("service", "Service", "services", "v1", "CoreV1Api", aliases=("svc", "services")),
        KindSpec("ingress", "Ingress", "ingresses", "networking.k8s.io/v1", "NetworkingV1Api", aliases=("ing",)),
        KindSpec(
            "persistentvolumeclaim",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "v1",
            "CoreV1Api",
            aliases=("pvc", "pvcs", "persistentvolumeclaims"),
        ),
        KindSpec("configmap", "ConfigMap", "configmaps", "v1", "CoreV1Api", aliases=("cm", "configmaps")),
        KindSpec("event", "Event", "events", "v1", "CoreV1Api", aliases=("ev", "events")),
        KindSpec("node", "Node", "nodes", "v1", "CoreV1Api", namespaced=False, aliases=("no", "nodes")),
    )
}
__all__ = ["CLUSTER_NAMESPACE", "KINDS", "KindSpec", "kind_spec", "validate_label", "validate_name"]
_BY_NAME = {name: spec for spec in KINDS.values() for name in (spec.kind, spec.title.lower(), *spec.aliases)}


def kind_spec(name: str) -> KindSpec:
    """The spec of a kind by any of its names (pod, pods, po, Pod); InvalidInputError for anything else."""
    spec = _BY_NAME.get(name.strip().lower())
    if spec is None:
        raise InvalidInputError(
            f"kind {name!r} is not readable here; allowed: {', '.join(sorted(KINDS))} (secrets are never read)"
        )
    return spec


_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")  # DNS-1123 subdomain: object names
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # DNS-1123 label: namespaces, containers


def validate_name(name: str, what: str = "name") -> str:
    """An object name (DNS-1123 subdomain), or InvalidInputError: no path, shell or selector syntax gets through."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InvalidInputError(f"invalid {what} {name!r}: use lower-case letters, digits, '-' and '.' (DNS-1123)")
    return name


def validate_label(name: str, what: str = "namespace") -> str:
    """A namespace or container name (DNS-1123 label), or InvalidInputError."""
    if not isinstance(name, str) or not _LABEL.fullmatch(name):
        raise InvalidInputError(f"invalid {what} {name!r}: use up to 63 lower-case letters, digits and '-' (DNS-1123)")
    return name
