"""Prometheus metrics of the service (``GET /metrics``), in a registry of their own per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """Requests, latencies by stage, tokens, cache hits, tool calls and errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "aiops_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "aiops_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stages = Histogram(
            "aiops_answer_stage_seconds", "Answer latency by stage", ["stage"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.answers = Counter("aiops_answers", "Answers by provider and status", ["provider", "status"], registry=r)
        self.tokens = Counter(
            "aiops_tokens", "Generative tokens by provider and kind", ["provider", "kind"], registry=r
        )
        self.cache = Counter("aiops_answer_cache", "Answer cache lookups by result", ["result"], registry=r)
        self.tool_calls = Counter("aiops_tool_calls", "Tool calls by tool and status", ["tool", "status"], registry=r)
        self.errors = Counter("aiops_errors", "Errors returned to callers by type", ["type"], registry=r)

    def observe_answer(self, answer: dict[str, object]) -> None:
        """Count one answer: provider, status, stage timings, tokens, cache, tool calls."""
        provider = str(answer.get("provider", "unknown"))
        self.answers.labels(provider, str(answer.get("status"))).inc()
        self.cache.labels("hit" if answer.get("cached") else "miss").inc()
        timings = answer.get("timings")
        if isinstance(timings, dict):
            for key, ms in timings.items():
                self.stages.labels(str(key).removesuffix("_ms")).observe(float(ms) / 1000)
        usage = answer.get("usage")
        if isinstance(usage, dict):
            for kind, count in usage.items():
                self.tokens.labels(provider, str(kind)).inc(int(count))

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
