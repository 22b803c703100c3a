"""What leaves for an external model carries placeholders, never the personal data of the sources or the question;
the answer the user reads has the real values back, also while it streams."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.api.conftest import ServiceFactory
from tests.api.test_service import sse_events
from tests.replay import ReplayServer, Reply

pytestmark = pytest.mark.anyio
QUESTION = "Who was the incident commander of the checkout outage, and how do I reach them?"


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


def _ollama_reply(*pieces: str) -> Reply:
    lines = [{"model": "mistral", "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
    lines.append(
        {
            "model": "mistral",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 300,
            "eval_count": 20,
        }
    )
    return Reply(200, "application/x-ndjson", [(json.dumps(line) + "\n").encode() for line in lines])


async def test_a_generative_provider_sees_placeholders_and_the_user_sees_names(
    make_service: ServiceFactory, replay: ReplayServer
) -> None:
    service = make_service(provider="ollama", ollama_url=replay.url, llm_backoff_s=0.01)
    # the placeholder arrives split across two streamed pieces
    replay.queue("/api/chat", _ollama_reply("Reach the incident commander at <EMAIL_ADD", "RESS_1> [1]."))
    async with service.client() as client:
        response = await client.post(
            "/v1/ask", json={"question": QUESTION, "stream": True}, headers=service.auth("acme", "operator")
        )
    events = sse_events(response.text)
    answer = next(data for kind, data in events if kind == "answer")
    tokens = "".join(data["text"] for kind, data in events if kind == "token")
    assert answer["provider"] == "ollama" and answer["status"] == "answered"
    assert "priya.raman@acme-shop.example" in answer["answer"] and tokens == answer["answer"]
    (sent,) = replay.sent("/api/chat")
    body = json.dumps(sent.body)
    assert "Checkout outage" in body  # the sources did go out...
    for personal in ("priya.raman@acme-shop.example", "+44 7700 900239", "Priya Raman"):
        assert personal not in body  # ...without the personal data in them
    assert "<EMAIL_ADDRESS_1>" in body and "<PHONE_NUMBER_1>" in body
    (record,) = service.runtime.audit.records("acme", action="ask")
    assert record["details"]["provider"] == "ollama" and record["details"]["model"] == "mistral"
    assert record["details"]["tokens"] == {"prompt_tokens": 300, "completion_tokens": 20}


async def test_masking_can_be_turned_off_for_a_trusted_local_model(
    make_service: ServiceFactory, replay: ReplayServer
) -> None:
    service = make_service(provider="ollama", ollama_url=replay.url, pii_mask_external=False)
    replay.queue("/api/chat", _ollama_reply("Priya Raman was the incident commander [1]."))
    async with service.client() as client:
        await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "operator"))
    (sent,) = replay.sent("/api/chat")
    assert "priya.raman@acme-shop.example" in json.dumps(sent.body)
