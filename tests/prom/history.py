"""The metric history of the two sample orgs as data: every series, its labels and its shape in time.

A shape's time is seconds relative to the scenario's ``now`` (0 is now, negative the past); ``openmetrics`` and
``exposition`` take Unix times and the ``now`` they are relative to, and read no clock. Past ``now`` every shape goes
on as its incident was going (a crash loop keeps restarting every 2 min, a leak keeps growing, error shares stay up),
so that one server kept for a whole test session keeps its alerts firing.

The scenario follows corpora/clusters/*/FAILURES.md (pods, nodes, limits, restarts) except where a test needs more:
checkout's memory limit is 1536Mi (384Mi in the snapshot) so that its leak has room to show.
"""

from __future__ import annotations

import bisect
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol

Kind = Literal["gauge", "counter"]
MI, GI = float(2**20), float(2**30)
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
_WOBBLE_PERIODS = (7 * MINUTE, 23 * MINUTE)  # a counter's rate drifts on two slow waves
_STEM = re.compile(r"_(bucket|count|sum|total)$")


def unit_noise(seed: int, slot: int) -> float:
    """A deterministic number in [-1, 1) for a seed and a time slot (a minute)."""
    return zlib.crc32(slot.to_bytes(8, "little", signed=True), seed) / 2**31 - 1.0


class Shape(Protocol):
    """A value in time; ``seed`` (from the series' labels) makes the noise of each series its own."""

    def __call__(self, t: float, seed: int) -> float: ...


@dataclass(frozen=True)
class Path:
    """A gauge through (time, value) points, linear between them and flat before the first; after the last it stays
    flat, or keeps the last slope (``extend``) up to ``cap``. ``jitter`` is relative noise that changes every minute."""

    points: tuple[tuple[float, float], ...]
    jitter: float = 0.0
    extend: bool = False
    cap: float = math.inf

    def __call__(self, t: float, seed: int) -> float:
        """The value at t."""
        return min(self.cap, self.base(t)) * (1 + self.jitter * unit_noise(seed, math.floor(t / MINUTE)))

    def base(self, t: float) -> float:
        """The value at t without noise."""
        times = [p[0] for p in self.points]
        i = bisect.bisect_right(times, t)
        if i == 0 or (i == len(times) and not (self.extend and len(times) > 1)):
            return self.points[0 if i == 0 else -1][1]
        (t0, v0), (t1, v1) = self.points[min(i, len(times) - 1) - 1], self.points[min(i, len(times) - 1)]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def level(value: float, jitter: float = 0.0) -> Path:
    """A gauge that holds one value (with noise)."""
    return Path(((0.0, value),), jitter)


@dataclass(frozen=True)
class Events:
    """A counter of events (container restarts) at given times, then every ``every`` seconds after the last one."""

    times: tuple[float, ...] = ()
    every: float | None = None

    def count(self, t: float) -> int:
        """How many happened by t."""
        n = bisect.bisect_right(self.times, t)
        if self.every and self.times and t > self.times[-1]:
            n += math.floor((t - self.times[-1]) / self.every)
        return n

    def last(self, t: float) -> float | None:
        """When the latest one by t happened (None: none yet)."""
        n = self.count(t)
        if n == 0:
            return None
        if n <= len(self.times):
            return self.times[n - 1]
        return self.times[-1] + (n - len(self.times)) * (self.every or 0.0)

    def __call__(self, t: float, seed: int) -> float:
        """The counter's value at t."""
        return float(self.count(t))


@dataclass(frozen=True)
class Refill:
    """Working-set memory of a container that gets killed: ``before`` until the first restart, then after each restart
    a climb from ``low`` to ``high`` within ``ramp_s``, held until the next kill."""

    restarts: Events
    before: float
    low: float
    high: float
    ramp_s: float
    jitter: float = 0.01

    def __call__(self, t: float, seed: int) -> float:
        """The value at t."""
        last = self.restarts.last(t)
        base = self.before if last is None else self.low + (self.high - self.low) * min(1.0, (t - last) / self.ramp_s)
        return base * (1 + self.jitter * unit_noise(seed, math.floor(t / MINUTE)))


