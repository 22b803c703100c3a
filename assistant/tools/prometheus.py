"""The metric tools: instant and range queries (a range query comes back as trend summaries, not raw points),
series, labels, firing alerts and rules, against the Prometheus of the caller's cluster. Every query is parsed and
narrowed to the caller's namespaces before it is sent (assistant.tools.promql); results are capped in series and
points. The ``run_*`` functions execute in the sandbox's worker."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.tools import promql
from assistant.tools.registry import Tool, ToolContext, register
from assistant.tools.trends import summarize
from core.errors import InvalidInputError

if TYPE_CHECKING:
    from assistant.tools.worker import Call

_BASELINES = {"1d": 86400, "7d": 7 * 86400}


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: str | None = Field(default=None, max_length=63, description="Cluster whose Prometheus to ask.")


class QueryArgs(_Target):
    """Arguments of prometheus_query."""

    query: str = Field(max_length=promql.MAX_QUERY_CHARS, description="PromQL; it is narrowed to your namespaces.")


class RangeArgs(_Target):
    """Arguments of prometheus_range."""

    query: str = Field(max_length=promql.MAX_QUERY_CHARS)
    minutes: int = Field(default=360, ge=5, le=7 * 24 * 60, description="How far back from now.")
    step_s: int | None = Field(default=None, ge=5, le=86400, description="Default: fits the point cap.")
    threshold: float | None = Field(default=None, description="Report when the series crossed it.")
    above: bool = Field(default=True, description="The threshold is crossed going above it (False: below).")
    baseline: Literal["1d", "7d"] | None = Field(default="1d", description="Compare with the same window earlier.")


class SeriesArgs(_Target):
    """Arguments of prometheus_series."""

    match: str = Field(max_length=promql.MAX_QUERY_CHARS, description='A selector, e.g. up{job="api"}')
    minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class LabelsArgs(_Target):
    """Arguments of prometheus_labels."""

    label: str | None = Field(default=None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", description="Values of this label.")
    match: str | None = Field(default=None, max_length=promql.MAX_QUERY_CHARS)


class AlertsArgs(_Target):
    """Arguments of prometheus_alerts."""

    state: Literal["firing", "pending", "all"] = "firing"
    name: str | None = Field(default=None, pattern=r"^[A-Za-z_:][A-Za-z0-9_:]*$", max_length=200)


class RulesArgs(_Target):
    """Arguments of prometheus_rules."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z_:][A-Za-z0-9_:]*$", max_length=200)


# -- what the worker runs ---------------------------------------------------------------------------------------------


def _api(call: Call) -> Any:
    from assistant.tools.prometheus_api import PrometheusApi

    url = call.cluster.get("prometheus_url")
    if not url:
        from core.errors import ConfigurationError

        raise ConfigurationError("no Prometheus configured for this cluster")
    return PrometheusApi(
        str(url), float(call.limits.get("timeout_s", 10)), int(call.limits.get("prometheus_bytes", 8 << 20))
    )


def _label(call: Call) -> str:
    return str(call.cluster.get("prometheus_namespace_label") or "namespace")


def _visible(call: Call, labels: dict[str, Any]) -> bool:
    """A labelled result (an alert) belongs to the caller when its namespace is one of theirs."""
    return call.namespaces is None or labels.get(_label(call)) in call.namespaces


def run_query(call: Call) -> Any:
    """An instant query: the series with their current value."""
    args = QueryArgs.model_validate(call.arguments)
    sent = promql.scoped(args.query, call.namespaces, _label(call))
    data = _api(call).get("query", [("query", sent)])
    cap = int(call.limits.get("max_series", 50))
    kind, result = data.get("resultType"), data.get("result")
    if kind in ("scalar", "string"):
        return {"query": sent, "result_type": kind, "value": float(result[1]) if kind == "scalar" else result[1]}
    if kind != "vector":
        raise InvalidInputError(
            "the query is a range vector: use prometheus_range, or wrap it in a function such as max_over_time(...)"
        )
    series = [{"labels": r.get("metric", {}), "value": _number(r["value"][1])} for r in result or []]
    series.sort(key=lambda s: -s["value"] if math.isfinite(s["value"]) else 0)
    return {"query": sent, "result_type": kind, "series": series[:cap], "total": len(series)}


