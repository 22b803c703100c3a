"""The portal's pages and assets as the service serves them (the browser tests in tests/portal drive them): every
asset local, a strict Content-Security-Policy on pages and API answers, no data in a page, and `GET /v1/me`."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import Service

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/", "/admin/sources", "/admin/audit"])
async def test_pages_are_frames_with_local_assets_and_a_strict_policy(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a[:1] in "/#" and not a.startswith("//") for a in assets), assets
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    for asset in (a for a in assets if a.startswith("/static/")):
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"


async def test_api_answers_carry_the_policy_and_docs_keep_their_own(client: httpx.AsyncClient) -> None:
    assert "default-src 'none'" in (await client.get("/healthz")).headers["content-security-policy"]
    assert "content-security-policy" not in (await client.get("/docs")).headers
    assert (await client.get("/static/../pyproject.toml")).status_code == 404


async def test_me_says_who_the_key_is_and_what_it_may(service: Service, client: httpx.AsyncClient) -> None:
    me = (await client.get("/v1/me", headers=service.auth("acme", "developer"))).json()
    assert me["org"] == "acme" and me["roles"] == ["developer"]
    assert "ask" in me["permissions"] and "tools:namespaced" in me["permissions"] and "ingest" not in me["permissions"]
    admin = (await client.get("/v1/me", headers=service.auth("acme", "admin"))).json()
    assert {"ingest", "audit", "keys"} <= set(admin["permissions"])
    assert (await client.get("/v1/me")).status_code == 401