@dataclass(frozen=True)
class Rate:
    """A counter that grows by ``per_s`` from each phase's start, (from_t, per_s) in time order; 0 at ``origin``.

    The rate wobbles by up to ``wobble`` (two slow waves, phased by the seed), integrated exactly, so the counter never
    goes down and series sharing a seed (a histogram's buckets, its _count and _sum) keep their ratios exactly."""

    phases: tuple[tuple[float, float], ...]
    wobble: float = 0.08
    origin: float = -30 * DAY

    def __call__(self, t: float, seed: int) -> float:
        """The value at t."""
        total = 0.0
        ends = [p[0] for p in self.phases[1:]] + [math.inf]
        for (start, per_s), end in zip(self.phases, ends, strict=True):
            a, b = max(start, self.origin), min(end, t)
            if b > a:
                total += per_s * (b - a + self._wave(a, b, seed))
        return total

    def _wave(self, a: float, b: float, seed: int) -> float:
        """The integral of the wobble over [a, b]."""
        area = 0.0
        for i, period in enumerate(_WOBBLE_PERIODS):
            omega, phase = 2 * math.pi / period, ((seed >> (10 * i)) % 1000) / 1000 * 2 * math.pi
            area += (math.cos(omega * a + phase) - math.cos(omega * b + phase)) / omega
        return self.wobble / len(_WOBBLE_PERIODS) * area


@dataclass(frozen=True)
class Series:
    """One time series: metric name, labels, kind, shape; it exists from ``since`` on (a pod created then)."""

    name: str
    labels: dict[str, str]
    kind: Kind
    shape: Shape = field(repr=False)
    since: float = -math.inf

    def value_at(self, t: float) -> float:
        """The value at t seconds from now (negative: the past); deterministic."""
        return self.shape(t, self.seed)

    @cached_property
    def seed(self) -> int:
        """The noise seed: the labels without ``le`` and the name without its suffix, shared by a histogram's parts."""
        pairs = "".join(f",{k}={v}" for k, v in sorted(self.labels.items()) if k != "le")
        return zlib.crc32((_STEM.sub("", self.name) + pairs).encode())

    @cached_property
    def selector(self) -> str:
        """``name{label="value",...}`` as both exposition formats write it."""
        pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in self.labels.items())
        return f"{self.name}{{{pairs}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value as both formats accept it."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(value, ".12g")


def families(series: Sequence[Series], openmetrics: bool) -> list[tuple[str, str, list[Series]]]:
    """(family name, type, members) in order of first appearance; OpenMetrics names a counter family without
    ``_total`` and types a counter that lacks the suffix (ingress-nginx's) ``unknown``."""
    names = {s.name for s in series}
    found: dict[tuple[str, str], list[Series]] = {}
    for s in series:
        stem, _, suffix = s.name.rpartition("_")
        if suffix in ("bucket", "count", "sum") and f"{stem}_bucket" in names:
            key = (stem, "histogram")
        elif suffix in ("count", "sum") and {f"{stem}_count", f"{stem}_sum"} <= names:
            key = (stem, "summary")
        elif s.kind == "gauge":
            key = (s.name, "gauge")
        elif openmetrics:
            key = (s.name.removesuffix("_total"), "counter") if s.name.endswith("_total") else (s.name, "unknown")
        else:
            key = (s.name, "counter")
        found.setdefault(key, []).append(s)
    return [(name, kind, members) for (name, kind), members in found.items()]


def _metric_points(members: list[Series]) -> list[list[Series]]:
    """A family's members grouped as OpenMetrics MetricPoints: labels without ``le``; buckets first, by ``le``."""
    groups: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    for s in members:
        groups.setdefault(tuple((k, v) for k, v in s.labels.items() if k != "le"), []).append(s)
    order = {"bucket": 0, "count": 1, "sum": 2}
    rank = lambda s: (order.get(s.name.rpartition("_")[2], 0), float(s.labels.get("le", "0")))  # noqa: E731
    return [sorted(group, key=rank) for group in groups.values()]


