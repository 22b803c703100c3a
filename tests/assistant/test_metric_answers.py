"""Slow: the operator's metric questions on the sample data, answered from a real Prometheus (tests/prom) with the
metric summary, the runbook that matches the alert and a similar past incident cited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answers import Answer
from assistant.auth import Principal
from assistant.database import Database
from assistant.pipeline import Assistant
from assistant.tools.investigation import Investigator
from assistant.tools.sandbox import Sandbox
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from ingest.cluster.config import ClusterConfig, Clusters
from ingest.sync import ingest_path
from tests.conftest import settings_for
from tests.prom.server import PrometheusServer

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
OPERATOR = Principal("op@northwind", "northwind", ("operator",))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, prometheus: PrometheusServer
) -> Iterator[Assistant]:
    settings = settings_for(tmp_path_factory.mktemp("metrics"), "edge", chunk_tokens=200, answer_cache_ttl_s=0)
    config = ClusterConfig(
        org="northwind",
        name="northwind-prod",
        dump=CORPORA / "clusters" / "northwind-prod",
        namespaces=("shop", "payments", "platform"),
        prometheus_url=prometheus.url,
    )
    sandbox = Sandbox(settings, Clusters([config]))
    with open_index(settings, embedder) as index:
        ingest_path(index, settings, "northwind", CORPORA / "northwind")
        yield Assistant(index, settings, Database(), investigator=Investigator(sandbox))
    sandbox.close()


def cited(answer: Answer) -> set[str]:
    return {c.source_id for c in answer.citations}


def test_is_checkouts_memory_growing_and_what_do_we_do(assistant: Assistant) -> None:
    answer = assistant.ask("northwind", "Is checkout's memory growing, and what do we do about it?", caller=OPERATOR)
    calls = [c.name for c in answer.tool_calls]
    assert "prometheus_range" in calls and all(c.status == "ok" for c in answer.tool_calls), answer.tool_calls
    assert answer.status == "answered"
    assert "prometheus/northwind-prod/memory/checkout" in cited(answer)
    assert "runbooks/KubeContainerOOMKilled.md" in cited(answer)
    assert any(s.startswith("incidents/") for s in cited(answer))
    assert "rising" in answer.answer and "against the baseline window" in answer.answer


def test_what_is_firing_links_each_alert_to_its_runbook(assistant: Assistant) -> None:
    answer = assistant.ask("northwind", "What alerts are firing right now?", caller=OPERATOR)
    assert any(c.name == "prometheus_alerts" and c.status == "ok" for c in answer.tool_calls)
    alerts = {s for s in cited(answer) if s.startswith("prometheus/northwind-prod/alert/")}
    assert alerts, answer.answer
    assert any(s.startswith("runbooks/") for s in cited(answer))


def test_a_named_alert_gets_its_runbook_its_rule_now_and_past_incidents(assistant: Assistant) -> None:
    answer = assistant.ask("northwind", "HighHTTPErrorRate is firing for checkout. What do I do?", caller=OPERATOR)
    assert {"prometheus_alerts", "prometheus_rules", "prometheus_query"} <= {c.name for c in answer.tool_calls}
    assert "prometheus/northwind-prod/alert/HighHTTPErrorRate" in cited(answer)
    assert "runbooks/HighHTTPErrorRate.md" in cited(answer)