def run_range(call: Call) -> Any:
    """A range query, summarized per series (current, min, max, change per hour, threshold crossing, baseline)."""
    args = RangeArgs.model_validate(call.arguments)
    sent = promql.scoped(args.query, call.namespaces, _label(call))
    points_cap = int(call.limits.get("max_points", 500))
    end = time.time()
    start = end - args.minutes * 60
    step = max(args.step_s or 0, math.ceil((end - start) / points_cap), 15)
    api = _api(call)
    current = _matrix(api.get("query_range", _range(sent, start, end, step)))
    baseline: dict[str, list[tuple[float, float]]] = {}
    if args.baseline:
        shift = _BASELINES[args.baseline]
        earlier = _matrix(api.get("query_range", _range(sent, start - shift, end - shift, step)))
        baseline = {key: [(t + shift, v) for t, v in points] for key, (_, points) in earlier.items()}
    metric = _metric_name(sent)
    cap = int(call.limits.get("max_series", 50))
    summaries = [
        summarize(metric, labels, points, baseline.get(key, []), args.threshold, args.above)
        for key, (labels, points) in current.items()
    ]
    summaries.sort(key=lambda s: -float(s.get("current", 0.0)))
    return {
        "query": sent,
        "step_s": step,
        "minutes": args.minutes,
        "baseline": args.baseline,
        "series": summaries[:cap],
        "total": len(summaries),
    }


def run_series(call: Call) -> Any:
    """The label sets of the series a selector matches."""
    args = SeriesArgs.model_validate(call.arguments)
    sent = promql.selector(args.match, call.namespaces, _label(call))
    end = time.time()
    found = _api(call).get("series", [("match[]", sent), ("start", str(end - args.minutes * 60)), ("end", str(end))])
    cap = int(call.limits.get("max_series", 50))
    return {"match": sent, "series": (found or [])[:cap], "total": len(found or [])}


def run_labels(call: Call) -> Any:
    """Label names, or one label's values, within the caller's namespaces."""
    args = LabelsArgs.model_validate(call.arguments)
    params: list[tuple[str, str]] = []
    if args.match:
        params.append(("match[]", promql.selector(args.match, call.namespaces, _label(call))))
    elif call.namespaces is not None:
        params.append(("match[]", f'{{{_label(call)}=~"{"|".join(call.namespaces)}"}}'))
    endpoint = f"label/{args.label}/values" if args.label else "labels"
    values = list(_api(call).get(endpoint, params) or [])
    return {"label": args.label, "values": values[:500], "total": len(values)}


def run_alerts(call: Call) -> Any:
    """The alerts of the caller's namespaces, firing (or pending) now."""
    args = AlertsArgs.model_validate(call.arguments)
    alerts = [
        {
            "name": a.get("labels", {}).get("alertname"),
            "state": a.get("state"),
            "labels": a.get("labels", {}),
            "annotations": a.get("annotations", {}),
            "active_since": a.get("activeAt"),
            "value": _number(a.get("value")),
        }
        for a in (_api(call).get("alerts") or {}).get("alerts", [])
        if _visible(call, a.get("labels", {}))
        and (args.state == "all" or a.get("state") == args.state)
        and (args.name is None or a.get("labels", {}).get("alertname") == args.name)
    ]
    alerts.sort(key=lambda a: (str(a["name"]), str(a["labels"])))
    return {"alerts": alerts[: int(call.limits.get("max_series", 50))], "total": len(alerts)}


def run_rules(call: Call) -> Any:
    """The alerting rules (definitions are shared; their active alerts only for the caller's namespaces)."""
    args = RulesArgs.model_validate(call.arguments)
    rules = []
    for group in (_api(call).get("rules", [("type", "alert")]) or {}).get("groups", []):
        for rule in group.get("rules", []):
            if args.name is not None and rule.get("name") != args.name:
                continue
            active = [a for a in rule.get("alerts", []) if _visible(call, a.get("labels", {}))]
            rules.append(
                {
                    "group": group.get("name"),
                    "name": rule.get("name"),
                    "query": rule.get("query"),
                    "for_s": rule.get("duration"),
                    "labels": rule.get("labels", {}),
                    "annotations": rule.get("annotations", {}),
                    "health": rule.get("health"),
                    "state": "firing" if any(a.get("state") == "firing" for a in active) else "inactive",
                    "active": len(active),
                }
            )
    return {"rules": rules[:200], "total": len(rules)}


