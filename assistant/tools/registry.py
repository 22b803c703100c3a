"""The tool registry: every tool the assistant may run, declared with its argument schema, read-only flag, the
permission it needs and its prerequisite. Tools are registered by name, as providers are; running one is the
sandbox's business (assistant.tools.sandbox), never the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.answers import ToolCall

ToolStatus = Literal["ok", "error", "denied", "disabled", "timeout"]


class ToolResult(BaseModel):
    """What a tool call gave: a value the answer (or a model) can read, whatever happened."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: ToolStatus
    data: Any = None
    error: str | None = None
    invocation: str = ""  # the exact call, as a person would type it (kubectl ..., PromQL ...)
    cluster: str | None = None
    duration_ms: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the tool ran and answered."""
        return self.status == "ok"

    def as_call(self) -> ToolCall:
        """The call as an answer lists it (its data went into the answer's sources)."""
        return ToolCall(
            name=self.name,
            arguments=self.arguments,
            status=self.status,
            summary=self.summary(),
            invocation=self.invocation,
            cluster=self.cluster,
            error=self.error,
            duration_ms=self.duration_ms,
            truncated=self.truncated,
        )

    def summary(self) -> str:
        """One line on what the call gave."""
        if not self.ok:
            return f"{self.status}: {self.error}"
        data = self.data if isinstance(self.data, dict) else {}
        if "findings" in data and "text" not in data:
            checks = [f"{f.get('check')} {f.get('kind')} {f.get('name')}" for f in data["findings"]]
            return f"{len(checks)} findings" + (": " + "; ".join(checks[:5]) if checks else "")
        if "report" in data:
            report = data["report"]
            verdict = "valid" if report.get("valid") else f"{report.get('errors')} errors"
            return f"{len(report.get('documents', []))} manifests, {verdict}, {report.get('warnings', 0)} warnings"
        if "title" in data:
            return f"described {data['title']}"
        if "log" in data:
            return f"{data.get('lines', 0)} log lines"
        if "events" in data:
            return f"{len(data['events'])} events"
        if "items" in data:
            return f"{len(data['items'])} of {data.get('total', 0)} {data.get('kind', '')}s"
        return "ok"


@dataclass(frozen=True)
class ToolContext:
    """What a tool's prerequisite looks at: the caller's organization and what is configured for it."""

    org: str
    clusters: int  # clusters configured for the org
    prometheus: int = 0  # of which have a Prometheus


@dataclass(frozen=True)
class Preparation:
    """What a tool's ``prepare`` hook may use, in the service, before the call goes to the worker: the caller's
    organization and its documents (retrieved within the caller's visibility)."""

    org: str
    documents: Callable[[str], list[tuple[str, str]]]  # query -> [(source id, text)]


@dataclass(frozen=True)
class Tool:
    """A declared tool. ``runner`` names the function the worker calls (``module:function``), so the service
    process never imports or runs tool code itself."""

    name: str
    family: str  # kubernetes | metrics | config | troubleshooting
    description: str
    arguments: type[BaseModel]
    runner: str
    permission: str = "tools:namespaced"  # developer and up; the sandbox narrows by namespace
    read_only: bool = True
    prerequisite: Callable[[ToolContext], str | None] | None = None
    prepare: Callable[[Preparation], dict[str, Any]] | None = None  # arguments the service sets, never the caller

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments (what a model or a form is given)."""
        return self.arguments.model_json_schema()

    def disabled(self, context: ToolContext) -> str | None:
        """Why the tool cannot run for this organization, or None."""
        return self.prerequisite(context) if self.prerequisite else None

    def describe(self, context: ToolContext) -> dict[str, Any]:
        """The tool as `GET /v1/tools` lists it."""
        reason = self.disabled(context)
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "read_only": self.read_only,
            "permission": self.permission,
            "status": f"disabled: {reason}" if reason else "enabled",
            "arguments": self.schema(),
        }


TOOLS: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    """Add a tool to the registry (a read-only tool only: nothing here may change a cluster)."""
    if not tool.read_only:
        raise ValueError(f"tool {tool.name}: only read-only tools are accepted")
    if tool.name in TOOLS:
        raise ValueError(f"tool {tool.name} is registered twice")
    TOOLS[tool.name] = tool
    return tool


def tools() -> dict[str, Tool]:
    """Every registered tool (the built-in families are registered on first use)."""
    import assistant.tools.generation  # noqa: F401 - registers the configuration tool
    import assistant.tools.kubernetes  # noqa: F401 - registers the Kubernetes tools
    import assistant.tools.prometheus  # noqa: F401 - registers the metric tools

    return TOOLS


def needs_cluster(context: ToolContext) -> str | None:
    """Prerequisite of the Kubernetes tools."""
    if context.clusters == 0:
        return f"no cluster configured for organization {context.org} (AIOPS_CLUSTERS_FILE)"
    return None


Runner = Callable[..., Any]
