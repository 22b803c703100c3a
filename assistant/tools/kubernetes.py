"""The Kubernetes tools: list, describe, pod logs, events, and the analyzers. Read-only by construction (the
readers only list, get and read logs; Secrets are not a readable kind) and run by the sandbox's worker process.

The argument models validate everything that reaches a URL: kinds from the allowlist, DNS-1123 names and namespaces,
equality-only label selectors. The ``run_*`` functions execute in the worker; the rest is declared in the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from assistant.tools.registry import Tool, needs_cluster, register
from core.errors import InvalidInputError
from ingest.cluster.kinds import kind_spec, validate_label, validate_name

if TYPE_CHECKING:
    from assistant.tools.worker import Call

_SELECTOR = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,252}=[A-Za-z0-9._-]{0,63}(,[A-Za-z0-9][A-Za-z0-9._/-]{0,252}=[A-Za-z0-9._-]{0,63})*$"
)


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    """A validator for pydantic: the product's InvalidInputError becomes the ValueError pydantic reports."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except InvalidInputError as exc:
            raise ValueError(exc.message) from exc

    return validate


def _selector(value: str) -> str:
    if not _SELECTOR.fullmatch(value):
        raise InvalidInputError("label_selector must be key=value pairs joined by commas")
    return value


Kind = Annotated[str, AfterValidator(_checked(lambda v: kind_spec(v).kind))]
Namespace = Annotated[str, AfterValidator(_checked(validate_label))]
Name = Annotated[str, AfterValidator(_checked(validate_name))]
Container = Annotated[str, AfterValidator(_checked(lambda v: validate_label(v, "container")))]
ClusterName = Annotated[str, AfterValidator(_checked(lambda v: validate_label(v, "cluster name")))]
Selector = Annotated[str, AfterValidator(_checked(_selector))]


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: ClusterName | None = Field(default=None, description="Cluster name; default: the organization's only one.")


class ListArgs(_Target):
    """Arguments of kubernetes_list."""

    kind: Kind = Field(
        description="pod, deployment, statefulset, daemonset, replicaset, job, cronjob, service, ingress, "
        "persistentvolumeclaim, configmap, event or node"
    )
    namespace: Namespace | None = Field(default=None, description="Default: every namespace you may read.")
    label_selector: Selector | None = Field(default=None, description="e.g. app.kubernetes.io/name=checkout")
    limit: int = Field(default=50, ge=1, le=500)


class DescribeArgs(_Target):
    """Arguments of kubernetes_describe."""

    kind: Kind
    name: Name
    namespace: Namespace | None = Field(default=None, description="Required for namespaced kinds.")

    @model_validator(mode="after")
    def _where(self) -> DescribeArgs:
        spec = kind_spec(self.kind)
        if spec.kind == "event":
            raise ValueError("events are described with their objects; use kubernetes_events")
        if spec.namespaced and self.namespace is None:
            raise ValueError(f"namespace is required for {spec.plural}")
        return self


class LogsArgs(_Target):
    """Arguments of kubernetes_logs."""

    namespace: Namespace
    pod: Name
    container: Container | None = Field(default=None, description="Required when the pod has several containers.")
    previous: bool = Field(default=False, description="The previous (crashed) container's log.")
    tail: int = Field(default=100, ge=1, le=5000, description="Last lines to return.")


class EventsArgs(_Target):
    """Arguments of kubernetes_events."""

    namespace: Namespace | None = None
    kind: Kind | None = Field(default=None, description="Only events about objects of this kind.")
    name: Name | None = Field(default=None, description="Only events about the object of this name.")
    warnings_only: bool = True
    limit: int = Field(default=50, ge=1, le=500)


class AnalyzeArgs(_Target):
    """Arguments of cluster_analyze."""

    namespace: Namespace | None = Field(default=None, description="Default: every namespace you may read.")


# -- what the worker runs ---------------------------------------------------------------------------------------------


def run_list(call: Call) -> Any:
    """Rows of ``kubectl get``: name, namespace and health."""
    from ingest.cluster.describe import pod_line, status_word

    args = ListArgs.model_validate(call.arguments)
    spec = kind_spec(args.kind)
    fields = dict(pair.split("=", 1) for pair in args.label_selector.split(",")) if args.label_selector else {}
    rows: list[dict[str, Any]] = []
    for ns in call.namespaces_for(args.namespace) if spec.namespaced else [None]:
        for obj in call.reader.list_objects(spec, ns):
            obj_labels = obj.get("metadata", {}).get("labels") or {}
            if all(obj_labels.get(k) == v for k, v in fields.items()):
                meta = obj.get("metadata", {})
                line = pod_line(obj) if spec.kind == "pod" else status_word(obj)
                rows.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "status": line})
    return {"kind": spec.kind, "items": rows[: args.limit], "total": len(rows)}


def run_describe(call: Call) -> Any:
    """The description document of one object (findings about it first)."""
    from ingest.cluster.analyzers import analyze, findings_for
    from ingest.cluster.describe import describe
    from ingest.cluster.state import ClusterState

    args = DescribeArgs.model_validate(call.arguments)
    spec = kind_spec(args.kind)
    namespaces = call.namespaces_for(args.namespace) if spec.namespaced else call.namespaces_for(None)
    state = ClusterState(call.reader, namespaces, nodes=call.cluster_scoped or not spec.namespaced)
    obj = state.get(spec, args.namespace, args.name)
    found = findings_for(
        analyze(state, namespaces, cluster_scoped=not spec.namespaced),
        spec.kind,
        args.namespace or "_cluster",
        args.name,
    )
    description = describe(state, obj, [f.summary for f in found])
    return {
        "source_id": description.source_id,
        "title": description.title,
        "text": description.text,
        "findings": [f.to_json() for f in found],
    }


