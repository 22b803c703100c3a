"""The Prometheus fixture proven through Prometheus' own HTTP API: backfilled history, live values, rules firing."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.prom import history
from tests.prom.history import DAY, GI, HOUR, MI, SERIES
from tests.prom.server import PROMTOOL, RULES, PrometheusServer

Json = dict[str, Any]
CHECKOUT = 'container_memory_working_set_bytes{namespace="shop", pod="checkout-5b6f8d9c77-h8k5t", container="checkout"}'
FIRING = {  # (alertname, namespace, what) -> team
    ("KubePodCrashLooping", "shop", "checkout-7c9d8f6b5-x2k4p"): "shop-sre",
    ("KubeContainerOOMKilled", "shop", "order-events-65d7b9c8f4-n4k8s"): "shop-sre",
    ("HighHTTPErrorRate", "shop", "checkout"): "shop-sre",
    ("CheckoutLatencyHigh", "shop", "checkout"): "shop-sre",
    ("KubePodCrashLooping", "routing", "route-planner-9b8c7d6e5-f6g7h"): "platform",
    ("HighHTTPErrorRate", "routing", "dispatch"): "routing",
    ("RedisMemoryHigh", "fleet", "redis-fleet"): "fleet",
}


@pytest.fixture(scope="module")
def api(prometheus: PrometheusServer) -> Iterator[httpx.Client]:
    """A client of the server's HTTP API."""
    with httpx.Client(base_url=prometheus.url, timeout=10.0) as client:
        yield client


def answer(api: httpx.Client, path: str, **params: Any) -> Any:
    """The data of a successful API answer."""
    body = api.get(path, params=params).json()
    assert body["status"] == "success", body
    return body["data"]


def value(api: httpx.Client, promql: str, **params: Any) -> float:
    """The value of a query that must give exactly one series."""
    [series] = answer(api, "/api/v1/query", query=promql, **params)["result"]
    return float(series["value"][1])


def series_named(name: str, **labels: str) -> history.Series:
    """The one scenario series with this name and these labels."""
    [found] = [s for s in SERIES if s.name == name and labels.items() <= s.labels.items()]
    return found


