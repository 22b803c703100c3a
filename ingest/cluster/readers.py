"""Reading a cluster: live through the official client (GET only) or offline from a `kubectl cluster-info dump` folder.

Both readers return objects as the API's JSON (``kind`` and ``apiVersion`` set on every item, as a get returns them),
so whatever is built on them (descriptions, tools, analyzers) cannot tell a live cluster from its dump.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from core.errors import ClusterError, NotFoundError
from ingest.cluster.kinds import CLUSTER_NAMESPACE, KINDS, KindSpec

Json = dict[str, Any]
_LOG_BLOCK = re.compile(
    r"^==== START logs for container (?P<container>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ====\n"
    r"(?P<body>.*?)^==== END logs for container (?P=container) of pod (?P=ns)/(?P=pod) ====$",
    re.MULTILINE | re.DOTALL,
)


class ClusterReader(Protocol):
    """Read access to one cluster (a kubeconfig context or a dump of one)."""

    context: str

    def namespaces(self) -> list[str]:
        """Namespace names."""
        ...

    def list_objects(
        self, spec: KindSpec, namespace: str | None = None, fields: dict[str, str] | None = None
    ) -> list[Json]:
        """Objects of a kind in a namespace (None: every namespace), optionally matching field values."""
        ...

    def get(self, spec: KindSpec, namespace: str | None, name: str) -> Json:
        """One object; NotFoundError when absent."""
        ...

    def logs(
        self, namespace: str, pod: str, container: str | None = None, *, previous: bool = False, tail: int | None = None
    ) -> str:
        """A container's log (the previous, crashed container with ``previous``); NotFoundError when there is none."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def field_value(obj: Json, dotted: str) -> str:
    """The value of a field path such as ``involvedObject.name`` (empty when absent), as field selectors see it."""
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def tail_lines(text: str, tail: int | None) -> str:
    """The last ``tail`` lines of a log."""
    if tail is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[-tail:]) if tail > 0 else ""


def _stamped(spec: KindSpec, items: list[Json]) -> list[Json]:
    for item in items:
        item["kind"] = spec.title
        item["apiVersion"] = spec.api_version
    return items


class DumpCluster:
    """A `kubectl cluster-info dump --output-directory` folder (see corpora/README.md for the layout)."""

    def __init__(self, root: Path, context: str | None = None) -> None:
        if not root.is_dir():
            raise NotFoundError(f"cluster dump folder not found: {root}")
        self.root = root
        self.context = context or root.name
        self._cache: dict[tuple[str, str], list[Json]] = {}

    def namespaces(self) -> list[str]:
        """Folders that hold at least one object list."""
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and any((p / f"{s.plural}.json").is_file() for s in KINDS.values())
        )

    def list_objects(
        self, spec: KindSpec, namespace: str | None = None, fields: dict[str, str] | None = None
    ) -> list[Json]:
        """Objects from ``<namespace>/<plural>.json`` (``<plural>.json`` at the top for cluster-scoped kinds)."""
        if not spec.namespaced:
            found = self._file(spec, self.root / f"{spec.plural}.json")
        elif namespace is None:
            found = [item for ns in self.namespaces() for item in self.list_objects(spec, ns)]
        else:
            found = self._file(spec, self.root / namespace / f"{spec.plural}.json")
        return [o for o in found if all(field_value(o, k) == v for k, v in (fields or {}).items())]

    def get(self, spec: KindSpec, namespace: str | None, name: str) -> Json:
        """One object by name."""
        for item in self.list_objects(spec, namespace if spec.namespaced else None, {"metadata.name": name}):
            return item
        where = f"{namespace}/" if spec.namespaced else ""
        raise NotFoundError(f"{spec.kind} {where}{name} not found in {self.context}")

    def logs(
        self, namespace: str, pod: str, container: str | None = None, *, previous: bool = False, tail: int | None = None
    ) -> str:
        """From ``<pod>/logs.txt`` (one block per container) or ``<pod>/logs-<container>-previous.txt``."""
        container = container or self._only_container(namespace, pod)
        folder = self.root / namespace / pod
        if previous:
            path = folder / f"logs-{container}-previous.txt"
            if not path.is_file():
                raise NotFoundError(f"previous terminated container {container!r} in pod {pod!r} not found")
            return tail_lines(path.read_text(encoding="utf-8", errors="replace"), tail)
        for block in self._blocks(folder / "logs.txt"):
            if block["container"] == container:
                return tail_lines(block["body"], tail)
        raise NotFoundError(f"no log of container {container!r} in pod {namespace}/{pod}")

    def close(self) -> None:
        """Nothing to release."""

    def _only_container(self, namespace: str, pod: str) -> str:
        spec = self.get(KINDS["pod"], namespace, pod).get("spec", {})
        names = [c.get("name", "") for c in spec.get("containers", [])]
        if len(names) != 1:
            raise NotFoundError(f"pod {namespace}/{pod} has containers {', '.join(names)}: name one")
        return str(names[0])

    def _blocks(self, path: Path) -> Iterator[dict[str, str]]:
        if path.is_file():
            for match in _LOG_BLOCK.finditer(path.read_text(encoding="utf-8", errors="replace")):
                yield match.groupdict()

    def _file(self, spec: KindSpec, path: Path) -> list[Json]:
        key = (spec.kind, str(path))
        if key not in self._cache:
            if not path.is_file():
                return []
            try:
                items = json.loads(path.read_text(encoding="utf-8")).get("items") or []
            except (ValueError, AttributeError) as exc:
                raise ClusterError(
                    f"{path.name} in the dump of {self.context} is not a Kubernetes list: {exc}"
                ) from exc
            self._cache[key] = _stamped(spec, items)
        return [json.loads(json.dumps(item)) for item in self._cache[key]]  # callers may not change the cache


