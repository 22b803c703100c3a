"""The metric side of an investigation: for a question naming an alert or asking what is firing, the firing alerts,
their rule and its current values; for a question about a workload's signal ("is checkout's memory growing?"), the
trend of that signal against a day earlier and its limit. Every call goes through the sandbox; the results become
live, citable sources, and the alerts they name link the matching runbooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from assistant.tools.registry import ToolResult
from assistant.tools.sources import live_hit
from index.records import SearchHit

if TYPE_CHECKING:
    from assistant.tools.investigation import Investigation

Caller = Callable[[str, dict[str, Any]], Generator[ToolResult, None, ToolResult]]
_ALERT_WORDS = re.compile(r"\b(firing|fires|fired|alerts?|alerting|paged?|paging)\b", re.I)
_CAMEL = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+\b")
_MAX_ALERTS = 3
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
_HASH = re.compile(r"(-[a-z0-9]{5,10}){1,2}$")


@dataclass(frozen=True)
class Signal:
    """A kind of metric question, the PromQL that answers it for a workload, and the alerts it relates to."""

    name: str
    words: re.Pattern[str]
    label: str  # the label that names the workload: pod (matched by prefix) or service
    queries: tuple[str, ...]  # tried in order; the first with data answers ({w} is the workload)
    alerts: tuple[str, ...]
    limit: str | None = None  # PromQL of the threshold (e.g. the memory limit), same {w}


SIGNALS = (
    Signal(
        "memory",
        re.compile(r"\b(memory|heap|leak\w*|oom\w*|working set)\b", re.I),
        "pod",
        ('sum by (namespace, pod) (container_memory_working_set_bytes{{pod=~"{w}-.*", container!=""}})',),
        ("KubeContainerOOMKilled",),
        'min(kube_pod_container_resource_limits{{pod=~"{w}-.*", resource="memory"}})',
    ),
    Signal(
        "restarts",
        re.compile(r"\b(restart\w*|crash\w*)\b", re.I),
        "pod",
        ('sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{{pod=~"{w}-.*"}}[10m]))',),
        ("KubePodCrashLooping",),
    ),
    Signal(
        "cpu throttling",
        re.compile(r"\b(throttl\w*|cpu)\b", re.I),
        "pod",
        (
            'sum by (namespace, pod) (rate(container_cpu_cfs_throttled_periods_total{{pod=~"{w}-.*"}}[5m])) / '
            'sum by (namespace, pod) (rate(container_cpu_cfs_periods_total{{pod=~"{w}-.*"}}[5m]))',
        ),
        ("CPUThrottlingHigh",),
    ),
    Signal(
        "error rate",
        re.compile(r"\b(errors?|5xx|50[0-9]|failing requests|error rate)\b", re.I),
        "service",
        (
            'sum(rate(nginx_ingress_controller_requests{{service="{w}", status=~"5.."}}[5m])) / '
            'sum(rate(nginx_ingress_controller_requests{{service="{w}"}}[5m]))',
            'sum(rate(http_server_requests_seconds_count{{service="{w}", code=~"5.."}}[5m])) / '
            'sum(rate(http_server_requests_seconds_count{{service="{w}"}}[5m]))',
            'sum(rate(http_requests_total{{service="{w}", code=~"5.."}}[5m])) / '
            'sum(rate(http_requests_total{{service="{w}"}}[5m]))',
        ),
        ("HighHTTPErrorRate",),
    ),
    Signal(
        "latency",
        re.compile(r"\b(latency|slow\w*|p9[59]|response time)\b", re.I),
        "service",
        (
            "histogram_quantile(0.95, sum by (le) "
            '(rate(nw_http_request_duration_seconds_bucket{{service="{w}"}}[5m])))',
            'histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{{service="{w}"}}[5m])))',
        ),
        ("CheckoutLatencyHigh", "HighLatency"),
    ),
)


def wants_alerts(question: str) -> bool:
    """A question about what is firing, or naming an alert."""
    return bool(_ALERT_WORDS.search(question) or _CAMEL.search(question))


def wanted_signals(question: str) -> list[Signal]:
    """The signals a question asks about."""
    return [s for s in SIGNALS if s.words.search(question)]


def alerts(
    call: Caller, question: str, cluster: str, prometheus: str, found: Investigation
) -> Generator[ToolResult, None, None]:
    """The firing alerts (those the question names, else all, a few at most), the first one's rule now."""
    named = set(_CAMEL.findall(question))
    listed = yield from call("prometheus_alerts", {"cluster": cluster, "state": "firing"})
    if not listed.ok:
        return
    firing = list(listed.data.get("alerts") or [])
    chosen = [a for a in firing if a.get("name") in named] if named else firing
    if named and not chosen:
        found.notes.append(f"no alert named {', '.join(sorted(named))} is firing now")
    # the alerts asked about lead: their runbooks and their evidence come before what the cluster checks add
    for i, alert in enumerate(chosen[:_MAX_ALERTS]):
        found.alerts.insert(i, str(alert.get("name")))
        found.evidence.insert(i, str((alert.get("annotations") or {}).get("summary", alert.get("name"))))
        found.hits.insert(i, _alert_hit(cluster, prometheus, alert, listed.invocation))
    if chosen:
        yield from _rule_now(call, cluster, prometheus, str(chosen[0].get("name")), found)


