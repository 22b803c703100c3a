"""Asking for manifests through the real app: generated from the organization's conventions and validated
(extractive), or drafted by a model and checked by the same validator, the failures said with their reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import Service, ServiceFactory
from tests.api.test_pii_external import _ollama_reply
from tests.replay import ReplayServer

pytestmark = pytest.mark.anyio
ASK = (
    "Write a Deployment, a Service and a PodDisruptionBudget for a service called loyalty in namespace shop, "
    "image ghcr.io/acme/loyalty:1.4.2, port 8080"
)


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


async def test_manifests_are_generated_validated_and_cited(service: Service, client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/ask", json={"question": ASK}, headers=service.auth("acme", "viewer"))
    answer = response.json()
    assert [(c["name"], c["status"]) for c in answer["tool_calls"]] == [("generate_manifests", "ok")]
    assert "```yaml" in answer["answer"] and "kind: PodDisruptionBudget" in answer["answer"]
    assert "image: ghcr.io/acme/loyalty:1.4.2" in answer["answer"] and "containerPort: 8080" in answer["answer"]
    assert "never applied to a cluster" in answer["answer"]
    assert "generated/loyalty" in {c["source_id"] for c in answer["citations"]}
    assert not any(c["name"].startswith(("kubernetes", "cluster")) for c in answer["tool_calls"])


async def test_a_manifest_question_without_an_image_says_what_is_missing(
    service: Service, client: httpx.AsyncClient
) -> None:
    question = "Write a Deployment for a service called loyalty in namespace shop"
    answer = (await client.post("/v1/ask", json={"question": question}, headers=service.auth("acme", "viewer"))).json()
    assert answer["tool_calls"] == []
    assert any("say the workload's image" in w for w in answer["warnings"])


async def test_a_models_draft_is_checked_and_its_failures_reported(
    make_service: ServiceFactory, replay: ReplayServer
) -> None:
    service = make_service(provider="ollama", ollama_url=replay.url, llm_backoff_s=0.01)
    draft = (
        "Here is a Deployment [1]:\n```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: loyalty\n"
        "  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: loyalty}\n  template:\n    metadata:\n"
        "      labels: {app: loyalty}\n    spec:\n      containers:\n      - name: loyalty\n"
        "        image: ghcr.io/acme/loyalty:latest\n        resorces: {}\n```\n"
    )
    replay.queue("/api/chat", _ollama_reply(draft[:40], draft[40:130], draft[130:]))  # streamed in pieces
    async with service.client() as client:
        response = await client.post("/v1/ask", json={"question": ASK}, headers=service.auth("acme", "viewer"))
    answer = response.json()
    assert answer["provider"] == "ollama", answer["warnings"]
    checks = [c for c in answer["tool_calls"] if c["name"] == "generate_manifests"]
    assert len(checks) == 2 and all(c["status"] == "ok" for c in checks)  # the template, then the model's draft
    problem = next(w for w in answer["warnings"] if w.startswith("the drafted manifests are not valid"))
    assert "resorces: unknown field" in problem and "latest" in problem
    (sent,) = replay.sent("/api/chat")
    assert "kind: Deployment" in json.dumps(sent.body)  # the model was shown the generated, validated template