def openmetrics(start: float, end: float, step_s: float, *, now: float, series: Sequence[Series] | None = None) -> str:
    """Every series from ``start`` to ``end`` (Unix seconds) every ``step_s``, as OpenMetrics text with timestamps,
    for ``promtool tsdb create-blocks-from openmetrics``."""
    stamps = [start + k * step_s for k in range(math.floor((end - start) / step_s) + 1)]
    lines: list[str] = []
    for name, kind, members in families(SERIES if series is None else series, openmetrics=True):
        lines.append(f"# TYPE {name} {kind}")
        for point in _metric_points(members):
            lines += _point_lines(point, stamps, now)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _point_lines(point: list[Series], stamps: Iterable[float], now: float) -> list[str]:
    lines = []
    for ts in stamps:
        t, stamp = ts - now, f"{ts:.3f}"
        lines += [f"{s.selector} {number(s.value_at(t))} {stamp}" for s in point if t >= s.since]
    return lines


def exposition(t: float, *, now: float, series: Sequence[Series] | None = None) -> str:
    """Every series' value at Unix time t in the Prometheus text format (0.0.4), as an exporter serves it."""
    lines: list[str] = []
    for name, kind, members in families(SERIES if series is None else series, openmetrics=False):
        live = [s for s in members if t - now >= s.since]
        if live:
            lines.append(f"# TYPE {name} {kind}")
            lines += [f"{s.selector} {number(s.value_at(t - now))}" for s in live]
    return "\n".join(lines) + "\n"


# ---- the scenario ----------------------------------------------------------------------------------------------

NODES = {"ip-10-20-1-17": "10.20.1.17", "ip-10-20-2-88": "10.20.2.88", "ip-10-20-4-12": "10.20.4.12"}
NODES |= {
    "orb-prod-general-7f2k": "10.42.1.23",
    "orb-prod-general-9xq1": "10.42.2.57",
    "orb-prod-memory-4h8d": "10.42.4.12",
}
NORTHWIND, ORBITAL = "northwind-prod", "orbital-prod"  # the `cluster` label, as a Prometheus shared by clusters has


@dataclass(frozen=True)
class Container:
    """The container of a pod (named as its workload) and what kubelet's cAdvisor and kube-state-metrics report."""

    cluster: str
    namespace: str
    pod: str
    node: str
    memory_limit: float
    memory: Shape | None  # None: not running (no cAdvisor series)
    restarts: Events = Events()
    last_terminated: str | None = None  # the reason of its last termination (OOMKilled, Error)
    since: float = -math.inf
    cpu_limit: float | None = None  # cores; a CPU quota is what makes CFS throttling series exist
    throttled: float = 0.0  # the share of CFS periods throttled

    @property
    def container(self) -> str:
        """The workload's name: the pod's without its ReplicaSet hash and suffix."""
        return self.pod.rsplit("-", 2)[0]

    def series(self) -> list[Series]:
        """Working set and CFS periods (kubelet); limits, requests, restarts and last termination reason (ksm)."""
        pod = {"namespace": self.namespace, "pod": self.pod, "container": self.container}
        kubelet = {"cluster": self.cluster, "job": "kubelet", "metrics_path": "/metrics/cadvisor"}
        kubelet |= {"instance": f"{NODES[self.node]}:10250", "node": self.node, **pod}
        ksm = {"cluster": self.cluster, "job": "kube-state-metrics", "instance": "ksm:8080", **pod}
        found = [Series("kube_pod_container_status_restarts_total", ksm, "counter", self.restarts, self.since)]
        resources = [("memory", "byte", self.memory_limit)] + (
            [("cpu", "core", self.cpu_limit)] if self.cpu_limit else []
        )
        for resource, unit, amount in resources:
            labels = ksm | {"node": self.node, "resource": resource, "unit": unit}
            for name in ("kube_pod_container_resource_limits", "kube_pod_container_resource_requests"):
                found.append(Series(name, labels, "gauge", level(amount), self.since))
        if self.last_terminated:
            since = self.restarts.times[0] if self.restarts.times else self.since
            labels = ksm | {"reason": self.last_terminated}
            found.append(Series("kube_pod_container_status_last_terminated_reason", labels, "gauge", level(1), since))
        if self.memory is not None:
            found.append(Series("container_memory_working_set_bytes", kubelet, "gauge", self.memory, self.since))
        if self.cpu_limit and self.memory is not None:
            periods = 10.0  # 100 ms CFS periods of a busy container
            found.append(Series("container_cpu_cfs_periods_total", kubelet, "counter", Rate(((0.0, periods),), 0.02)))
            throttled = Rate(((0.0, periods * self.throttled),), 0.05)
            found.append(Series("container_cpu_cfs_throttled_periods_total", kubelet, "counter", throttled))
        return found


