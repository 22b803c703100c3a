"""Tenant isolation across every endpoint: what one org (or user) created is "not found" for every other caller."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api.conftest import Service

pytestmark = pytest.mark.anyio


async def _acme_resources(service: Service, client: httpx.AsyncClient) -> dict[str, Any]:
    admin = service.auth("acme", "admin")
    answer = (
        await client.post(
            "/v1/ask", json={"question": "Who was the incident commander of the checkout outage?"}, headers=admin
        )
    ).json()
    job = (
        await client.post(
            "/v1/ingest/jobs",
            files={"files": ("docs/cost.md", b"# Cost\n\n## Budgets\n\nAcme budgets are reviewed every quarter.\n")},
            headers=admin,
        )
    ).json()
    await asyncio.to_thread(service.runtime.jobs.wait, 120)
    key = (await client.get("/v1/keys", headers=admin)).json()[0]
    return {"answer": answer, "job": job, "key": key}


async def test_another_org_cannot_reach_anything_of_acme(service: Service, client: httpx.AsyncClient) -> None:
    acme = await _acme_resources(service, client)
    conversation, answer_id = acme["answer"]["conversation_id"], acme["answer"]["answer_id"]
    probes = [
        ("GET", f"/v1/conversations/{conversation}", None),
        ("DELETE", f"/v1/conversations/{conversation}", None),
        ("POST", "/v1/ask", {"question": "and who else?", "conversation_id": conversation}),
        ("POST", "/v1/feedback", {"answer_id": answer_id, "rating": "up"}),
        ("GET", "/v1/sources/incidents/2024-03-12-checkout-outage.md", None),
        ("GET", "/v1/sources/docs/cost.md", None),
        ("GET", f"/v1/ingest/jobs/{acme['job']['id']}", None),
        ("DELETE", f"/v1/keys/{acme['key']['id']}", None),
    ]
    for role in ("viewer", "admin"):
        for method, path, body in probes:
            response = await client.request(method, path, json=body, headers=service.auth("globex", role))
            assert response.status_code in (403, 404), (role, method, path, response.status_code)
            if role == "admin":
                assert response.status_code == 404, (method, path, response.text)
    globex_admin = service.auth("globex", "admin")
    listings = {
        "/v1/conversations": lambda r: [c["id"] for c in r],
        "/v1/ingest/jobs": lambda r: [j["id"] for j in r],
        "/v1/keys": lambda r: [k["org_id"] for k in r],
        "/v1/audit": lambda r: [a["org_id"] for a in r],
    }
    for path, pick in listings.items():
        found = pick((await client.get(path, headers=globex_admin, params={"limit": 200})).json())
        assert conversation not in found and acme["job"]["id"] not in found and "acme" not in found, path
    sources = (await client.get("/v1/sources", headers=globex_admin)).json()
    assert all(not s["source_id"].startswith("incidents/") for s in sources["sources"])
    hits = (
        await client.post("/v1/search", json={"query": "incident commander checkout outage"}, headers=globex_admin)
    ).json()
    assert {h["source_id"] for h in hits} <= {"docs/deploying.md"}
    asked = (
        await client.post(
            "/v1/ask", json={"question": "Who was the incident commander of the checkout outage?"}, headers=globex_admin
        )
    ).json()
    assert "Priya" not in asked["answer"] and all(c["source_id"] == "docs/deploying.md" for c in asked["citations"])
    # and the acme resources are intact
    still = await client.get(f"/v1/conversations/{conversation}", headers=service.auth("acme", "admin"))
    assert still.status_code == 200


async def test_another_user_of_the_same_org_cannot_read_your_conversation(
    service: Service, client: httpx.AsyncClient
) -> None:
    mine = (
        await client.post(
            "/v1/ask", json={"question": "How do I expose a service?"}, headers=service.auth("acme", "viewer")
        )
    ).json()
    for role in ("developer", "admin"):
        peek = await client.get(f"/v1/conversations/{mine['conversation_id']}", headers=service.auth("acme", role))
        assert peek.status_code == 404
        feedback = await client.post(
            "/v1/feedback", json={"answer_id": mine["answer_id"], "rating": "down"}, headers=service.auth("acme", role)
        )
        assert feedback.status_code == 404


async def test_the_audit_chain_verifies_and_a_tampered_record_is_found(
    service: Service, client: httpx.AsyncClient
) -> None:
    await client.post(
        "/v1/ask", json={"question": "How do I expose a service?"}, headers=service.auth("acme", "viewer")
    )
    audit = service.runtime.audit
    assert audit.verify().ok and audit.verify().records >= 1
    records = list(audit.records("acme", action="ask"))
    assert {"question", "sources", "provider", "latency_ms", "answer_id"} <= records[-1]["details"].keys()
    target = records[-1]["seq"]
    engine = service.runtime.db.engine
    with engine.begin() as conn, pytest.raises(Exception, match="append-only"):  # the database refuses edits...
        conn.execute(text("UPDATE audit_log SET outcome = 'answered' WHERE seq = :s"), {"s": target})
    with engine.begin() as conn:  # ...so an attacker with the file drops the guard first
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(
            text("UPDATE audit_log SET record = replace(record, 'expose', 'EXPOSE') WHERE seq = :s"), {"s": target}
        )
    try:
        result = audit.verify()
        assert not result.ok and result.first_bad_seq == target and "hash" in str(result.reason)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET record = replace(record, 'EXPOSE', 'expose') WHERE seq = :s"), {"s": target}
            )
            conn.execute(
                text(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
            )
    assert audit.verify().ok


async def test_pii_is_masked_in_the_audit_log(service: Service, client: httpx.AsyncClient) -> None:
    question = "I am Jonathan Whitaker, reach me at jon.whitaker@acme-shop.example. How do I expose my service?"
    await client.post("/v1/ask", json={"question": question}, headers=service.auth("acme", "viewer"))
    asked = service.runtime.audit.records("acme", action="ask")
    (record,) = [r for r in asked if "reach me" in r["details"]["question"]]
    stored = record["details"]["question"]
    assert "jon.whitaker@acme-shop.example" not in stored and "<EMAIL_ADDRESS>" in stored
    assert "Jonathan Whitaker" not in stored
