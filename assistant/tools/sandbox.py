"""The sandbox: the only way a tool runs. Every call is checked against the caller's permissions before it runs
(role -> tools; organization -> clusters and namespaces; key -> namespaces), its arguments are validated, and it runs
in a worker process (assistant.tools.workers) with a timeout and an output cap. Every call, allowed or not, is
audited and counted; the result is always a value (status, data, error, the exact invocation), never an exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from assistant.audit import AuditLog
from assistant.auth import ALL_NAMESPACES, Principal
from assistant.metrics import Metrics
from assistant.tools import kubernetes, prometheus
from assistant.tools.registry import Preparation, Tool, ToolContext, ToolResult, ToolStatus, tools
from assistant.tools.workers import WorkerFailure, WorkerPool
from core.settings import Settings
from index.knowledge import KnowledgeIndex
from index.records import SearchFilters
from ingest.cluster.config import ClusterConfig, Clusters
from ingest.cluster.kinds import kind_spec

log = logging.getLogger(__name__)


class Denied(Exception):
    """A call the caller may not make; the message says why (and never what another organization has)."""


class Sandbox:
    """Runs tools for callers, within what each caller may do."""

    def __init__(
        self,
        settings: Settings,
        clusters: Clusters,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
        documents: Callable[[str, str], list[tuple[str, str]]] | None = None,
    ) -> None:
        self.settings = settings
        self.clusters = clusters
        self.documents = documents  # (org, query) -> the org's documents, for tools that prepare from them
        self.audit = audit
        self.metrics = metrics
        self.pool = WorkerPool(settings.tool_workers)
        # no organization may hold every worker: a hung cluster of one org must not stall the tools of the others
        self._per_org = max(1, settings.tool_workers // 2)
        self._org_slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    def context(self, org: str) -> ToolContext:
        """What is configured for an organization (for prerequisites)."""
        mine = self.clusters.of(org)
        return ToolContext(org=org, clusters=len(mine), prometheus=sum(1 for c in mine if c.prometheus_url))

    def catalog(self, who: Principal) -> list[dict[str, Any]]:
        """The tools, each with its schema and whether the caller can use it now."""
        context = self.context(who.org)
        listed = []
        for tool in tools().values():
            entry = tool.describe(context)
            if entry["status"] == "enabled" and not self._may(who, tool):
                entry["status"] = f"denied: your role may not run {tool.family} tools"
            listed.append(entry)
        return listed

    def call(self, who: Principal, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Check, run, audit and count one call."""
        started = time.perf_counter()
        result = self._call(who, name, dict(arguments))
        result.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        self._record(who, result)
        return result

    def close(self) -> None:
        """Stop the workers."""
        self.pool.close()

    # -- the checks -----------------------------------------------------------------------------------------------

    def _call(self, who: Principal, name: str, arguments: dict[str, Any]) -> ToolResult:
        tool = tools().get(name)
        if tool is None:
            return ToolResult(name=name, arguments=arguments, status="error", error=f"unknown tool {name!r}")
        try:
            args = tool.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            return ToolResult(name=name, arguments=arguments, status="error", error=f"invalid arguments: {problems}")
        arguments = args.model_dump(exclude_none=True)
        reason = tool.disabled(self.context(who.org))
        if reason:
            return ToolResult(name=name, arguments=arguments, status="disabled", error=reason)
        if tool.family == "config":  # reads no cluster: the caller's role is all that is checked
            if not self._may(who, tool):
                return ToolResult(name=name, arguments=arguments, status="denied", error="your role may not run it")
            return self._run(tool, self._prepared(who, tool, arguments), None, who.org, None, False, tool.name)
        try:
            cluster = self._cluster(who, args, metrics=tool.family == "metrics")
            namespaces, cluster_scoped = self._scope(who, tool, cluster, args)
        except Denied as exc:
            shown = _invocation(tool, arguments, None, None)
            return ToolResult(name=name, arguments=arguments, status="denied", error=str(exc), invocation=shown)
        shown = _invocation(tool, arguments, cluster.name, namespaces)
        return self._run(tool, arguments, cluster, who.org, namespaces, cluster_scoped, shown)

    def _prepared(self, who: Principal, tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments with what the service sets itself (a caller's values for those are replaced)."""
        if tool.prepare is None:
            return arguments
        lookup = self.documents

        def documents(query: str) -> list[tuple[str, str]]:
            return lookup(who.org, query) if lookup is not None else []

        return arguments | tool.prepare(Preparation(who.org, documents))

    def _may(self, who: Principal, tool: Tool) -> bool:
        return who.can(tool.permission) or who.can("tools:all")

    def _cluster(self, who: Principal, args: BaseModel, metrics: bool = False) -> ClusterConfig:
        name = getattr(args, "cluster", None)
        mine = [c for c in self.clusters.of(who.org) if c.prometheus_url or not metrics]
        found = next((c for c in mine if c.name == name), None) if name else (mine[0] if len(mine) == 1 else None)
        if found is None:
            if name is None:
                raise Denied("name the cluster: " + ", ".join(c.name for c in mine))
            raise Denied(f"cluster {name} is not one of your organization's clusters")
        return found

    def _scope(
        self, who: Principal, tool: Tool, cluster: ClusterConfig, args: BaseModel
    ) -> tuple[list[str] | None, bool]:
        """The namespaces the call may read (None: every namespace of the cluster) and whether it may read
        cluster-scoped objects (nodes)."""
        if not self._may(who, tool):
            raise Denied(f"role {'/'.join(who.roles) or 'none'} may not run {tool.family} tools")
        operator = who.can("tools:all")
        kind = getattr(args, "kind", None)
        if kind is not None and not kind_spec(kind).namespaced and not operator:
            raise Denied(f"{kind}s are cluster-scoped: only operators may read them")
        everywhere = operator or ALL_NAMESPACES in who.namespaces
        mine = set(cluster.namespaces) if cluster.namespaces else None  # None: the org reads every namespace
        if not everywhere:
            mine = set(who.namespaces) if mine is None else mine & set(who.namespaces)
        requested = getattr(args, "namespace", None)
        if requested is not None:
            if not cluster.allows(requested):
                raise Denied(f"namespace {requested} of cluster {cluster.name} is not open to the assistant")
            if mine is not None and requested not in mine:
                raise Denied(f"namespace {requested} is not one your key may read")
            return [requested], operator
        if mine is not None and not mine:
            raise Denied("your key may read no namespace of this cluster")
        return (sorted(mine) if mine is not None else None), operator

    # -- running --------------------------------------------------------------------------------------------------

    def _run(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        cluster: ClusterConfig | None,
        org: str,
        namespaces: list[str] | None,
        cluster_scoped: bool,
        shown: str,
    ) -> ToolResult:
        s = self.settings
        request = {
            "tool": tool.name,
            "arguments": arguments,
            "cluster": _cluster_json(cluster),
            "namespaces": namespaces,
            "cluster_scoped": cluster_scoped,
            "limits": {
                "output_bytes": s.tool_output_bytes,
                "log_lines": s.tool_log_lines,
                "timeout_s": max(1.0, s.tool_timeout_s - 1),
                "max_series": s.prometheus_max_series,
                "max_points": s.prometheus_max_points,
                "prometheus_bytes": s.prometheus_max_bytes,
            },
        }
        shown_arguments = {k: v for k, v in arguments.items() if tool.prepare is None or k != "conventions"}
        base: dict[str, Any] = {
            "name": tool.name,
            "arguments": shown_arguments,
            "invocation": shown,
            "cluster": cluster.name if cluster else None,
        }
        slot = self._org_slot(org)
        if not slot.acquire(timeout=s.tool_timeout_s):
            return ToolResult(**base, status="timeout", error="every tool worker of your organization stayed busy")
        try:
            answer = self.pool.run(request, s.tool_timeout_s, s.tool_output_bytes * 2 + 4096)
        except WorkerFailure as exc:
            status: ToolStatus = "timeout" if exc.kind == "timeout" else "error"
            message = f"{exc.message} ({s.tool_timeout_s:g} s)" if exc.kind == "timeout" else exc.message
            return ToolResult(**base, status=status, error=message)
        finally:
            slot.release()
        if answer.get("status") != "ok":
            denied = answer.get("error_type") == "PermissionDeniedError"
            return ToolResult(**base, status="denied" if denied else "error", error=str(answer.get("error")))
        return ToolResult(**base, status="ok", data=answer.get("data"), truncated=bool(answer.get("truncated")))

    def _org_slot(self, org: str) -> threading.BoundedSemaphore:
        with self._slots_lock:
            return self._org_slots.setdefault(org, threading.BoundedSemaphore(self._per_org))

    def _record(self, who: Principal, result: ToolResult) -> None:
        if self.metrics is not None:
            self.metrics.tool_calls.labels(result.name, result.status).inc()
        if self.audit is not None:
            self.audit.append(
                who.org,
                who.user,
                "tool",
                result.status,
                tool=result.name,
                arguments=result.arguments,
                invocation=result.invocation,
                cluster=result.cluster,
                error=result.error,
                truncated=result.truncated or None,
                latency_ms=result.duration_ms,
            )


def _cluster_json(cluster: ClusterConfig | None) -> dict[str, Any]:
    if cluster is None:
        return {}
    return {
        "kubeconfig": str(cluster.kubeconfig) if cluster.kubeconfig else None,
        "dump": str(cluster.dump) if cluster.dump else None,
        "context": cluster.context,  # None: the kubeconfig's current context
        "name": cluster.name,
        "prometheus_url": cluster.prometheus_url,
        "prometheus_namespace_label": cluster.prometheus_namespace_label,
    }


def _invocation(tool: Tool, arguments: dict[str, Any], cluster: str | None, namespaces: list[str] | None) -> str:
    if tool.family == "metrics":
        return prometheus.invocation(tool.name, arguments, cluster, namespaces)
    return kubernetes.invocation(tool.name, arguments, cluster)


def documents_from(index: KnowledgeIndex, k: int = 12) -> Callable[[str, str], list[tuple[str, str]]]:
    """A lookup of an organization's docs (whole texts) for a query, for tools that prepare from them."""

    def lookup(org: str, query: str) -> list[tuple[str, str]]:
        hits = index.search(org, query, k=k, filters=SearchFilters(source_types=["doc"]))
        ids = list(dict.fromkeys(h.source_id for h in hits))
        return [(sid, "\n".join(str(p.payload.get("text", "")) for p in index.chunks(org, sid))) for sid in ids]

    return lookup


def open_sandbox(
    settings: Settings,
    audit: AuditLog | None = None,
    metrics: Metrics | None = None,
    documents: Callable[[str, str], list[tuple[str, str]]] | None = None,
) -> Sandbox:
    """The sandbox over the configured clusters (``AIOPS_CLUSTERS_FILE``); workers start on first use."""
    return Sandbox(settings, Clusters.load(settings.clusters_file), audit, metrics, documents)