def _range(query: str, start: float, end: float, step: int) -> list[tuple[str, str]]:
    return [("query", query), ("start", f"{start:.3f}"), ("end", f"{end:.3f}"), ("step", str(step))]


def _matrix(data: Any) -> dict[str, tuple[dict[str, str], list[tuple[float, float]]]]:
    out = {}
    for r in (data or {}).get("result", []):
        labels = dict(r.get("metric", {}))
        out[str(sorted(labels.items()))] = (labels, [(float(t), _number(v)) for t, v in r.get("values", [])])
    return out


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _metric_name(query: str) -> str:
    names: list[str] = []
    import promql_parser as pp

    pp.walk(
        promql.parse(query),
        lambda n: names.append(n.name) if isinstance(n, pp.VectorSelector) and n.name else None,
        None,
    )
    return names[0] if len(set(names)) == 1 else query


# -- declarations -----------------------------------------------------------------------------------------------------


def needs_prometheus(context: ToolContext) -> str | None:
    """Prerequisite of the metric tools."""
    if not context.prometheus:
        return f"no Prometheus configured for organization {context.org} (prometheus_url in AIOPS_CLUSTERS_FILE)"
    return None


def invocation(name: str, arguments: dict[str, Any], cluster: str | None, namespaces: list[str] | None) -> str:
    """The call as a person would make it: the PromQL and what it was narrowed to."""
    scope = f" (narrowed to namespace=~{'|'.join(namespaces)})" if namespaces else ""
    where = f" on {cluster}" if cluster else ""
    a = arguments
    if name == "prometheus_query":
        return f"PromQL instant query{where}: {a.get('query')}{scope}"
    if name == "prometheus_range":
        return f"PromQL range query{where} over {a.get('minutes', 360)} min: {a.get('query')}{scope}"
    if name == "prometheus_series":
        return f"Prometheus series{where}: {a.get('match')}{scope}"
    if name == "prometheus_labels":
        return f"Prometheus label {'values of ' + a['label'] if a.get('label') else 'names'}{where}{scope}"
    if name == "prometheus_alerts":
        return f"Prometheus alerts{where}: {a.get('state', 'firing')}{' ' + a['name'] if a.get('name') else ''}{scope}"
    return f"Prometheus alerting rules{where}{' ' + a['name'] if a.get('name') else ''}"


for _tool in (
    Tool(
        "prometheus_query",
        "metrics",
        "An instant PromQL query: each series with its value now.",
        QueryArgs,
        "assistant.tools.prometheus:run_query",
        prerequisite=needs_prometheus,
    ),
    Tool(
        "prometheus_range",
        "metrics",
        "A PromQL range query summarized per series: current, min, max, change per "
        "hour, when a threshold was crossed, and the deviation from the same window a day or a week earlier.",
        RangeArgs,
        "assistant.tools.prometheus:run_range",
        prerequisite=needs_prometheus,
    ),
    Tool(
        "prometheus_series",
        "metrics",
        "The series a selector matches (label sets).",
        SeriesArgs,
        "assistant.tools.prometheus:run_series",
        prerequisite=needs_prometheus,
    ),
    Tool(
        "prometheus_labels",
        "metrics",
        "Label names, or the values of one label.",
        LabelsArgs,
        "assistant.tools.prometheus:run_labels",
        prerequisite=needs_prometheus,
    ),
    Tool(
        "prometheus_alerts",
        "metrics",
        "The alerts firing (or pending) now in your namespaces.",
        AlertsArgs,
        "assistant.tools.prometheus:run_alerts",
        prerequisite=needs_prometheus,
    ),
    Tool(
        "prometheus_rules",
        "metrics",
        "The alerting rules: name, PromQL, duration, labels, annotations, state.",
        RulesArgs,
        "assistant.tools.prometheus:run_rules",
        prerequisite=needs_prometheus,
    ),
):
    register(_tool)