class LiveCluster:
    """A kubeconfig context, read through the official client; the client can only send GET (see ReadOnlyApiClient)."""

    def __init__(
        self, kubeconfig: Path, context: str | None = None, timeout_s: float = 10.0, name: str | None = None
    ) -> None:
        from kubernetes import client, config

        from ingest.cluster.readonly import ReadOnlyApiClient

        configuration = client.Configuration()
        try:
            config.load_kube_config(
                config_file=str(kubeconfig), context=context, client_configuration=configuration, persist_config=False
            )
        except (config.ConfigException, OSError, ValueError) as exc:
            raise ClusterError(f"cannot load kubeconfig {kubeconfig}: {exc}") from exc
        configuration.retries = 1  # urllib3 would retry a hung server 3 times; the sandbox has a deadline to keep
        self.context = name or context or _current_context(kubeconfig)  # what source ids call this cluster
        self.timeout_s = timeout_s
        self._client = ReadOnlyApiClient(configuration)
        self._apis: dict[str, Any] = {}

    def namespaces(self) -> list[str]:
        """Namespace names from the API."""
        data = self._call("CoreV1Api", "list_namespace")
        return sorted(str(n["metadata"]["name"]) for n in data.get("items", []))

    def list_objects(
        self, spec: KindSpec, namespace: str | None = None, fields: dict[str, str] | None = None
    ) -> list[Json]:
        """One list call; field values become a field selector."""
        options: dict[str, Any] = {}
        if fields:
            options["field_selector"] = ",".join(f"{k}={v}" for k, v in fields.items())
        if spec.namespaced and namespace is not None:
            data = self._call(spec.client, spec.list_namespaced, namespace, **options)
        else:
            data = self._call(spec.client, spec.list_all, **options)
        return _stamped(spec, list(data.get("items") or []))

    def get(self, spec: KindSpec, namespace: str | None, name: str) -> Json:
        """One get call."""
        args = (name, namespace) if spec.namespaced else (name,)
        found = self._call(spec.client, spec.read, *args)
        return _stamped(spec, [found])[0]

    def logs(
        self, namespace: str, pod: str, container: str | None = None, *, previous: bool = False, tail: int | None = None
    ) -> str:
        """The pod log call (``/log`` subresource)."""
        options: dict[str, Any] = {"previous": previous}
        if container:
            options["container"] = container
        if tail is not None:
            options["tail_lines"] = tail
        return str(self._call("CoreV1Api", "read_namespaced_pod_log", pod, namespace, raw=True, **options))

    def close(self) -> None:
        """Close the client's thread pool and its sockets (ApiClient.close leaves urllib3's pool open)."""
        self._client.close()
        self._client.rest_client.pool_manager.clear()

    def _call(self, api: str, method: str, *args: Any, raw: bool = False, **options: Any) -> Any:
        from kubernetes import client
        from urllib3.exceptions import HTTPError

        if api not in self._apis:
            self._apis[api] = getattr(client, api)(self._client)
        try:
            response = getattr(self._apis[api], method)(
                *args, _preload_content=False, _request_timeout=self.timeout_s, **options
            )
            body = response.data.decode("utf-8", errors="replace")
        except client.ApiException as exc:
            if exc.status == 404:
                raise NotFoundError(_status_message(exc.body) or f"not found in {self.context}") from exc
            reason = _status_message(exc.body) or exc.reason
            raise ClusterError(f"the API of {self.context} answered {exc.status}: {reason}") from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"the API of {self.context} did not answer: {type(exc).__name__}: {exc}") from exc
        if raw:
            return body
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ClusterError(f"the API of {self.context} answered something that is not JSON") from exc


def _status_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:300]
    except (TypeError, ValueError, AttributeError):
        return ""


def _current_context(kubeconfig: Path) -> str:
    import yaml

    try:
        return str(yaml.safe_load(kubeconfig.read_text()).get("current-context") or "default")
    except (OSError, yaml.YAMLError, AttributeError):
        return "default"


def open_reader(
    *,
    dump: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    timeout_s: float = 10.0,
    name: str | None = None,
) -> ClusterReader:
    """A reader of a dump folder or of a kubeconfig context; ``name`` (default: the context, or the dump folder's
    name) is what source ids call the cluster."""
    if dump is not None:
        return DumpCluster(dump, name or context)
    if kubeconfig is not None:
        return LiveCluster(kubeconfig, context, timeout_s, name)
    raise ClusterError("a cluster needs a kubeconfig or a dump folder")


def namespace_of(obj: Json) -> str:
    """The object's namespace as source ids write it (``_cluster`` for cluster-scoped objects)."""
    return str(obj.get("metadata", {}).get("namespace") or CLUSTER_NAMESPACE)
