"""Attacks on the narrowing of PromQL to the caller's namespaces (assistant.tools.promql): each query either comes
back with every selector ANDed with the caller's namespace matcher, or is refused. A few are replayed against the
real Prometheus (tests/prom) through the sandbox, and the trend summary is checked on hand-computed series."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import promql_parser as pp
import pytest

from assistant.tools import promql
from assistant.tools.sandbox import Sandbox
from assistant.tools.trends import summarize
from core.errors import InvalidInputError
from core.settings import Settings
from tests.prom.server import PrometheusServer
from tests.tools.test_prometheus import NW_OPERATOR, ORB_OPERATOR, clusters

MINE = ["fleet", "routing"]
NARROW = 'namespace=~"fleet|routing"'


def selectors(text: str) -> list[list[str]]:
    """The matchers of every selector of ``text``, as PromQL."""
    found: list[list[str]] = []
    pp.walk(
        pp.parse(text),
        lambda n: found.append([str(m) for m in n.matchers.matchers]) if isinstance(n, pp.VectorSelector) else None,
        None,
    )
    return found


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ('up{namespace="other"}', 'namespace="other"'),  # ANDed: matches nothing, never replaced
        ('up{namespace!="x"}', 'namespace!="x"'),
        ('up{namespace=~".+"}', 'namespace=~".+"'),
        ('up{namespace=""}', 'namespace=""'),
        ('{__name__="up", __name__=~".+"}', '__name__=~".+"'),
        ('{"up", namespace="x"}', 'namespace="x"'),
        ('label_replace(up, "namespace", "fleet", "", "")', None),
        ('label_join(up, "namespace", ",", "job")', None),
        ('count_values("namespace", up)', None),
        ("max_over_time(up[5m:1m] offset 1h)", None),
        ("rate(up[5m] offset 1h)", None),
        ("up * on (job) group_left (namespace) kube_pod_info", None),
        ("up and on () other_metric", None),
        ("sum by (namespace) (up) / ignoring (namespace) group_left sum(up)", None),
        ("scalar(up) * vector(1)", None),
        ('absent(nope{job="x"})', None),
        ('up # {namespace="other"}\n + on () up', None),
        ('up{job="a}b,namespace=~.+"}', 'job="a}b,namespace=~.+"'),
        ('up{job="\té"}', None),
    ],
)
def test_every_selector_is_anded_with_the_callers_namespaces(query: str, kept: str | None) -> None:
    sent = promql.scoped(query, MINE)
    found = selectors(sent)
    assert found and all(NARROW in matchers for matchers in found), sent
    assert kept is None or any(kept in matchers for matchers in found), sent


def test_no_selector_needs_no_narrowing() -> None:
    assert promql.scoped("vector(1) + time()", MINE) == "vector(1) + time()"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ('{__name__=~".+"}', "must name a metric"),
        ('{namespace="fleet"}', "must name a metric"),
        ('up{job="a" or namespace="other"}', "`or` inside"),
        ('up{job="x\\"}"}', "quotes"),
        ("up{job='it\\'s'}", "quotes"),
        ('up{"job=\\"a\\"} or up{job"="d"}', "quoted label names"),  # a label name smuggling a selector
        ('up{"a.b"="x"}', "quoted label names"),
        ("up @ 100", "@ modifier"),
        ("rate(up[5m] @ end())", "@ modifier"),
        ("max_over_time(up[5m:1m] @ 100)", "@ modifier"),
        ("max_over_time(up[1h:])", "resolution"),  # printed back as up[1h], another query
        ("max_over_time(up[7d:1s])", "coarser resolution"),
        ("-" * 1990 + "up", "nests too deep"),  # took minutes in the parser's tree walk
        ("+".join(["up"] * 600), "nests too deep"),
        ("(" * 900 + "up" + ")" * 900, "nests too deep"),
        ("up + " * 500 + "up", "over 2000 characters"),
        ('up{job="x"', "syntax error"),
    ],
)
def test_what_cannot_be_narrowed_is_refused(query: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match=reason):
        promql.scoped(query, MINE)
    assert time.monotonic() - started < 2


def test_nesting_inside_strings_and_comments_is_not_counted() -> None:
    query = 'up{pod=~"a-b-c-(d|e)-[0-9]+-' + "-" * 150 + '"} # ' + "(" * 150
    assert NARROW in promql.scoped(query, MINE)


def test_the_narrowed_text_may_be_longer_than_a_query_may_be() -> None:
    query = " + ".join(["container_memory_working_set_bytes"] * 50)
    assert len(query) < promql.MAX_QUERY_CHARS < len(promql.scoped(query, MINE))


def test_offsets_survive_and_milliseconds_are_refused() -> None:
    assert promql.scoped("up offset -90s", MINE).endswith("offset -1m30s")
    assert promql.scoped("rate(up[5m] offset 1h)", MINE) == f"rate(up{{{NARROW}}}[5m] offset 1h)"
    for query in ("up offset 1500ms", "rate(up[1500ms])", "max_over_time(up[1m:500ms])", "up[1m:1m] offset 1s1ms"):
        with pytest.raises(InvalidInputError, match="whole seconds"):
            promql.scoped(query, MINE)  # printed back as 1s, 0s: another query


@pytest.mark.parametrize("namespaces", [["a.*"], ["a|b"], [".+"], ["fleet", ""], ["Fleet"], []])
def test_namespace_names_cannot_widen_the_matcher(namespaces: list[str]) -> None:
    with pytest.raises(InvalidInputError):
        promql.scoped("up", namespaces)


def test_series_selectors_are_narrowed_and_must_be_selectors() -> None:
    assert NARROW in promql.selector('up{job="api"}', MINE)
    for text in ("up[5m]", "sum(up)", '{__name__=~".+"}'):
        with pytest.raises(InvalidInputError):
            promql.selector(text, MINE)


# -- against the real Prometheus ----------------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path, prometheus: PrometheusServer) -> Iterator[Sandbox]:
    box = Sandbox(Settings(data_dir=tmp_path, tool_timeout_s=5), clusters(prometheus.url))
    yield box
    box.close()


NORTHWIND = ("shop", "payments", "platform")


def test_series_and_label_values_do_not_leak_another_orgs_namespaces(sandbox: Sandbox) -> None:
    namespaces = sandbox.call(ORB_OPERATOR, "prometheus_labels", {"label": "namespace"})
    assert namespaces.status == "ok" and namespaces.data["values"]
    assert not set(namespaces.data["values"]) & set(NORTHWIND)
    wide = {"label": "namespace", "match": 'container_memory_working_set_bytes{namespace=~".+"}'}
    matched = sandbox.call(ORB_OPERATOR, "prometheus_labels", wide)
    assert matched.status == "ok" and not set(matched.data["values"]) & set(NORTHWIND)
    series = sandbox.call(
        ORB_OPERATOR, "prometheus_series", {"match": 'container_memory_working_set_bytes{namespace!="fleet"}'}
    )
    assert series.status == "ok" and series.data["series"]
    assert {s.get("namespace") for s in series.data["series"]} <= {"routing", "billing"}


def test_a_range_vector_instant_query_is_a_readable_refusal(sandbox: Sandbox) -> None:
    result = sandbox.call(NW_OPERATOR, "prometheus_query", {"query": "container_memory_working_set_bytes[5m]"})
    assert result.status == "error" and "prometheus_range" in str(result.error)


# -- the trend summary ------------------------------------------------------------------------------------------------


def test_the_trend_summary_on_hand_computed_series() -> None:
    hour = 3600.0
    points = [(0.0, 10.0), (hour, 20.0), (2 * hour, math.nan), (3 * hour, 40.0)]  # +10 an hour, one NaN (0/0)
    baseline = [(0.0, 20.0), (hour, 20.0), (3 * hour, 20.0)]
    s = summarize("queue_depth", {"namespace": "fleet"}, points, baseline, threshold=15.0)
    assert s["points"] == 3 and s["current"] == 40.0 and (s["min"], s["max"]) == (10.0, 40.0)
    assert s["change_per_hour"] == pytest.approx(10.0)
    assert s["crossed_at"] == "1970-01-01T01:00:00Z"  # the step from 10 to 20 crossed 15
    assert s["mean"] == pytest.approx(70 / 3) and s["deviation_pct"] == pytest.approx((70 / 3 - 20) / 20 * 100)
    assert "rising 10/h" in s["sentence"] and "+17% against the baseline window" in s["sentence"]
    dip = [(0.0, 5.0), (hour, 20.0), (2 * hour, 10.0), (3 * hour, 30.0)]
    assert summarize("x", {}, dip, threshold=15.0)["crossed_at"] == "1970-01-01T03:00:00Z"  # the last crossing
    assert summarize("x", {}, dip, threshold=1.0)["crossed_at"] == "1970-01-01T00:00:00Z"  # above it all along
    assert summarize("x", {}, dip, threshold=15.0, above=False)["crossed_at"] is None  # ends above: not below
