"""The service through the real app: auth, roles, contract shapes, streaming order, errors and limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import Service, ServiceFactory

pytestmark = pytest.mark.anyio
QUESTION = "How do I expose my service over HTTPS?"


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events body."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def test_health_ready_metrics_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["index"]["ok"] and checks["database"]["ok"] and checks["providers"]["chain"] == ["extractive"]
    assert (await client.get("/docs")).status_code == 200
    assert "/v1/ask" in (await client.get("/openapi.json")).json()["paths"]
    metrics = (await client.get("/metrics")).text
    assert "aiops_http_requests_total" in metrics and 'route="/readyz"' in metrics


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer aiops_000000000000_nope"}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": ""}],
    ids=["missing", "unknown-key", "garbage", "empty"],
)
async def test_missing_or_invalid_credentials_are_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v1/ask", json={"question": QUESTION}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["type"] == "AuthenticationError"


async def test_a_revoked_key_stops_working_at_once(service: Service, client: httpx.AsyncClient) -> None:
    key, token = service.runtime.keys.create("acme", "leaver@acme", ["viewer"])
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1/usage", headers=headers)).status_code == 200
    revoked = await client.delete(f"/v1/keys/{key.id}", headers=service.auth("acme", "admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/v1/usage", headers=headers)).status_code == 401


async def test_ask_returns_the_contract_shape_with_the_org_from_the_key(
    service: Service, client: httpx.AsyncClient
) -> None:
    response = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "viewer"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {"answer", "status", "citations", "tool_calls", "provider", "timings"} <= answer.keys()
    assert answer["status"] == "answered" and "`tls: true`" in answer["answer"]
    assert answer["citations"][0]["source_id"] == "docs/ingress-and-tls.md"
    assert response.headers["x-aiops-provider"] == "extractive" and "x-aiops-fallback" not in response.headers
    # the organization is never taken from the body
    smuggled = await client.post(
        "/v1/ask", json={"question": QUESTION, "org": "globex"}, headers=service.auth("acme", "viewer")
    )
    assert smuggled.status_code == 422 and "org" in smuggled.json()["error"]["message"]


async def test_search_returns_the_hits_of_the_callers_org(service: Service, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/search", json={"query": "deploy pipelines canary", "k": 5}, headers=service.auth("globex", "viewer")
    )
    hits = response.json()
    assert response.status_code == 200 and hits
    assert {h["source_id"] for h in hits} == {"docs/deploying.md"}
    assert {"source_id", "uri", "title", "section", "score", "text"} <= hits[0].keys()


async def test_streaming_events_come_in_order(service: Service, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/ask", json={"question": QUESTION, "stream": True}, headers=service.auth("acme", "viewer")
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "retrieval" and kinds[-2:] == ["answer", "done"]
    assert events[0][1]["sources"][0]["source_id"] == "docs/ingress-and-tls.md"
    answer, done = events[-2][1], events[-1][1]
    assert done["answer_id"] == answer["answer_id"] and "total_ms" in done["timings"]
    assert all(c["n"] in {s["n"] for s in events[0][1]["sources"]} for c in answer["citations"])


async def test_conversations_follow_ups_list_get_delete(service: Service, client: httpx.AsyncClient) -> None:
    me = service.auth("acme", "developer")
    first = (await client.post("/v1/ask", json={"question": "Why is checkout crash-looping?"}, headers=me)).json()
    conversation = first["conversation_id"]
    follow = await client.post(
        "/v1/ask", json={"question": "and how do I fix it?", "conversation_id": conversation}, headers=me
    )
    assert follow.status_code == 200 and follow.json()["conversation_id"] == conversation
    listed = (await client.get("/v1/conversations", headers=me)).json()
    assert listed[0]["id"] == conversation
    got = (await client.get(f"/v1/conversations/{conversation}", headers=me)).json()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "user", "assistant"]
    assert got["messages"][1]["answer"]["answer_id"] == first["answer_id"]
    assert (await client.delete(f"/v1/conversations/{conversation}", headers=me)).status_code == 204
    assert (await client.get(f"/v1/conversations/{conversation}", headers=me)).status_code == 404
    unknown = await client.post("/v1/ask", json={"question": QUESTION, "conversation_id": "nope"}, headers=me)
    assert unknown.status_code == 404


async def test_feedback_is_tied_to_one_of_your_answers(service: Service, client: httpx.AsyncClient) -> None:
    me = service.auth("acme", "viewer")
    answer = (await client.post("/v1/ask", json={"question": QUESTION}, headers=me)).json()
    given = await client.post(
        "/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "down", "comment": "too short"}, headers=me
    )
    assert given.status_code == 201 and given.json()["rating"] == "down"
    bad = await client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "meh"}, headers=me)
    assert bad.status_code == 422
    missing = await client.post("/v1/feedback", json={"answer_id": "not-an-answer", "rating": "up"}, headers=me)
    assert missing.status_code == 404


async def test_sources_list_and_open_a_cited_span(service: Service, client: httpx.AsyncClient) -> None:
    me = service.auth("acme", "viewer")
    listed = (await client.get("/v1/sources", headers=me)).json()
    assert listed["organization"] == "acme" and listed["total"] == 3
    assert listed["types"]["runbook"]["sources"] == 1 and listed["types"]["doc"]["chunks"] >= 1
    assert listed["types"]["incident"]["last_sync"]
    answer = (await client.post("/v1/ask", json={"question": QUESTION}, headers=me)).json()
    cited = answer["citations"][0]
    opened = await client.get(
        f"/v1/sources/{cited['source_id']}",
        params={"line_start": cited["line_start"], "line_end": cited["line_end"]},
        headers=me,
    )
    body = opened.json()
    assert opened.status_code == 200 and body["title"] == "Ingress and TLS"
    assert any(p["cited"] and "letsencrypt-prod" in p["text"] for p in body["passages"])
    assert (await client.get("/v1/sources/docs/nope.md", headers=me)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("GET", "/v1/audit", "admin"),
        ("GET", "/v1/keys", "admin"),
        ("GET", "/v1/ingest/jobs", "admin"),
        ("POST", "/v1/ingest/jobs", "admin"),
    ],
)
async def test_roles_below_admin_get_403_and_the_refusal_is_audited(
    service: Service, client: httpx.AsyncClient, method: str, path: str, needs: str
) -> None:
    for role in ("viewer", "developer", "operator"):
        response = await client.request(method, path, headers=service.auth("acme", role), json={})
        assert response.status_code == 403, (role, response.text)
        assert response.json()["error"]["type"] == "PermissionDeniedError"
    denied = list(service.runtime.audit.records("acme", action="denied"))
    assert any(r["details"]["path"] == path for r in denied)
    assert (await client.request(method, path, headers=service.auth("acme", needs), json={})).status_code != 403


async def test_bad_input_gets_clear_errors(service: Service, client: httpx.AsyncClient) -> None:
    me = service.auth("acme", "viewer") | {"Content-Type": "application/json"}
    malformed = await client.post("/v1/ask", content=b'{"question": ', headers=me)
    assert malformed.status_code == 422 and malformed.json()["error"]["type"] == "InvalidInputError"
    empty = await client.post("/v1/ask", json={"question": ""}, headers=me)
    assert empty.status_code == 422 and "question" in empty.json()["error"]["message"]
    huge = await client.post("/v1/ask", content=b'{"question": "' + b"x" * 2_000_000 + b'"}', headers=me)
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "PayloadTooLargeError"

    async def chunked() -> Any:  # no Content-Length: the cap counts the bytes as they arrive
        for _ in range(30):
            yield b"x" * 65536

    streamed = await client.post("/v1/ask", content=chunked(), headers=me)
    assert streamed.status_code == 413
    assert (await client.get("/v1/nothing-here", headers=me)).json()["error"]["type"] == "NotFoundError"


async def test_usage_counts_requests(service: Service, client: httpx.AsyncClient) -> None:
    me = service.auth("globex", "developer")
    before = (await client.get("/v1/usage", headers=me)).json()
    await client.post("/v1/ask", json={"question": "How long does canary analysis run?"}, headers=me)
    after = (await client.get("/v1/usage", headers=me)).json()
    assert after["user"]["requests"] == before["user"]["requests"] + 1
    assert after["organization"]["id"] == "globex" and after["limits"]["user_requests_per_minute"] == 120


async def test_request_rate_quota_gives_429_with_retry_after(make_service: ServiceFactory) -> None:
    service = make_service(user_requests_per_minute=2)
    async with service.client() as client:
        me = service.auth("acme", "viewer")
        codes = [(await client.post("/v1/search", json={"query": "tls"}, headers=me)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = await client.post("/v1/search", json={"query": "tls"}, headers=me)
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"]["type"] == "QuotaExceededError"
        # another user of the same org has their own allowance
        other = await client.post("/v1/search", json={"query": "tls"}, headers=service.auth("acme", "developer"))
        assert other.status_code == 200


async def test_daily_token_budget_gives_429_until_midnight(make_service: ServiceFactory) -> None:
    service = make_service(org_tokens_per_day=100)
    principal = service.runtime.keys.authenticate(service.tokens[("acme", "viewer")])
    service.runtime.quotas.charge(principal, 150)
    async with service.client() as client:
        refused = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "admin"))
        assert refused.status_code == 429 and "token budget" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) <= 86400
        other_org = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("globex", "viewer"))
        assert other_org.status_code == 200


async def test_provider_down_answers_from_the_fallback_with_a_header(make_service: ServiceFactory) -> None:
    service = make_service(provider="ollama", ollama_url="http://127.0.0.1:9", llm_max_retries=0, llm_timeout_s=2)
    async with service.client() as client:
        response = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "viewer"))
    assert response.status_code == 200
    assert response.headers["x-aiops-provider"] == "extractive"
    assert response.headers["x-aiops-fallback"] == "ollama -> extractive"
    assert any("fell back" in w for w in response.json()["warnings"])
