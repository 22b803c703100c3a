"""A read-only Kubernetes API server over a cluster snapshot folder, so the official client runs its real code path.

The folder is laid out as ``corpora/clusters/<context>/`` (see corpora/README.md). Only GET is served, Secrets and
anything not listed in ``RESOURCES`` are Forbidden, every request is recorded, and three faults can be switched on
while it runs (``delay_s``, ``fail_with``, ``huge_log_bytes``). Each request reads the files again: tests may edit a
snapshot in ``tmp_path`` between calls.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import socketserver
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

logger = logging.getLogger(__name__)

Json = dict[str, Any]
USER = "system:serviceaccount:aiops:assistant-reader"  # who the Forbidden messages name, as RBAC would
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}  # Go's strconv.ParseBool, which the API server uses
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}
_REASONS |= {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
_BLOCK = re.compile(
    r"^==== START logs for container (?P<container>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ====\n(?P<body>.*?)"
    r"^==== END logs for container (?P=container) of pod (?P=ns)/(?P=pod) ====$",
    re.MULTILINE | re.DOTALL,
)
_LABEL = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_LABEL_TERM = re.compile(
    rf"\s*(?:!\s*(?P<absent>{_LABEL})|(?P<key>{_LABEL})\s*(?:(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)"
    rf"|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*"
)
_FIELD_ALIASES = {"source": "source.component"}  # the event field selector "source" is source.component
_DUMP_ERROR = re.compile(r"^Request log error: [^\n]*?\(get pods [^)]*\): (?P<message>[^\n]*)")


@dataclass(frozen=True)
class Resource:
    """One served resource: its REST plural, its kind, its API group and the field selectors the real API accepts."""

    plural: str
    kind: str
    group: str = ""  # "" is the core group (/api/v1)
    namespaced: bool = True
    fields: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        """The apiVersion of its objects (v1, apps/v1 ...)."""
        return f"{self.group}/v1" if self.group else "v1"


_EVENT_FIELDS = "involvedObject.kind involvedObject.namespace involvedObject.name involvedObject.uid"
_EVENT_FIELDS += " involvedObject.apiVersion involvedObject.resourceVersion involvedObject.fieldPath"
_EVENT_FIELDS += " reason reportingComponent source type"
_POD_FIELDS = "spec.nodeName spec.restartPolicy spec.schedulerName spec.serviceAccountName spec.hostNetwork"
_POD_FIELDS += " status.phase status.podIP status.nominatedNodeName"
RESOURCES: dict[tuple[str, str], Resource] = {  # by (apiVersion, plural)
    (r.api_version, r.plural): r
    for r in (
        Resource("namespaces", "Namespace", namespaced=False, fields=frozenset({"status.phase"})),
        Resource("nodes", "Node", namespaced=False, fields=frozenset({"spec.unschedulable"})),
        Resource("pods", "Pod", fields=frozenset(_POD_FIELDS.split())),
        Resource("services", "Service"),
        Resource("events", "Event", fields=frozenset(_EVENT_FIELDS.split())),
        Resource("persistentvolumeclaims", "PersistentVolumeClaim"),
        Resource("configmaps", "ConfigMap"),
        Resource("deployments", "Deployment", "apps"),
        Resource("replicasets", "ReplicaSet", "apps", fields=frozenset({"status.replicas"})),
        Resource("statefulsets", "StatefulSet", "apps"),
        Resource("daemonsets", "DaemonSet", "apps"),
        Resource("jobs", "Job", "batch", fields=frozenset({"status.successful"})),
        Resource("cronjobs", "CronJob", "batch"),
        Resource("ingresses", "Ingress", "networking.k8s.io"),
    )
}
GROUPS = ("apps", "batch", "networking.k8s.io")  # served under /apis/<group>/v1
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.4",
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean",
    "buildDate": "2024-12-10T11:37:43Z",
    "goVersion": "go1.22.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class ApiError(Exception):
    """An answer other than 200, sent as a Kubernetes Status object."""

    def __init__(self, code: int, message: str, details: Json | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def status(self) -> Json:
        """The Status body the real API sends with this code."""
        body: Json = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        body |= {"message": self.message, "reason": _REASONS.get(self.code, "InternalError"), "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def not_found(plural: str, name: str) -> ApiError:
    """404 for a named object, worded as the real API words it."""
    return ApiError(404, f'{plural} "{name}" not found', {"name": name, "kind": plural})


def forbidden(plural: str, group: str, verb: str, namespace: str | None, name: str | None = None) -> ApiError:
    """403 as RBAC words it, for a reader that may only get and list the served resources."""
    what = f'{plural.split("/")[0]} "{name}"' if name else plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{what} is forbidden: User "{USER}" cannot {verb} resource "{plural}" in API group "{group}" {scope}'
    return ApiError(403, message, {"name": name, "kind": plural} if name else {"kind": plural})


@dataclass(frozen=True)
class Requirement:
    """One term of a field selector (``label`` False) or a label selector."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()
    label: bool = False

    def holds(self, item: Json) -> bool:
        """Whether the object satisfies the term; a field that is absent reads as ""."""
        labels = item.get("metadata", {}).get("labels") or {}
        present = self.key in labels if self.label else True
        value = str(labels.get(self.key, "")) if self.label else field_value(item, self.key)
        if self.op in ("exists", "!exists"):
            return present == (self.op == "exists")
        inside = present and value in self.values
        return inside if self.op in ("=", "in") else not inside