def run_logs(call: Call) -> Any:
    """A container's log tail, credentials redacted."""
    from ingest.cluster.redaction import redact_text

    args = LogsArgs.model_validate(call.arguments)
    call.namespaces_for(args.namespace)
    tail = min(args.tail, call.limits.get("log_lines", args.tail))
    text = call.reader.logs(args.namespace, args.pod, args.container, previous=args.previous, tail=tail)
    return {
        "pod": args.pod,
        "namespace": args.namespace,
        "container": args.container,
        "previous": args.previous,
        "lines": len(text.splitlines()),
        "log": redact_text(text),
    }


def run_events(call: Call) -> Any:
    """Events of a namespace or of one object, latest last."""
    from ingest.cluster.describe import event_line
    from ingest.cluster.kinds import KINDS
    from ingest.cluster.state import event_time

    args = EventsArgs.model_validate(call.arguments)
    fields: dict[str, str] = {}
    if args.name:
        fields["involvedObject.name"] = args.name
    if args.kind:
        fields["involvedObject.kind"] = kind_spec(args.kind).title
    if args.warnings_only:
        fields["type"] = "Warning"
    found = [
        e for ns in call.namespaces_for(args.namespace) for e in call.reader.list_objects(KINDS["event"], ns, fields)
    ]
    found.sort(key=event_time)
    return {"events": [event_line(e) for e in found[-args.limit :]], "total": len(found)}


def run_analyze(call: Call) -> Any:
    """The analyzers' findings in the namespaces (and, for operators, on the nodes)."""
    from ingest.cluster.analyzers import analyze
    from ingest.cluster.state import ClusterState

    args = AnalyzeArgs.model_validate(call.arguments)
    namespaces = call.namespaces_for(args.namespace)
    state = ClusterState(call.reader, namespaces, nodes=call.cluster_scoped)
    findings = analyze(state, namespaces, cluster_scoped=call.cluster_scoped)
    return {"findings": [f.to_json() for f in findings], "namespaces": namespaces}


# -- declarations -----------------------------------------------------------------------------------------------------


def _ctx(context: str | None) -> str:
    return f"kubectl --context {context}" if context else "kubectl"


def invocation(name: str, arguments: dict[str, Any], context: str | None) -> str:
    """The kubectl command a person would type for this call (shown with the result, audited)."""
    a = arguments
    ns = f" -n {a['namespace']}" if a.get("namespace") else ""
    if name == "kubernetes_list":
        selector = f" -l {a['label_selector']}" if a.get("label_selector") else ""
        return f"{_ctx(context)} get {a.get('kind')}{ns}{selector}"
    if name == "kubernetes_describe":
        return f"{_ctx(context)}{ns} describe {a.get('kind')} {a.get('name')}"
    if name == "kubernetes_logs":
        container = f" -c {a['container']}" if a.get("container") else ""
        previous = " --previous" if a.get("previous") else ""
        return f"{_ctx(context)}{ns} logs {a.get('pod')}{container}{previous} --tail={a.get('tail', 100)}"
    if name == "kubernetes_events":
        fields = [f"involvedObject.name={a['name']}"] if a.get("name") else []
        fields += [f"involvedObject.kind={kind_spec(a['kind']).title}"] if a.get("kind") else []
        fields += ["type=Warning"] if a.get("warnings_only", True) else []
        fs = f" --field-selector {','.join(fields)}" if fields else ""
        return f"{_ctx(context)}{ns} get events{fs}"
    return f"analyzers over {context or 'the cluster'}{ns or ' (every namespace you may read)'}"


for _tool in (
    Tool(
        "kubernetes_list",
        "kubernetes",
        "List objects of one kind (kubectl get) with their status.",
        ListArgs,
        "assistant.tools.kubernetes:run_list",
        prerequisite=needs_cluster,
    ),
    Tool(
        "kubernetes_describe",
        "kubernetes",
        "Describe one object (kubectl describe): status, conditions, containers, events, and findings about it.",
        DescribeArgs,
        "assistant.tools.kubernetes:run_describe",
        prerequisite=needs_cluster,
    ),
    Tool(
        "kubernetes_logs",
        "kubernetes",
        "The last lines of a pod's container log, or of the previous (crashed) container.",
        LogsArgs,
        "assistant.tools.kubernetes:run_logs",
        prerequisite=needs_cluster,
    ),
    Tool(
        "kubernetes_events",
        "kubernetes",
        "Events of a namespace or of one object (warnings by default).",
        EventsArgs,
        "assistant.tools.kubernetes:run_events",
        prerequisite=needs_cluster,
    ),
    Tool(
        "cluster_analyze",
        "troubleshooting",
        "Run the analyzers (CrashLoopBackOff, OOMKilled, ImagePullBackOff, FailedScheduling, NotReady nodes, failing "
        "probes, Pending PVCs, failed Jobs, unavailable Deployments) and return their findings with evidence.",
        AnalyzeArgs,
        "assistant.tools.kubernetes:run_analyze",
        prerequisite=needs_cluster,
    ),
):
    register(_tool)
