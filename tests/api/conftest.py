"""The real service app over a real embedded index of two organizations, with API keys of every role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.api.app import create_app
from assistant.runtime import Runtime
from core.settings import Settings
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from ingest.sync import ingest_path
from tests.conftest import settings_for

ACME = {
    "docs/ingress-and-tls.md": """# Ingress and TLS

## Exposing a service over HTTPS

Set `tls: true` in the chart values of your service. The chart adds the annotation
`cert-manager.io/cluster-issuer: letsencrypt-prod` to the Ingress, and cert-manager issues the certificate.
The certificate is stored in the secret `<service>-tls` and renewed 30 days before it expires.
""",
    "runbooks/KubePodCrashLooping.md": """---
alert: KubePodCrashLooping
severity: warning
---
# KubePodCrashLooping

## Diagnosis

Look at the previous container's log: `kubectl -n shop logs deploy/checkout --previous --tail=100`.

## Mitigation

Roll back with `helm rollback checkout` when the last deploy introduced the crash.
""",
    "incidents/2024-03-12-checkout-outage.md": """---
id: ACME-INC-7
date: 2024-03-12
severity: SEV2
services: [checkout]
---
# Checkout outage after a config change

## Summary

Checkout returned errors for 48 minutes after a config change removed the payments URL.
The incident commander was Priya Raman (priya.raman@acme-shop.example, +44 7700 900239).

## Root cause

The `PAYMENTS_URL` key was deleted from the checkout config map.
""",
}

GLOBEX = {
    "docs/deploying.md": """# Deploying at Globex

## Rollouts

Globex deploys with Spinnaker pipelines named `globex-<service>-prod`. Canary analysis runs for 20 minutes.
""",
}

ROLES = ("viewer", "developer", "operator", "admin")


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@dataclass
class Service:
    """An app over its runtime, and a token per (org, role)."""

    runtime: Runtime
    settings: Settings
    tokens: dict[tuple[str, str], str]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(self.settings, self.runtime))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)

    def auth(self, org: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(org, role)]}"}


ServiceFactory = Callable[..., Service]


def open_service(root: Path, embedder: SentenceTransformerEmbedder, **overrides: object) -> Service:
    settings = settings_for(root, "edge", answer_cache_ttl_s=0, ingest_roots=[root / "sources"], **overrides)
    index = open_index(settings, embedder)
    ingest_path(index, settings, "acme", write_tree(root / "sources" / "acme", ACME))
    ingest_path(index, settings, "globex", write_tree(root / "sources" / "globex", GLOBEX))
    runtime = Runtime.open(settings, index=index)
    tokens = {}
    for org in ("acme", "globex"):
        for role in ROLES:
            _, tokens[(org, role)] = runtime.keys.create(org, f"{role}@{org}", [role], ["shop"])
    return Service(runtime, settings, tokens)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[Service]:
    """One service per test module."""
    made = open_service(tmp_path_factory.mktemp("service"), embedder)
    yield made
    made.runtime.close()


@pytest.fixture
def make_service(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[ServiceFactory]:
    """Services with settings overrides (quotas, providers), closed after the test."""
    made: list[Service] = []

    def make(**overrides: object) -> Service:
        made.append(open_service(tmp_path / f"s{len(made)}", embedder, **overrides))
        return made[-1]

    yield make
    for s in made:
        s.runtime.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with service.client() as c:
        yield c