def wait_for(check: Any, timeout_s: float = 5.0) -> None:
    """Until check() holds (bounded)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_history_is_consistent() -> None:
    now = 1_800_000_000.0
    text = history.openmetrics(now - 600, now - 120, 60, now=now)
    assert text.endswith("\n# EOF\n") and text.count("# TYPE ") == len(history.families(SERIES, openmetrics=True))
    assert text.count("\n") == 1 + len(history.families(SERIES, openmetrics=True)) + 9 * len(SERIES)
    counters = [s for s in SERIES if s.kind == "counter"]
    for t in (
        [-2 * DAY + 3600 * k for k in range(48)] + [-21 * 60 + k for k in range(180)] + [k * 7.0 for k in range(100)]
    ):
        assert all(s.value_at(t) <= s.value_at(t + 1) for s in counters), t
    infinity = series_named("nw_http_request_duration_seconds_bucket", le="+Inf")
    assert infinity.value_at(-100.0) == series_named("nw_http_request_duration_seconds_count").value_at(-100.0)
    assert history.exposition(now, now=now) == history.exposition(now, now=now)


def test_history_answers_a_range_query_over_two_days(prometheus: PrometheusServer, api: httpx.Client) -> None:
    end = prometheus.now
    data = answer(api, "/api/v1/query_range", query=CHECKOUT, start=end - 2 * DAY, end=end, step=600)
    [series] = data["result"]
    points = [(float(t) - end, float(v)) for t, v in series["values"]]
    assert len(points) == 2 * 24 * 6 + 1 and points[0][0] == -2 * DAY
    assert points[0][1] == pytest.approx(880 * MI, rel=0.02) and points[-1][1] == pytest.approx(1.42 * GI, rel=0.02)
    hourly = [[v for t, v in points if -h * HOUR <= t < -(h - 1) * HOUR] for h in range(30, 0, -1)]
    means = [sum(hour) / len(hour) for hour in hourly]
    yesterday, last_6h = means[:6], means[-6:]  # 30 to 24 h ago, and the last 6 h
    assert all(later > earlier * 1.04 for earlier, later in zip(last_6h, last_6h[1:], strict=False))
    assert max(yesterday) < min(yesterday) * 1.03


def test_memory_grew_against_the_same_hour_yesterday(api: httpx.Client) -> None:
    now = value(api, f"avg_over_time({CHECKOUT}[1h])")
    yesterday = value(api, f"avg_over_time({CHECKOUT}[1h] offset 1d)")
    assert yesterday == pytest.approx(880 * MI, rel=0.02)
    assert now == pytest.approx(1.38 * GI, rel=0.03) and now / yesterday > 1.5
    limit = value(api, 'kube_pod_container_resource_limits{pod="checkout-5b6f8d9c77-h8k5t", resource="memory"}')
    assert limit == 1536 * MI


def test_instant_queries_answer_the_exporters_current_values(prometheus: PrometheusServer, api: httpx.Client) -> None:
    for name, labels in (
        ("container_memory_working_set_bytes", {"pod": "checkout-5b6f8d9c77-h8k5t"}),
        ("container_memory_working_set_bytes", {"pod": "telematics-ingest-8d6f7c5b9-q5w2e"}),
        ("kube_pod_container_status_restarts_total", {"pod": "checkout-7c9d8f6b5-x2k4p"}),
        ("kube_pod_container_status_restarts_total", {"pod": "route-planner-9b8c7d6e5-f6g7h"}),
        ("redis_memory_used_bytes", {"instance_name": "redis-fleet"}),
    ):
        series = series_named(name, **labels)
        selector = series.selector
        at = time.time()
        sampled = value(api, f"timestamp({selector})", time=at)
        assert sampled > prometheus.now, "a live sample (the history ends two minutes before now)"
        expected = [
            series.value_at(sampled - prometheus.now + d) for d in (0.0, 0.05, 0.1, 0.25, 0.5)
        ]  # scraped, then computed
        got = value(api, selector, time=at)
        assert any(got == pytest.approx(e, rel=1e-4) for e in expected), (selector, got, expected)
    assert value(api, 'kube_pod_container_status_restarts_total{pod="checkout-7c9d8f6b5-x2k4p"}') >= 11


def test_history_and_live_samples_are_the_same_series(prometheus: PrometheusServer, api: httpx.Client) -> None:
    every = 'count(last_over_time({cluster=~".+", __name__!~"ALERTS.*"}[%ds]))'  # ALERTS keep some labels
    in_history = value(api, every % 600, time=prometheus.now)  # the ten minutes before now: history only
    at = time.time()
    with_live = value(api, every % (at - prometheus.now + 600), time=at)  # the same, and the live samples since
    assert in_history == with_live == len(SERIES)


def test_signals_have_their_shapes(api: httpx.Client) -> None:
    def share(offset: str) -> float:
        bad = f'rate(nginx_ingress_controller_requests{{service="checkout", status=~"5.."}}[5m]{offset})'
        return value(
            api, f'sum({bad}) / sum(rate(nginx_ingress_controller_requests{{service="checkout"}}[5m]{offset}))'
        )

    def p95(offset: str) -> float:
        buckets = f'rate(nw_http_request_duration_seconds_bucket{{service="checkout"}}[5m]{offset})'
        return value(api, f"histogram_quantile(0.95, sum by (le) ({buckets}))")

    assert share("") == pytest.approx(0.08, abs=0.01) and share(" offset 1h") < 0.01
    assert p95("") == pytest.approx(2.0, rel=0.02) and p95(" offset 1h") == pytest.approx(0.4, rel=0.02)
    throttled = 'rate(container_cpu_cfs_throttled_periods_total{{pod="payments-gateway-58f6c9d7b5-{}"}}[5m])'
    periods = 'rate(container_cpu_cfs_periods_total{{pod="payments-gateway-58f6c9d7b5-{}"}}[5m])'
    assert value(api, f"{throttled.format('j3k7p')} / {periods.format('j3k7p')}") == pytest.approx(0.4, abs=0.03)
    assert value(api, f"{throttled.format('l8q2w')} / {periods.format('l8q2w')}") < 0.05
    telematics = '{namespace="fleet", pod="telematics-ingest-8d6f7c5b9-q5w2e"}'
    used = f"min_over_time(container_memory_working_set_bytes{telematics}[1h])"
    assert value(api, f"{used} / on (pod) kube_pod_container_resource_limits{telematics}") > 0.93
    errors = 'sum(rate(http_server_requests_seconds_count{service="dispatch", code=~"5.."}[5m]))'
    assert value(api, f'{errors} / sum(rate(http_server_requests_seconds_count{{service="dispatch"}}[5m]))') > 0.025
    assert value(api, 'redis_memory_used_bytes{instance_name="redis-fleet"} / redis_memory_max_bytes') > 0.88


def test_the_rules_fire_for_both_orgs(api: httpx.Client) -> None:
    alerts = answer(api, "/api/v1/alerts")["alerts"]
    firing = {}
    for alert in alerts:
        labels = alert["labels"]
        what = labels.get("pod") or labels.get("service") or labels.get("instance_name")
        firing[(labels["alertname"], labels["namespace"], what)] = alert
    assert {key: a["labels"]["team"] for key, a in firing.items()} == FIRING
    assert all(a["state"] == "firing" for a in alerts)
    crash = firing[("KubePodCrashLooping", "shop", "checkout-7c9d8f6b5-x2k4p")]
    assert crash["labels"]["severity"] == "warning" and crash["labels"]["container"] == "checkout"
    assert crash["annotations"]["summary"] == "Pod shop/checkout-7c9d8f6b5-x2k4p is crash looping"
    assert crash["annotations"]["runbook_url"].endswith("/KubePodCrashLooping")
    assert float(crash["value"]) > 3
    redis = firing[("RedisMemoryHigh", "fleet", "redis-fleet")]
    assert redis["annotations"]["summary"].startswith("Redis fleet/redis-fleet uses 9")  # 90% humanized
    for alert in alerts:
        assert "{{" not in str(alert["annotations"]) and "<no value>" not in str(alert["annotations"])


def test_the_rules_api_lists_both_groups(api: httpx.Client) -> None:
    groups = answer(api, "/api/v1/rules")["groups"]
    assert [g["name"] for g in groups] == ["northwind", "orbital"]
    names = {g["name"]: [r["name"] for r in g["rules"]] for g in groups}
    common = ["KubePodCrashLooping", "KubeContainerOOMKilled", "HighHTTPErrorRate"]
    assert names == {"northwind": [*common, "CheckoutLatencyHigh"], "orbital": [*common, "RedisMemoryHigh"]}
    rules = [(g["name"], r) for g in groups for r in g["rules"]]
    assert all(r["type"] == "alerting" and r["health"] == "ok" and not r.get("lastError") for _, r in rules), rules
    silent = {(group, r["name"]) for group, r in rules if r["state"] == "inactive" and not r["alerts"]}
    assert silent == {("orbital", "KubeContainerOOMKilled")}  # telematics-ingest's OOM kills are 90 min old


def test_pausing_the_exporter_takes_its_target_down(prometheus: PrometheusServer, api: httpx.Client) -> None:
    exporter = prometheus.exporter
    assert exporter is not None
    up = 'up{job="scenario"}'
    try:
        exporter.paused = True
        assert httpx.get(f"http://{exporter.address}/metrics").status_code == 503
        wait_for(lambda: value(api, up) == 0)
    finally:
        exporter.paused = False
    wait_for(lambda: value(api, up) == 1)
    assert "# TYPE container_memory_working_set_bytes gauge" in httpx.get(f"http://{exporter.address}/metrics").text


@pytest.mark.skipif(not PROMTOOL.exists(), reason=f"{PROMTOOL} is not installed (apt-get install prometheus)")
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout
