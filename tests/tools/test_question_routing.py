"""Which questions run the live cluster tools: troubleshooting and questions about the cluster's current state do;
how-to questions that merely name a namespace, a node pool or a CronJob are answered from the documents (the eval
harness measured that live findings about unrelated failures had crowded the right document out of those answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.auth import Principal
from assistant.tools.investigation import Investigator
from assistant.tools.sandbox import Sandbox
from core.settings import Settings
from ingest.cluster.config import ClusterConfig, Clusters


@pytest.fixture
def investigator(tmp_path: Path) -> Iterator[Investigator]:
    clusters = Clusters([ClusterConfig(org="acme", name="acme-prod", dump=tmp_path)])
    sandbox = Sandbox(Settings(data_dir=tmp_path), clusters)
    yield Investigator(sandbox)
    sandbox.close()


OPERATOR = Principal("ops", "acme", ("operator",))


@pytest.mark.parametrize(
    "question",
    [
        "Why is the checkout pod crash-looping in prod?",
        "How many promtail pods are unavailable right now?",
        "Is the checkout rollout stuck?",
        "Which node of the production cluster is not ready?",
        "Did last night's backup restore test pass?",
        "How many times has checkout-7c9d8f6b5-x2k4p restarted?",
        "Does the tracking-api deployment have any available replicas?",
    ],
)
def test_state_and_troubleshooting_questions_run_the_tools(investigator: Investigator, question: str) -> None:
    assert investigator.applies(OPERATOR, question)


@pytest.mark.parametrize(
    "question",
    [
        "What are the memory quotas of the payments namespace?",
        "How long does Loki keep logs from the payments namespace?",
        "What instance type are the memory-pool nodes?",
        "How do I get read-only credentials for the production database?",
        "How do I expose my service over HTTPS?",
    ],
)
def test_how_to_questions_naming_cluster_things_are_answered_from_the_documents(
    investigator: Investigator, question: str
) -> None:
    assert not investigator.applies(OPERATOR, question)


def test_no_tools_without_a_cluster_or_the_permission(investigator: Investigator) -> None:
    question = "Why is the checkout pod crash-looping?"
    assert not investigator.applies(Principal("v", "acme", ("viewer",)), question)
    assert not investigator.applies(Principal("o", "globex", ("operator",)), question)