def field_value(item: Json, dotted: str) -> str:
    """The value a field selector compares: a dotted path, booleans written as Go writes them."""
    value: Any = item
    for part in _FIELD_ALIASES.get(dotted, dotted).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def parse_field_selector(text: str, allowed: frozenset[str]) -> list[Requirement]:
    """``k=v``, ``k==v`` and ``k!=v`` terms joined by commas, on the fields the real API indexes for the kind."""
    found = []
    for term in (t for t in text.split(",") if t.strip()):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", term)
        if not match:
            raise ApiError(400, f"invalid selector: '{text}'; can't understand '{term}'")
        key, op, value = match.groups()
        if key not in allowed:
            raise ApiError(400, f"field label not supported: {key}")
        found.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({value})))
    return found


def parse_label_selector(text: str) -> list[Requirement]:
    """Equality (``=``, ``==``, ``!=``), set (``in``, ``notin``) and existence (``k``, ``!k``) terms."""
    found = []
    for term in (t for t in re.split(r",(?![^()]*\))", text) if t.strip()):
        match = _LABEL_TERM.fullmatch(term)
        if not match:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
        if match["absent"]:
            found.append(Requirement(match["absent"], "!exists", label=True))
        elif match["op"]:
            op = "!=" if match["op"] == "!=" else "="
            found.append(Requirement(match["key"], op, frozenset({match["value"]}), label=True))
        elif match["set"]:
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            found.append(Requirement(match["key"], match["set"], values, label=True))
        else:
            found.append(Requirement(match["key"], "exists", label=True))
    return found


def matches(item: Json, requirements: list[Requirement]) -> bool:
    """Whether the object satisfies every term (selectors AND their terms)."""
    return all(r.holds(item) for r in requirements)


@dataclass
class RecordedRequest:
    """One request as it arrived; ``status`` is filled in when it has been answered (None while it hangs)."""

    method: str
    path: str
    query: dict[str, str]
    authorized: bool
    status: int | None = None