def _rule_now(
    call: Caller, cluster: str, prometheus: str, name: str, found: Investigation
) -> Generator[ToolResult, None, None]:
    rules = yield from call("prometheus_rules", {"cluster": cluster, "name": name})
    rule = next(iter(rules.data.get("rules") or []), None) if rules.ok else None
    if rule is None or not rule.get("query"):
        return
    now = yield from call("prometheus_query", {"cluster": cluster, "query": str(rule["query"])})
    if now.ok:
        lines = [f"{_labels(s['labels'])} = {s['value']:.4g}" for s in now.data.get("series") or []][:5]
        text = f"The rule of {name} ({rule['query']}) evaluates now to:\n" + "\n".join(f"- {line}" for line in lines)
        found.hits.append(
            _metric_hit(
                cluster,
                prometheus,
                f"alert/{name}",
                f"Alert {name} (live)",
                "Rule now",
                text,
                now.invocation,
                str(rule["query"]),
            )
        )


def metrics(
    call: Caller, question: str, cluster: str, prometheus: str, found: Investigation
) -> Generator[ToolResult, None, None]:
    """For each signal the question asks about, the trend of the workload it names."""
    for signal in wanted_signals(question)[:2]:
        values = yield from call("prometheus_labels", {"cluster": cluster, "label": signal.label})
        workload = _workload(question, list(values.data.get("values") or [])) if values.ok else None
        if workload is None:
            continue
        yield from _trend(call, signal, workload, cluster, prometheus, found)


def _trend(
    call: Caller, signal: Signal, workload: str, cluster: str, prometheus: str, found: Investigation
) -> Generator[ToolResult, None, None]:
    threshold = None
    if signal.limit:
        limit = yield from call("prometheus_query", {"cluster": cluster, "query": signal.limit.format(w=workload)})
        series = limit.data.get("series") or [] if limit.ok else []
        threshold = float(series[0]["value"]) * 0.9 if series else None
    for template in signal.queries:
        query = template.format(w=workload)
        arguments: dict[str, Any] = {"cluster": cluster, "query": query, "minutes": 360, "baseline": "1d"}
        if threshold is not None:
            arguments["threshold"] = threshold
        trend = yield from call("prometheus_range", arguments)
        summaries = list(trend.data.get("series") or []) if trend.ok else []
        if not summaries:
            continue
        text = "\n".join(f"- {s['sentence']}" for s in summaries[:4])
        if threshold is not None:
            text += f"\n- The threshold is 90% of the memory limit ({threshold / 0.9 / 2**20:.0f}Mi)."
        found.checks.append(signal.name)
        found.services.append(workload)
        found.alerts.extend(signal.alerts)
        found.evidence.extend(s["sentence"] for s in summaries[:2])
        title = f"{signal.name.capitalize()} of {workload} (live, last 6 h)"
        found.hits.append(
            _metric_hit(
                cluster,
                prometheus,
                f"{signal.name.replace(' ', '-')}/{workload}",
                title,
                "Metric trend",
                text,
                trend.invocation,
                query,
            )
        )
        return


def _workload(question: str, values: list[str]) -> str | None:
    """The workload the question names, among a label's values (pods by their workload name)."""
    words = set(_WORD.findall(question.lower()))
    names = {(_HASH.sub("", v) or v): v for v in values}
    for name in sorted(names, key=len, reverse=True):
        if name in words or name.replace("-", " ") in question.lower():
            return name
    return None


def _labels(labels: dict[str, Any]) -> str:
    shown = {k: v for k, v in labels.items() if k not in ("__name__", "job", "instance")}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}"


def _alert_hit(cluster: str, prometheus: str, alert: dict[str, Any], invocation: str) -> SearchHit:
    notes = alert.get("annotations") or {}
    lines = [
        f"Alert {alert.get('name')} is firing since {alert.get('active_since')} with value {alert.get('value'):.4g} "
        f"for {_labels(alert.get('labels') or {})}.",
        *(f"- {key}: {notes[key]}" for key in ("summary", "description", "runbook_url") if notes.get(key)),
    ]
    key = f"alert/{alert.get('name')}"
    title = f"Alert {alert.get('name')} (live)"
    return _metric_hit(
        cluster,
        prometheus,
        key,
        title,
        "Alert",
        "\n".join(lines),
        invocation,
        f'ALERTS{{alertname="{alert.get("name")}"}}',
    )


def _metric_hit(
    cluster: str, prometheus: str, key: str, title: str, section: str, text: str, invocation: str, query: str
) -> SearchHit:
    uri = f"{prometheus.rstrip('/')}/graph?g0.expr={quote(query)}"
    return live_hit(f"prometheus/{cluster}/{key}", title, section, text, invocation, uri=uri, cluster=cluster)