def minutes(*values: float) -> tuple[float, ...]:
    """Times given in minutes from now."""
    return tuple(v * MINUTE for v in values)


CHECKOUT_CRASHES = Events(minutes(-35, -29, -23, -18, -13.5, -11.5, -9.5, -7.5, -5.5, -3.5, -1.5), 2 * MINUTE)
ORDER_EVENTS_OOMS = Events(minutes(-235, -180, -125, -75, -28, -9), 10 * MINUTE)
ROUTE_PLANNER_CRASHES = Events(minutes(-40, -31, -24, -10.75, -8.75, -6.75, -4.75, -2.75, -0.75), 2 * MINUTE)
TELEMATICS_OOMS = Events(tuple(h * HOUR for h in (-40, -33, -27, -21, -15, -10, -6, -3, -1.5)))  # none for 90 min


def leak(at_6h: float, at_now: float) -> Path:
    """Flat until 6 h ago, then growing steadily, and still growing after now (up to checkout's limit)."""
    return Path(((-6 * HOUR, at_6h), (0.0, at_now)), jitter=0.008, extend=True, cap=0.99 * 1536 * MI)


def flat(cluster: str, namespace: str, node: str, limit_mi: float, pods: dict[str, float]) -> list[Container]:
    """Healthy pods of one node, each holding its working set (in Mi) with noise."""
    return [Container(cluster, namespace, pod, node, limit_mi * MI, level(mi * MI, 0.015)) for pod, mi in pods.items()]


def northwind_containers() -> list[Container]:
    """shop and payments: checkout leaking and crash-looping, order-events OOM-killed, payments-gateway throttled."""
    nw, shop, n1, n2, n4 = NORTHWIND, "shop", "ip-10-20-1-17", "ip-10-20-2-88", "ip-10-20-4-12"
    crash = Refill(CHECKOUT_CRASHES, 40 * MI, 38 * MI, 96 * MI, 40.0)
    ooms = Refill(ORDER_EVENTS_OOMS, 300 * MI, 190 * MI, 505 * MI, 18 * MINUTE)
    found = [
        Container(nw, shop, "checkout-5b6f8d9c77-h8k5t", n2, 1536 * MI, leak(880 * MI, 1.42 * GI)),
        Container(nw, shop, "checkout-5b6f8d9c77-q7m2d", n1, 1536 * MI, leak(872 * MI, 1.40 * GI)),
        Container(nw, shop, "checkout-7c9d8f6b5-x2k4p", n4, 1536 * MI, crash, CHECKOUT_CRASHES, "Error", -37 * MINUTE),
        Container(nw, shop, "order-events-65d7b9c8f4-n4k8s", n2, 512 * MI, ooms, ORDER_EVENTS_OOMS, "OOMKilled"),
        *flat(nw, shop, n4, 512, {"order-events-65d7b9c8f4-s2f6j": 240}),
        *flat(nw, shop, n1, 256, {"cart-84c6d9b7f5-m2p9z": 182}),
        *flat(nw, shop, n2, 256, {"cart-84c6d9b7f5-t6w4c": 176}),
        *flat(nw, shop, n1, 768, {"catalog-6c9f7d8b4d-b5k2r": 560}),
        *flat(nw, shop, n2, 768, {"catalog-6c9f7d8b4d-c8v3n": 575}),
        *flat(nw, shop, n4, 768, {"catalog-6c9f7d8b4d-f2j7q": 548}),
        *flat(nw, shop, n1, 512, {"search-api-6f7b9d5c48-2tq9v": 290}),
        *flat(nw, shop, n2, 512, {"search-api-6f7b9d5c48-7hx4k": 305}),
    ]
    for suffix, node, used_mi, throttled in (
        ("j3k7p", n1, 330, 0.40),
        ("l8q2w", n2, 342, 0.025),
        ("v5t9b", n4, 325, 0.03),
    ):
        memory = level(used_mi * MI, 0.015)
        pod = f"payments-gateway-58f6c9d7b5-{suffix}"
        found.append(Container(nw, "payments", pod, node, 512 * MI, memory, cpu_limit=0.5, throttled=throttled))
    pulling = "payments-gateway-6d5c8b7f9-r4n8w"  # ImagePullBackOff: never ran, so kube-state-metrics series only
    return found + [Container(nw, "payments", pulling, n4, 512 * MI, None, since=-50 * MINUTE, cpu_limit=0.5)]


