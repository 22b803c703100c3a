"""The metric tools against a real Prometheus (tests/prom): queries parsed and narrowed to the caller's namespaces,
capped in series, points and bytes, range queries summarized, alerts and rules of one's own namespaces only, and a
Prometheus that is down or hangs reported as a readable result."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.auth import Principal
from assistant.tools.sandbox import Sandbox
from core.settings import Settings
from ingest.cluster.config import ClusterConfig, Clusters
from tests.kube.fixtures import CLUSTERS
from tests.prom.server import PrometheusServer

NW_OPERATOR = Principal("op@northwind", "northwind", ("operator",))
NW_DEVELOPER = Principal("dev@northwind", "northwind", ("developer",), ("payments",))
NW_VIEWER = Principal("viewer@northwind", "northwind", ("viewer",))
ORB_OPERATOR = Principal("op@orbital", "orbital", ("operator",))
MEMORY = 'container_memory_working_set_bytes{pod=~"checkout-5b6f8d9c77-.*", container="checkout"}'


def clusters(url: str) -> Clusters:
    """Both orgs share one Prometheus; each may query only its own namespaces."""
    return Clusters(
        [
            ClusterConfig(
                org="northwind",
                name="northwind-prod",
                dump=CLUSTERS / "northwind-prod",
                namespaces=("shop", "payments", "platform"),
                prometheus_url=url,
            ),
            ClusterConfig(
                org="orbital",
                name="orbital-prod",
                dump=CLUSTERS / "orbital-prod",
                namespaces=("fleet", "routing", "billing"),
                prometheus_url=url,
            ),
        ]
    )


@pytest.fixture
def sandbox(tmp_path: Path, prometheus: PrometheusServer) -> Iterator[Sandbox]:
    box = Sandbox(Settings(data_dir=tmp_path, tool_timeout_s=5), clusters(prometheus.url))
    yield box
    box.close()


def names(result: object) -> set[str]:
    return {s["labels"].get("pod") or s["labels"].get("service") for s in result.data["series"]}  # type: ignore[attr-defined]


def test_an_instant_query_answers_from_the_live_series(sandbox: Sandbox) -> None:
    result = sandbox.call(NW_OPERATOR, "prometheus_query", {"query": MEMORY})
    assert result.status == "ok", result.error
    assert names(result) == {"checkout-5b6f8d9c77-h8k5t", "checkout-5b6f8d9c77-q7m2d"}
    assert all(1.3 * 2**30 < s["value"] < 1.5 * 2**30 for s in result.data["series"])
    assert 'namespace=~"payments|platform|shop"' in result.data["query"]
    assert result.invocation.endswith("(narrowed to namespace=~payments|platform|shop)")


@pytest.mark.parametrize(
    ("query", "own_series"),
    [
        ('container_memory_working_set_bytes{namespace="shop"}', False),
        ('sum by (pod) (container_memory_working_set_bytes{namespace=~"shop|fleet"})', False),
        ('container_memory_working_set_bytes{namespace!="fleet"}', False),
        ('label_replace(container_memory_working_set_bytes, "namespace", "fleet", "", "")', False),
        ("container_memory_working_set_bytes or on() vector(1)", False),
        # each of these answers with the caller's own series, and only those
        ('container_memory_working_set_bytes{namespace=~".+"}', True),
        ('label_replace(container_memory_working_set_bytes, "namespace", "shop", "", "")', True),
        ("max_over_time(container_memory_working_set_bytes[30m:1m] offset 90s)", True),
        ('sum by (namespace) ({__name__="container_memory_working_set_bytes"})', True),
        ("count(container_memory_working_set_bytes) by (namespace)", True),
    ],
)
def test_another_orgs_namespaces_never_answer(sandbox: Sandbox, query: str, own_series: bool) -> None:
    result = sandbox.call(ORB_OPERATOR, "prometheus_query", {"query": query})
    assert result.status == "ok", result.error
    series = result.data["series"]
    if own_series:
        assert series
    assert not any(str(s["labels"].get("pod", "")).startswith(("checkout", "cart", "order-events")) for s in series)
    assert not {s["labels"].get("namespace") for s in series} & {"payments", "platform"}


def test_a_developer_queries_only_the_namespaces_of_their_key(sandbox: Sandbox) -> None:
    result = sandbox.call(NW_DEVELOPER, "prometheus_query", {"query": "container_memory_working_set_bytes"})
    assert result.status == "ok" and result.data["series"]
    assert {s["labels"]["namespace"] for s in result.data["series"]} == {"payments"}
    viewer = sandbox.call(NW_VIEWER, "prometheus_query", {"query": "up"})
    assert viewer.status == "denied"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("sum(rate(container_memory_working_set_bytes[5m])", "PromQL syntax error"),
        ('{__name__=~".+"}', "every selector must name a metric"),
        ('count({job="kubelet"})', "every selector must name a metric"),
        ('up{job="x\\"} or up{job=\\""}', "quotes"),
        ("up @ 1700000000", "@ modifier"),
        ("rate(up[5m", "PromQL syntax error"),
    ],
)
def test_bad_promql_is_refused_before_it_is_sent(sandbox: Sandbox, query: str, reason: str) -> None:
    result = sandbox.call(NW_OPERATOR, "prometheus_query", {"query": query})
    assert result.status == "error" and reason in str(result.error)


def test_results_are_capped_in_series_and_bytes(tmp_path: Path, prometheus: PrometheusServer) -> None:
    settings = Settings(data_dir=tmp_path, prometheus_max_series=3, prometheus_max_bytes=65536)
    box = Sandbox(settings, clusters(prometheus.url))
    try:
        few = box.call(NW_OPERATOR, "prometheus_query", {"query": "container_memory_working_set_bytes"})
        assert few.status == "ok" and len(few.data["series"]) == 3 and few.data["total"] > 3
        huge = box.call(
            NW_OPERATOR,
            "prometheus_range",
            {"query": "container_memory_working_set_bytes", "minutes": 2 * 24 * 60},
        )
        assert huge.status == "error" and "narrow the query" in str(huge.error)
    finally:
        box.close()


def test_a_range_query_comes_back_as_a_trend_against_yesterday(sandbox: Sandbox) -> None:
    arguments = {"query": MEMORY, "minutes": 360, "threshold": 1.3 * 2**30, "baseline": "1d"}
    result = sandbox.call(NW_OPERATOR, "prometheus_range", arguments)
    assert result.status == "ok", result.error
    assert result.data["step_s"] * 500 >= 360 * 60  # the point cap sets the step
    for s in result.data["series"]:
        assert s["change_per_hour"] > 50 * 2**20  # a leak of about 90Mi an hour
        assert s["deviation_pct"] > 20 and s["crossed_at"] is not None
        assert "rising" in s["sentence"] and "against the baseline window" in s["sentence"]


def test_alerts_and_rules_are_those_of_ones_own_namespaces(sandbox: Sandbox) -> None:
    northwind = sandbox.call(NW_OPERATOR, "prometheus_alerts", {})
    orbital = sandbox.call(ORB_OPERATOR, "prometheus_alerts", {})
    assert {a["name"] for a in northwind.data["alerts"]} == {
        "KubePodCrashLooping",
        "KubeContainerOOMKilled",
        "HighHTTPErrorRate",
        "CheckoutLatencyHigh",
    }
    assert {a["name"] for a in orbital.data["alerts"]} == {
        "KubePodCrashLooping",
        "HighHTTPErrorRate",
        "RedisMemoryHigh",
    }
    assert {a["labels"]["namespace"] for a in orbital.data["alerts"]} <= {"fleet", "routing", "billing"}
    payments = sandbox.call(NW_DEVELOPER, "prometheus_alerts", {})
    assert payments.status == "ok" and payments.data["alerts"] == []
    rules = sandbox.call(ORB_OPERATOR, "prometheus_rules", {"name": "CheckoutLatencyHigh"})
    assert rules.status == "ok" and rules.data["rules"][0]["active"] == 0  # northwind's firing alert is not theirs


def test_label_values_are_scoped_too(sandbox: Sandbox) -> None:
    pods = sandbox.call(ORB_OPERATOR, "prometheus_labels", {"label": "pod"})
    assert pods.status == "ok" and pods.data["values"]
    assert not any(v.startswith(("checkout", "cart")) for v in pods.data["values"])


def test_a_prometheus_that_is_down_or_hangs_is_a_readable_result(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    down_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)  # accepts connections, never answers
    stop = threading.Event()
    try:
        for url, status in ((down_url, "error"), (f"http://127.0.0.1:{hang.getsockname()[1]}", ("error", "timeout"))):
            box = Sandbox(Settings(data_dir=tmp_path, tool_timeout_s=3), clusters(url))
            try:
                result = box.call(NW_OPERATOR, "prometheus_query", {"query": "up"})
            finally:
                box.close()
            assert result.status in status and "Prometheus" in str(result.error) or result.status == "timeout"
    finally:
        stop.set()
        hang.close()


def test_metric_tools_are_disabled_where_no_prometheus_is_configured(tmp_path: Path) -> None:
    box = Sandbox(
        Settings(data_dir=tmp_path),
        Clusters([ClusterConfig(org="northwind", name="northwind-prod", dump=CLUSTERS / "northwind-prod")]),
    )
    try:
        result = box.call(NW_OPERATOR, "prometheus_alerts", {})
    finally:
        box.close()
    assert result.status == "disabled" and "no Prometheus configured for organization northwind" in str(result.error)