@dataclass(frozen=True)
class Reply:
    """A response about to be written."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @staticmethod
    def json(data: Json, status: int = 200) -> Reply:
        """A JSON body."""
        return Reply(status, json.dumps(data).encode())

    @staticmethod
    def text(data: bytes) -> Reply:
        """A text/plain body, as the log subresource sends."""
        return Reply(200, data, "text/plain")


@dataclass
class Snapshot:
    """The snapshot folder, read as the API would show it."""

    root: Path

    def namespaces(self) -> list[str]:
        """Namespace names: the sub-folders that hold List files."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def resource_version(self) -> str:
        """The cluster's resourceVersion, taken from nodes.json."""
        return str(self._read(self.root / "nodes.json").get("metadata", {}).get("resourceVersion", "1"))

    def items(self, res: Resource, namespace: str | None) -> list[Json]:
        """The objects of one resource in one namespace, or across all of them (namespace None)."""
        if res.plural == "namespaces":
            return [self.namespace(ns) for ns in self.namespaces()]
        if not res.namespaced:
            return list(self._read(self.root / f"{res.plural}.json").get("items", []))
        spaces = [namespace] if namespace is not None else self.namespaces()
        found: list[Json] = []
        for ns in spaces:
            if ns in self.namespaces():
                found += self._read(self.root / ns / f"{res.plural}.json").get("items", [])
        return found

    def namespace(self, name: str) -> Json:
        """A Namespace derived from its folder; it is as old as its oldest object."""
        stamps = [
            str(item["metadata"]["creationTimestamp"])
            for path in (self.root / name).glob("*.json")
            for item in self._read(path).get("items", [])
            if item.get("metadata", {}).get("creationTimestamp")
        ]
        metadata: Json = {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.root.name}/{name}"))}
        metadata |= {"resourceVersion": self.resource_version(), "creationTimestamp": min(stamps, default=None)}
        metadata |= {"labels": {"kubernetes.io/metadata.name": name}}
        body: Json = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
        return body | {"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}

    def log(self, namespace: str, pod: str, container: str, previous: bool) -> bytes:
        """The log of one container; b"" when the dump holds none (a pod never scheduled)."""
        folder = self.root / namespace / pod
        if previous:
            path = folder / f"logs-{container}-previous.txt"
            if not path.is_file():
                raise ApiError(400, f'previous terminated container "{container}" in pod "{pod}" not found')
            text = path.read_text(encoding="utf-8")
            block = _BLOCK.search(text)
            return (block["body"] if block else text).encode()
        path = folder / "logs.txt"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        for block in _BLOCK.finditer(text):
            if (block["container"], block["ns"], block["pod"]) == (container, namespace, pod):
                dumped_error = _DUMP_ERROR.match(block["body"])
                if dumped_error:  # kubectl wrote the API's refusal in place of the log (ImagePullBackOff ...)
                    raise ApiError(400, dumped_error["message"])
                return str(block["body"]).encode()
        return b""

    @staticmethod
    def _read(path: Path) -> Json:
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}


def synthetic_log(size: int, container: str) -> bytes:
    """``size`` bytes of plausible JSON log lines (the last one cut short), for the huge-log fault."""
    lines: list[bytes] = []
    total, i = 0, 0
    while total < size:
        level, status = ("warn", 503) if i % 97 == 96 else ("info", 200)
        ms = i * 10  # one line every 10 ms from midnight
        stamp = f"{ms // 3_600_000 % 24:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
        line = (
            f'{{"ts":"2026-11-20T{stamp}Z","level":"{level}","msg":"handled request","container":"{container}",'
            f'"request_id":"{i * 2654435761 % 2**64:016x}","path":"/api/v1/orders/{100_000 + i}",'
            f'"status":{status},"duration_ms":{i * 37 % 900}}}\n'
        ).encode()
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)[:size]


def _int_param(query: dict[str, str], name: str, minimum: int) -> int | None:
    if name not in query:
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(400, f"{name}: invalid value {query[name]!r}: not an integer") from None
    if value < minimum:
        raise ApiError(400, f"{name}: Invalid value: {value}: must be greater than or equal to {minimum}")
    return value


def _bool_param(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "false")
    if value not in _TRUE | _FALSE:
        raise ApiError(400, f"{name}: invalid value {value!r}: not a boolean")
    return value in _TRUE


def trim_log(data: bytes, tail: int | None, limit: int | None) -> bytes:
    """tailLines first, then limitBytes, as the kubelet applies them."""
    if tail is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[len(lines) - tail :]) if tail else b""
    return data[:limit] if limit is not None else data