def orbital_containers() -> list[Container]:
    """fleet and routing: telematics-ingest near its limit, route-planner crash-looping."""
    orb, n7, n9, m4 = ORBITAL, "orb-prod-general-7f2k", "orb-prod-general-9xq1", "orb-prod-memory-4h8d"
    crash = Refill(ROUTE_PLANNER_CRASHES, 0.4 * GI, 0.3 * GI, 0.62 * GI, 70.0)
    ooms = Refill(TELEMATICS_OOMS, 0.58 * GI, 0.50 * GI, 0.95 * GI, 30 * MINUTE, jitter=0.004)
    return [
        Container(orb, "fleet", "telematics-ingest-8d6f7c5b9-q5w2e", n9, GI, ooms, TELEMATICS_OOMS, "OOMKilled"),
        *flat(orb, "fleet", n7, 1024, {"telematics-ingest-8d6f7c5b9-r7t3y": 584}),
        *flat(orb, "fleet", m4, 1024, {"telematics-ingest-8d6f7c5b9-u9i1o": 614}),
        Container(
            orb,
            "routing",
            "route-planner-9b8c7d6e5-f6g7h",
            n9,
            2 * GI,
            crash,
            ROUTE_PLANNER_CRASHES,
            "Error",
            -42 * MINUTE,
        ),
        *flat(orb, "routing", n7, 2048, {"route-planner-6a5b4c3d2e-a9s8d": 1239}),
        *flat(orb, "routing", m4, 2048, {"route-planner-6a5b4c3d2e-j7k6l": 1208}),
    ]


def _shares(per_s: float, before: float, after: float, at: float) -> tuple[Rate, Rate]:
    """The (good, bad) request counters of a service whose error share goes from ``before`` to ``after`` at ``at``."""
    good = Rate(((-math.inf, per_s * (1 - before)), (at, per_s * (1 - after))))
    bad = Rate(((-math.inf, per_s * before), (at, per_s * after)))
    return good, bad


def ingress_requests() -> list[Series]:
    """ingress-nginx's request counters: checkout's 502 share jumps from 0.4% to 8% 20 min ago; cart stays at 0.2%."""
    found = []
    for service, per_s, bad_code, before, after in (
        ("checkout", 24.0, "502", 0.004, 0.08),
        ("cart", 15.0, "503", 0.002, 0.002),
    ):
        labels = {"cluster": NORTHWIND, "job": "ingress-nginx", "instance": "10.20.100.50:10254"}
        labels |= {"controller_class": "k8s.io/ingress-nginx", "controller_namespace": "platform"}
        labels |= {"exported_namespace": "shop", "namespace": "shop", "ingress": service, "service": service}
        good, bad = _shares(per_s, before, after, -20 * MINUTE)
        found.append(Series("nginx_ingress_controller_requests", labels | {"status": "200"}, "counter", good))
        found.append(Series("nginx_ingress_controller_requests", labels | {"status": bad_code}, "counter", bad))
    return found


