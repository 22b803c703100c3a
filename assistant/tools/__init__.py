"""Tools: the registry (what exists), the sandbox (the only way one runs), the worker processes it runs them in,
the Kubernetes tools, and the investigation that picks tools for a question."""

from __future__ import annotations

from assistant.audit import AuditLog
from assistant.metrics import Metrics
from assistant.tools.registry import TOOLS, Tool, ToolContext, ToolResult, register, tools
from assistant.tools.sandbox import Sandbox
from core.settings import Settings
from ingest.cluster.config import Clusters

__all__ = ["TOOLS", "Sandbox", "Tool", "ToolContext", "ToolResult", "open_sandbox", "register", "tools"]


def open_sandbox(settings: Settings, audit: AuditLog | None = None, metrics: Metrics | None = None) -> Sandbox:
    """The sandbox over the configured clusters (``AIOPS_CLUSTERS_FILE``); workers start on first use."""
    return Sandbox(settings, Clusters.load(settings.clusters_file), audit, metrics)