class KubeApiServer:
    """The snapshot served on 127.0.0.1 (an ephemeral port) from a background thread; use it as a context manager."""

    def __init__(self, snapshot: Path, token: str) -> None:
        if not (snapshot / "nodes.json").is_file():
            raise ValueError(f"{snapshot} is not a cluster snapshot (no nodes.json)")
        self.snapshot = Snapshot(snapshot)
        self.token = token
        self.delay_s: float = 0.0  # sleep this long before answering anything
        self.fail_with: int | None = None  # answer every request with this status and a Status body
        self.huge_log_bytes: int | None = None  # pod logs are this many bytes of generated lines
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, http://127.0.0.1:<port>."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._httpd.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in order of arrival."""
        with self._lock:
            return list(self._requests)

    def start(self) -> KubeApiServer:
        """Bind the port and serve from a background thread."""
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _HttpServer(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="kube-apiserver", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: wake hanging answers, cut open connections and join every thread."""
        if self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.cut_connections()
        self._httpd.server_close()  # joins the request threads
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def kubeconfig(self, path: Path, context: str, *, token: str | None = None) -> Path:
        """Write a kubeconfig for this server (plain http, bearer token; ``token`` overrides the right one)."""
        user = f"{context}-reader"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": user, "user": {"token": self.token if token is None else token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
            "current-context": context,
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)
        return path

    def answer(self, method: str, target: str, authorization: str | None) -> Reply:
        """Record one request and compute its reply (faults, then authentication, method, routing)."""
        url = urlsplit(target)
        query = dict(reversed(parse_qsl(url.query, keep_blank_values=True)))  # the first value wins, as in Go
        expected = f"Bearer {self.token}".encode()
        authorized = hmac.compare_digest((authorization or "").encode(), expected)
        record = RecordedRequest(method, url.path, query, authorized)
        with self._lock:
            self._requests.append(record)
        reply = self._reply(record)
        record.status = reply.status
        return reply

    def _reply(self, record: RecordedRequest) -> Reply:
        if self.delay_s > 0:
            self._stopping.wait(self.delay_s)
        try:
            if self.fail_with is not None:
                raise ApiError(self.fail_with, f"injected fault: the server answers {self.fail_with}")
            if not record.authorized:
                raise ApiError(401, "Unauthorized")
            if record.method != "GET":
                raise ApiError(405, "the server does not allow this method on the requested resource")
            return self._route([unquote(s) for s in record.path.split("/") if s], record.query)
        except ApiError as exc:
            return Reply.json(exc.status(), exc.code)
        except Exception as exc:  # the HTTP boundary: a fixture bug answers 500 instead of dropping the connection
            logger.exception("kube fixture failed on %s %s", record.method, record.path)
            return Reply.json(ApiError(500, f"fixture error: {exc!r}").status(), 500)

    def _route(self, segments: list[str], query: dict[str, str]) -> Reply:
        if not segments:
            return Reply.json({"paths": ["/api", "/api/v1", "/apis", *(f"/apis/{g}/v1" for g in GROUPS), "/version"]})
        if segments == ["version"]:
            return Reply.json(VERSION)
        if segments in (["healthz"], ["livez"], ["readyz"]):
            return Reply.text(b"ok")
        if segments[0] == "api" and len(segments) == 1:
            address = [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.url.removeprefix("http://")}]
            return Reply.json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": address})
        if segments[0] == "apis" and len(segments) <= 2:
            return self._groups(segments[1] if len(segments) == 2 else None)
        if segments[:2] == ["api", "v1"]:
            version, rest = "v1", segments[2:]
        elif segments[0] == "apis":
            version, rest = f"{segments[1]}/{segments[2]}", segments[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        return self._resource(version, rest, query) if rest else self._resource_list(version)

    def _groups(self, name: str | None) -> Reply:
        groups = [
            {"name": g, "versions": [v := {"groupVersion": f"{g}/v1", "version": "v1"}], "preferredVersion": v}
            for g in GROUPS
        ]
        if name is None:
            return Reply.json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        for group in groups:
            if group["name"] == name:
                return Reply.json({"kind": "APIGroup", "apiVersion": "v1", **group})
        raise ApiError(404, "the server could not find the requested resource")

    def _resource_list(self, version: str) -> Reply:
        resources = [
            {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind}
            | {"verbs": ["get", "list"]}
            for r in RESOURCES.values()
            if r.api_version == version
        ]
        if not resources:
            raise ApiError(404, "the server could not find the requested resource")
        if version == "v1":
            log = {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
            resources.append(log)
        body: Json = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": version}
        return Reply.json(body | {"resources": resources})

    def _resource(self, version: str, rest: list[str], query: dict[str, str]) -> Reply:
        """A list, a get or a log under /api/v1 or /apis/<group>/<version>; anything else is Forbidden."""
        group = version.rpartition("/")[0]
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), rest[2:]
        verb = "watch" if _bool_param(query, "watch") else ("get" if name else "list")
        res = RESOURCES.get((version, plural))
        served_sub = not sub or (plural == "pods" and sub == ["log"])
        refused = "secrets" in (*rest, namespace) or verb == "watch" or not served_sub
        if res is None or refused or (namespace and not res.namespaced):
            shown = "/".join([plural, *sub[:1]])
            raise forbidden(shown, group, verb, namespace, name)
        if name is None:
            return self._list(res, namespace, query)
        if res.namespaced and namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        found = self._get(res, namespace, name)
        if sub:
            return self._log(found, query)
        return Reply.json({**found, "kind": res.kind, "apiVersion": res.api_version})

    def _list(self, res: Resource, namespace: str | None, query: dict[str, str]) -> Reply:
        allowed = res.fields | {"metadata.name"} | ({"metadata.namespace"} if res.namespaced else set())
        wanted: list[Requirement] = parse_field_selector(query.get("fieldSelector", ""), allowed)
        wanted += parse_label_selector(query.get("labelSelector", ""))
        items = [item for item in self.snapshot.items(res, namespace) if matches(item, wanted)]
        body: Json = {"kind": f"{res.kind}List", "apiVersion": res.api_version}
        return Reply.json(body | {"metadata": {"resourceVersion": self.snapshot.resource_version()}, "items": items})

    def _get(self, res: Resource, namespace: str | None, name: str) -> Json:
        if res.plural == "namespaces":
            if name not in self.snapshot.namespaces():
                raise not_found(res.plural, name)
            return self.snapshot.namespace(name)
        for item in self.snapshot.items(res, namespace):
            if item.get("metadata", {}).get("name") == name:
                return item
        raise not_found(res.plural, name)

    def _log(self, pod: Json, query: dict[str, str]) -> Reply:
        name, namespace = str(pod["metadata"]["name"]), str(pod["metadata"]["namespace"])
        spec = pod.get("spec", {})
        containers = [str(c["name"]) for key in ("initContainers", "containers") for c in spec.get(key, [])]
        container = query.get("container", "")
        if not container:
            if len(containers) != 1:
                raise ApiError(400, f"a container name must be specified for pod {name}, choose one of: {containers}")
            container = containers[0]
        elif container not in containers:
            raise ApiError(400, f"container {container} is not valid for pod {name}")
        previous = _bool_param(query, "previous")
        tail, limit = _int_param(query, "tailLines", 0), _int_param(query, "limitBytes", 1)
        data = self.snapshot.log(namespace, name, container, previous)
        if self.huge_log_bytes is not None:
            data = synthetic_log(self.huge_log_bytes, container)
        return Reply.text(trim_log(data, tail, limit))


class _HttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its KubeApiServer, its open connections and its request threads.

    The standard one joins only non-daemon threads on close, and a non-daemon thread idle on a keep-alive connection
    would hold the interpreter open at exit; here the threads are daemons, tracked and joined by ``server_close``.
    """

    def __init__(self, api: KubeApiServer) -> None:
        self.api = api
        self._open: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        """The port the kernel gave."""
        return int(self.socket.getsockname()[1])

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (socket.getfqdn can take seconds)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.port

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection and hand it to a thread of its own."""
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="kube-apiserver-conn", daemon=True
        )
        with self._open_lock:
            self._open.add(request)
            self._workers = [t for t in self._workers if t.is_alive()] + [thread]
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """End open connections: a thread idle on keep-alive would otherwise wait for the client's next request."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        """Close the listening socket and join every request thread (call cut_connections first)."""
        super().server_close()
        with self._open_lock:
            threads, self._workers = self._workers, []
        for thread in threads:
            thread.join()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a timeout) is not an error of the server."""
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API server and urllib3's pool expect
    disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms delayed-ACK stall between them

    def do_GET(self) -> None:
        """Every method is answered here (see __getattr__); KubeApiServer refuses all but GET."""
        self._drain_body()
        reply = self.server.api.answer(self.command, self.path, self.headers.get("Authorization"))
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:  # the client gave up (a timeout) or the server is closing
            self.close_connection = True

    def __getattr__(self, name: str) -> Any:
        """do_POST, do_DELETE, do_PROPFIND ...: any method reaches do_GET, to be recorded and refused with 405."""
        if name.startswith("do_"):
            return self.do_GET
        raise AttributeError(name)

    def _drain_body(self) -> None:
        """Read a request body so the next request on the connection starts clean."""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded in KubeApiServer.requests; keep stderr quiet."""
        logger.debug(format, *args)