LE = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, math.inf)
NORMAL_CDF = (0.30, 0.60, 0.89, 0.99, 0.998, 0.9995, 1.0, 1.0)  # p95 interpolates to 0.4 s
SLOW_CDF = (0.05, 0.15, 0.45, 0.70, 0.89, 0.98, 0.995, 1.0)  # p95 interpolates to 2.0 s


def checkout_latency() -> list[Series]:
    """checkout's server histogram of POST /checkout/confirm: p95 0.4 s, then 2 s for the last 20 min."""
    labels = {"cluster": NORTHWIND, "job": "checkout", "instance": "checkout.shop.svc:8080", "namespace": "shop"}
    labels |= {"service": "checkout", "route": "/checkout/confirm", "method": "POST"}
    phases = ((-math.inf, 6.0, NORMAL_CDF, 0.16), (-20 * MINUTE, 5.5, SLOW_CDF, 0.9))  # (from, per_s, cdf, mean s)
    name = "nw_http_request_duration_seconds"
    found = []
    for i, le in enumerate(LE):
        bucket = Rate(tuple((start, per_s * cdf[i]) for start, per_s, cdf, _ in phases))
        found.append(
            Series(f"{name}_bucket", labels | {"le": "+Inf" if math.isinf(le) else repr(le)}, "counter", bucket)
        )
    found.append(Series(f"{name}_count", labels, "counter", Rate(tuple((s, per_s) for s, per_s, _, _ in phases))))
    found.append(
        Series(f"{name}_sum", labels, "counter", Rate(tuple((s, per_s * mean) for s, per_s, _, mean in phases)))
    )
    return found


def service_requests() -> list[Series]:
    """Micrometer's http_server_requests_seconds (count, sum): dispatch's 504 share is 0.3%, 3.2% for 15 min."""
    found = []
    services = [("routing", "dispatch", "POST", "/v1/assignments", 40.0, "504", 0.003, 0.032, 5.0)]
    services += [("fleet", "tracking-api", "GET", "/v1/positions", 28.0, "503", 0.002, 0.002, 2.0)]
    for namespace, service, method, route, per_s, bad_code, before, after, bad_mean in services:
        labels = {"cluster": ORBITAL, "job": service, "instance": f"{service}.{namespace}.svc:8080"}
        labels |= {"namespace": namespace, "service": service, "method": method, "route": route}
        good, bad = _shares(per_s, before, after, -15 * MINUTE)
        for code, counter, mean in (("200", good, 0.085), (bad_code, bad, bad_mean)):
            found.append(Series("http_server_requests_seconds_count", labels | {"code": code}, "counter", counter))
            seconds = Rate(tuple((start, rate * mean) for start, rate in counter.phases))
            found.append(Series("http_server_requests_seconds_sum", labels | {"code": code}, "counter", seconds))
    return found


def redis_memory() -> list[Series]:
    """redis_exporter's gauges (maxmemory as the runbook's table): redis-fleet climbs to 90% of its 12 GiB by 2 h ago,
    redis-cache (routing) holds at 41% of 4 GiB."""
    fleet = Path(((-10 * HOUR, 0.72 * 12 * GI), (-2 * HOUR, 0.90 * 12 * GI)), jitter=0.004)
    found = []
    for namespace, name, maximum, used in (
        ("fleet", "redis-fleet", 12 * GI, fleet),
        ("routing", "redis-cache", 4 * GI, level(0.41 * 4 * GI, 0.01)),
    ):
        labels = {"cluster": ORBITAL, "job": "redis-exporter", "instance": f"{name}-metrics.{namespace}.svc:9121"}
        labels |= {"namespace": namespace, "instance_name": name}
        found.append(Series("redis_memory_used_bytes", labels, "gauge", used))
        found.append(Series("redis_memory_max_bytes", labels, "gauge", level(maximum)))
    return found


def scenario() -> list[Series]:
    """Every series of both orgs."""
    containers = northwind_containers() + orbital_containers()
    found = [s for c in containers for s in c.series()]
    return found + ingress_requests() + checkout_latency() + service_requests() + redis_memory()


SERIES: list[Series] = scenario()
