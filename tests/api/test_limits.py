"""Limits and failure modes through the real app: gateway JWTs, answers in flight per org, request timeouts, an index
that cannot serve, ingestion uploads, malformed requests, and what survives a request that fails half-way.

Slow answers come from real providers registered through the real registry: ``Gated`` holds its answer until the test
opens its gate, so "an answer in flight" is a state the test controls, not a race it hopes to win.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from assistant.api.app import create_app
from assistant.providers.base import Delta, GenerationRequest, Provider
from assistant.providers.registry import PROVIDERS, register
from core.errors import ProviderError
from index.edge_store import EdgeStore
from index.embedding import SentenceTransformerEmbedder
from tests.api.conftest import Service, ServiceFactory, open_service
from tests.api.test_service import sse_events

pytestmark = pytest.mark.anyio
QUESTION = "How do I expose my service over HTTPS?"
ISSUER, AUDIENCE = "https://gateway.example", "aiops-assistant"
SECRET = secrets.token_urlsafe(48)  # HS256 wants at least 32 bytes (PyJWT warns below that)
TIMEOUT = "the answer took longer than the request timeout"
RUNBOOK = b"""---
alert: NodeDiskPressure
---
# NodeDiskPressure

## Mitigation

Free the node's disk by pruning unused images: `crictl rmi --prune` on the node, then uncordon it.
"""


# -- providers the test controls ----------------------------------------------------------------------------------


class Gate:
    """Holds a provider's answer until the test opens it; tells the test when the provider got there and left."""

    def __init__(self) -> None:
        self.name = f"gated-{uuid.uuid4().hex[:8]}"
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.left = threading.Event()

    async def reached(self) -> bool:
        """True once a request is inside the provider (waits in a thread, not on the event loop)."""
        return await asyncio.to_thread(self.entered.wait, 30)


class Gated(Provider):
    """A generative provider that answers with a valid citation once its gate opens."""

    def __init__(self, gate: Gate) -> None:
        super().__init__(gate.name, "gated-1")
        self.gate = gate

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        self.gate.entered.set()
        try:
            if not self.gate.opened.wait(30):
                raise ProviderError(self.name, "the gate never opened")
            yield Delta("Set `tls: true` in the chart values [1].", {"prompt_tokens": 40, "completion_tokens": 9})
        finally:
            self.gate.left.set()


class Stutter(Provider):
    """A generative provider whose connection drops half-way through its answer."""

    def __init__(self) -> None:
        super().__init__(f"stutter-{uuid.uuid4().hex[:8]}", "stutter-1")

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        yield Delta("Half an answer that never ")
        raise ProviderError(self.name, "connection reset by peer", retryable=True)


@pytest.fixture
def provide() -> Iterator[Callable[[Provider], str]]:
    """Registers provider instances under their names; unregistered after the test."""
    names: list[str] = []

    def add(provider: Provider) -> str:
        register(provider.name)(lambda settings: provider)
        names.append(provider.name)
        return provider.name

    yield add
    for name in names:
        PROVIDERS.pop(name, None)


@pytest.fixture
def gate(provide: Callable[[Provider], str]) -> Iterator[Gate]:
    """A registered gated provider; opened at the end so no worker thread is left waiting."""
    made = Gate()
    provide(Gated(made))
    yield made
    made.opened.set()
    if made.entered.is_set():
        made.left.wait(30)


# -- services -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[Service]:
    """Gateway JWTs (HS256), one answer in flight per org, a 16 KiB upload cap."""
    made = open_service(
        tmp_path_factory.mktemp("limited"),
        embedder,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_key=SECRET,
        jwt_algorithms=["HS256"],
        org_concurrent_requests=1,
        max_upload_bytes=16 * 1024,
        pii_mask_external=False,
    )
    yield made
    made.runtime.close()


@pytest.fixture(scope="module")
def hurried(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[Service]:
    """Answers must come within one second: ample for the extractive provider, too short for a held one."""
    made = open_service(tmp_path_factory.mktemp("hurried"), embedder, request_timeout_s=1.0, pii_mask_external=False)
    made.runtime.masker.redact("warm up")  # the PII analyzer loads once per process, in about a second
    yield made
    made.runtime.close()


@pytest.fixture
async def gateway(limited: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with limited.client() as c:
        yield c


def unraised_client(service: Service) -> httpx.AsyncClient:
    """A client that gets the 500 response a real server sends, instead of the app's exception re-raised."""
    transport = httpx.ASGITransport(app=create_app(service.settings, service.runtime), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


def token(key: Any = SECRET, algorithm: str = "HS256", drop: tuple[str, ...] = (), **claims: Any) -> str:
    """A gateway JWT for a viewer of acme, with claims replaced or dropped."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "sam@acme", "org": "acme", "roles": ["viewer"]}
    body |= {"iat": now, "exp": now + 300} | claims
    for name in drop:
        body.pop(name)
    return jwt.encode(body, key, algorithm=algorithm)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def hs256_signed(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed by hand (PyJWT refuses a PEM key as an HMAC secret, as an attacker would not)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


async def finished_job(service: Service, client: httpx.AsyncClient, location: str, org: str) -> dict[str, Any]:
    """The job once the ingestion worker is idle (its queue is waited on, not slept on)."""
    await asyncio.to_thread(service.runtime.jobs.wait, 120)
    response = await client.get(location, headers=service.auth(org, "admin"))
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] not in ("queued", "running"), job
    return job


async def messages(client: httpx.AsyncClient, conversation: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/conversations/{conversation}", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


async def eventually(check: Callable[[], bool], within: float) -> bool:
    """Whether ``check`` comes true within the time: for writes of a worker thread the test holds no handle on."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# -- 1. gateway JWTs ------------------------------------------------------------------------------------------------


async def test_a_gateway_jwt_gives_the_org_user_and_roles_of_its_claims(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    viewer = bearer(token(sub="sam@acme"))
    usage = (await gateway.get("/v1/usage", headers=viewer)).json()
    assert usage["user"]["id"] == "sam@acme" and usage["organization"]["id"] == "acme"
    answer = await gateway.post("/v1/ask", json={"question": QUESTION}, headers=viewer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["citations"][0]["source_id"] == "docs/ingress-and-tls.md"
    denied = await gateway.get("/v1/audit", headers=viewer)
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "PermissionDeniedError"
    admin = bearer(token(sub="ops@globex", org="globex", roles=["admin"]))
    assert (await gateway.post("/v1/search", json={"query": "canary"}, headers=admin)).status_code == 200
    records = (await gateway.get("/v1/audit", headers=admin)).json()
    assert {r["org_id"] for r in records} == {"globex"} and ("ops@globex", "search") in {
        (r["user_id"], r["action"]) for r in records
    }
    sams = list(limited.runtime.audit.records("acme", user="sam@acme"))
    assert [(r["action"], r["outcome"]) for r in sams] == [("ask", "answered"), ("denied", "denied")]


async def test_the_body_cannot_move_a_jwt_to_another_org(gateway: httpx.AsyncClient) -> None:
    acme = bearer(token(sub="eve@acme"))
    smuggled = await gateway.post("/v1/ask", json={"question": QUESTION, "org": "globex"}, headers=acme)
    assert smuggled.status_code == 422 and "org: Extra inputs are not permitted" in smuggled.json()["error"]["message"]
    searched = await gateway.post("/v1/search", json={"query": "Spinnaker pipelines canary analysis"}, headers=acme)
    assert searched.status_code == 200 and "docs/deploying.md" not in {h["source_id"] for h in searched.json()}


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        pytest.param(lambda: token(exp=int(time.time()) - 5), "expired", id="expired"),
        pytest.param(lambda: token(iss="https://elsewhere.example"), "issuer", id="wrong-issuer"),
        pytest.param(lambda: token(aud="another-service"), "audience", id="wrong-audience"),
        pytest.param(lambda: token(key=secrets.token_urlsafe(48)), "signature", id="bad-signature"),
        pytest.param(lambda: token(key=None, algorithm="none"), "alg value is not allowed", id="alg-none"),
        pytest.param(lambda: token(drop=("exp",)), "exp", id="no-expiry"),
        pytest.param(lambda: token(drop=("org",)), "organization id", id="missing-org"),
        pytest.param(lambda: token(org="Not An Org!"), "organization id", id="invalid-org"),
        pytest.param(lambda: token(roles=["superuser"]), "roles must be among", id="unknown-role"),
        pytest.param(lambda: token(roles=[]), "roles must be among", id="no-roles"),
        pytest.param(lambda: token(roles="admin"), "roles claim must be a list", id="roles-as-string"),
        pytest.param(lambda: token(namespaces="shop"), "namespaces claim must be a list", id="namespaces-as-string"),
        pytest.param(lambda: token(sub=" "), "sub claim", id="blank-subject"),
    ],
)
async def test_a_jwt_that_does_not_verify_is_401(
    gateway: httpx.AsyncClient, made: Callable[[], str], reason: str
) -> None:
    response = await gateway.post("/v1/ask", json={"question": QUESTION}, headers=bearer(made()))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "AuthenticationError" and reason in error["message"].lower(), error


async def test_rs256_jwts_verify_against_the_gateways_public_key(make_service: ServiceFactory) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    service = make_service(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_key=public_pem.decode())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ops@globex", "org": "globex", "roles": ["admin"], "exp": now + 60}
    async with service.client() as client:
        valid = await client.get("/v1/audit", headers=bearer(jwt.encode(claims, private, algorithm="RS256")))
        assert valid.status_code == 200, valid.text
        usage = (await client.get("/v1/usage", headers=bearer(jwt.encode(claims, private, algorithm="RS256")))).json()
        assert usage["user"]["id"] == "ops@globex" and usage["organization"]["id"] == "globex"
        forged = [
            jwt.encode(claims, stranger, algorithm="RS256"),  # someone else's key pair
            hs256_signed(claims, public_pem),  # the public key used as an HMAC secret (algorithm confusion)
        ]
        for bad in forged:
            refused = await client.get("/v1/usage", headers=bearer(bad))
            assert refused.status_code == 401 and refused.json()["error"]["type"] == "AuthenticationError"


# -- 2. answers in flight per org -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_one_answer_in_flight_per_org_refuses_the_next_with_429(
    limited: Service, gateway: httpx.AsyncClient, gate: Gate, stream: bool
) -> None:
    held = asyncio.create_task(
        gateway.post(
            "/v1/ask",
            json={"question": QUESTION, "provider": gate.name, "stream": stream},
            headers=limited.auth("acme", "viewer"),
        )
    )
    assert await gate.reached()
    refused = await gateway.post("/v1/ask", json={"question": QUESTION}, headers=limited.auth("acme", "developer"))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert error["type"] == "QuotaExceededError" and "in progress" in error["message"]
    other_org = await gateway.post(
        "/v1/ask", json={"question": "How long does canary analysis run?"}, headers=limited.auth("globex", "viewer")
    )
    assert other_org.status_code == 200 and other_org.json()["status"] == "answered"
    search = await gateway.post("/v1/search", json={"query": "tls"}, headers=limited.auth("acme", "developer"))
    assert search.status_code == 200  # a search is not an answer: it takes no slot
    gate.opened.set()
    finished = await held
    assert finished.status_code == 200
    if stream:
        assert [kind for kind, _ in sse_events(finished.text)][-2:] == ["answer", "done"]
    else:
        assert finished.json()["provider"] == gate.name
    again = await gateway.post("/v1/ask", json={"question": QUESTION}, headers=limited.auth("acme", "developer"))
    assert again.status_code == 200  # the slot came back when the held answer ended


async def leave_at_once(service: Service, body: dict[str, Any]) -> None:
    """Drives the app as a server does for a client that sends its request and disconnects before any reply: every
    read after the body is ``http.disconnect``, and each write yields to the event loop as a socket write may."""
    data = json.dumps(body).encode()
    headers = {"host": "testserver", "content-type": "application/json", "content-length": str(len(data))}
    headers |= {"authorization": f"Bearer {service.tokens[('acme', 'viewer')]}"}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/ask",
        "raw_path": b"/v1/ask",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    unread = [{"type": "http.request", "body": data, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return unread.pop(0) if unread else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0)

    await create_app(service.settings, service.runtime)(scope, receive, send)


async def test_a_stream_whose_client_leaves_at_once_gives_its_slot_back(make_service: ServiceFactory) -> None:
    service = make_service(org_concurrent_requests=1)
    await leave_at_once(service, {"question": QUESTION, "stream": True})
    async with service.client() as client:
        after = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "developer"))
    assert after.status_code == 200, after.text


# -- 3. request timeout, and 7. what a failed answer leaves behind -------------------------------------------------


async def test_a_slow_answer_is_504_audited_as_error_and_the_conversation_keeps_what_it_had(
    hurried: Service, gate: Gate
) -> None:
    me = hurried.auth("acme", "developer")
    async with hurried.client() as client:
        first = await client.post("/v1/ask", json={"question": "Why is checkout crash-looping?"}, headers=me)
        assert first.status_code == 200, first.text
        conversation = first.json()["conversation_id"]
        before = await messages(client, conversation, me)
        follow = {"question": "and how do I roll it back?", "conversation_id": conversation, "provider": gate.name}
        slow = await client.post("/v1/ask", json=follow, headers=me)
        assert slow.status_code == 504 and slow.json() == {"error": {"type": "Timeout", "message": TIMEOUT}}
        assert gate.entered.is_set() and not gate.left.is_set()  # it gave up while the provider still held the answer
        asked = [
            r
            for r in hurried.runtime.audit.records("acme", action="ask")
            if r["details"]["question"] == follow["question"]
        ]
        assert [(r["outcome"], r["details"]["error"]) for r in asked] == [("error", f"timeout: {TIMEOUT}")]
        after = await messages(client, conversation, me)
        assert after == before and [m["role"] for m in after] == ["user", "assistant"]
        again = await client.post("/v1/ask", json={"question": QUESTION}, headers=me)
        assert again.status_code == 200  # the org's slot was given back


async def test_a_timed_out_answer_is_not_written_after_its_504(hurried: Service, gate: Gate) -> None:
    me = hurried.auth("globex", "developer")
    store = hurried.runtime.assistant.conversations
    async with hurried.client() as client:
        first = await client.post("/v1/ask", json={"question": "How long does canary analysis run?"}, headers=me)
        conversation = first.json()["conversation_id"]
        follow = {"question": "and who approves it?", "conversation_id": conversation, "provider": gate.name}
        assert (await client.post("/v1/ask", json=follow, headers=me)).status_code == 504
    gate.opened.set()
    assert await asyncio.to_thread(gate.left.wait, 30)
    late = await eventually(lambda: len(store.messages("globex", "developer@globex", conversation)) > 2, within=3)
    outcomes = [r["outcome"] for r in hurried.runtime.audit.records("globex", action="ask")]
    assert not late and outcomes == ["answered", "error"]


async def test_a_streamed_answer_ends_with_a_timeout_error_at_its_deadline(hurried: Service, gate: Gate) -> None:
    body = {"question": QUESTION, "provider": gate.name, "stream": True}
    async with hurried.client() as client:
        streaming = asyncio.create_task(client.post("/v1/ask", json=body, headers=hurried.auth("acme", "viewer")))
        ended_in_time, _ = await asyncio.wait({streaming}, timeout=3)
        gate.opened.set()  # a stream that waits for its provider ends only now
        streamed = await streaming
    kinds = [kind for kind, _ in sse_events(streamed.text)]
    assert ended_in_time, f"the stream was still open 3 s after its 1 s deadline; then it sent {kinds}"
    assert kinds[-1] == "error" and "answer" not in kinds


async def test_a_provider_that_fails_half_way_leaves_no_half_written_message(
    limited: Service, gateway: httpx.AsyncClient, provide: Callable[[Provider], str]
) -> None:
    stutter = provide(Stutter())
    me = limited.auth("acme", "developer")
    first = (await gateway.post("/v1/ask", json={"question": "Why is checkout crash-looping?"}, headers=me)).json()
    conversation = first["conversation_id"]
    before = await messages(gateway, conversation, me)
    follow = {"question": "and how do I fix it?", "conversation_id": conversation, "provider": stutter, "stream": True}
    streamed = await gateway.post("/v1/ask", json=follow, headers=me)
    events = sse_events(streamed.text)
    assert [data["text"] for kind, data in events if kind == "token"] == ["Half an answer that never "]
    answer = next(data for kind, data in events if kind == "answer")
    assert answer["provider"] == "extractive" and any("connection reset" in w for w in answer["warnings"])
    after = await messages(gateway, conversation, me)
    assert after[:2] == before and [m["role"] for m in after] == ["user", "assistant", "user", "assistant"]
    assert after[3]["content"] == answer["answer"] and "Half an answer" not in after[3]["content"]


# -- 4. an index that cannot serve ----------------------------------------------------------------------------------


def break_index(service: Service) -> EdgeStore:
    """Closes the embedded shard under the running service, as when its volume goes away."""
    store = service.runtime.index.store
    assert isinstance(store, EdgeStore)
    store.close()
    return store


def mend_index(service: Service, broken: EdgeStore, embedder: SentenceTransformerEmbedder) -> None:
    """Opens the shard again (its folder lock was released), so the service recovers and closes cleanly."""
    service.runtime.index.store = EdgeStore(broken.path, embedder.dimension)


async def test_an_index_that_cannot_serve_is_503_on_readyz_and_ask_is_a_clean_audited_503(
    make_service: ServiceFactory, embedder: SentenceTransformerEmbedder
) -> None:
    service = make_service()
    broken = break_index(service)
    try:
        async with unraised_client(service) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            checks = ready.json()["checks"]
            assert not checks["index"]["ok"] and "Shard is not initialized" in checks["index"]["reason"]
            assert checks["database"]["ok"]
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            asked = await client.post("/v1/ask", json={"question": QUESTION}, headers=service.auth("acme", "viewer"))
            assert asked.status_code == 503 and set(asked.json()) == {"error"}
            assert set(asked.json()["error"]) == {"type", "message"}
            assert asked.json()["error"]["type"] == "IndexUnavailableError"
            for leak in ("Traceback", 'File "', "edge_store", "Shard is not initialized"):
                assert leak not in asked.text
        assert [r["outcome"] for r in service.runtime.audit.records("acme", action="ask")] == ["error"]
    finally:
        mend_index(service, broken, embedder)
    async with service.client() as client:
        assert (await client.get("/readyz")).status_code == 200


# -- 5. ingestion by upload -----------------------------------------------------------------------------------------


async def test_an_uploaded_runbook_is_ingested_and_found_by_its_org_only(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    admin = limited.auth("acme", "admin")
    submitted = await gateway.post(
        "/v1/ingest/jobs", files=[("files", ("runbooks/NodeDiskPressure.md", RUNBOOK))], headers=admin
    )
    assert submitted.status_code == 202, submitted.text
    location = submitted.headers["location"]
    assert location == f"/v1/ingest/jobs/{submitted.json()['id']}"
    job = await finished_job(limited, gateway, location, "acme")
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["done"] == job["total"] == 1
    assert job["summary"]["added"] == 1 and job["summary"]["failed_count"] == 0
    query = {"query": "prune unused images to free the node disk", "k": 3}
    hits = (await gateway.post("/v1/search", json=query, headers=limited.auth("acme", "viewer"))).json()
    assert hits[0]["source_id"] == "runbooks/NodeDiskPressure.md" and "crictl rmi --prune" in hits[0]["text"]
    others = (await gateway.post("/v1/search", json=query, headers=limited.auth("globex", "admin"))).json()
    assert "runbooks/NodeDiskPressure.md" not in {h["source_id"] for h in others}


async def test_uploads_over_the_cap_paths_outside_the_roots_and_escaping_names_are_refused(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    admin = limited.auth("acme", "admin")
    jobs_before = len((await gateway.get("/v1/ingest/jobs", headers=admin)).json())
    big = await gateway.post(
        "/v1/ingest/jobs", files=[("files", ("docs/big.md", b"# Big\n" + b"x" * 20_000))], headers=admin
    )
    assert big.status_code == 413 and big.json()["error"]["type"] == "PayloadTooLargeError"
    sources = limited.settings.ingest_roots[0]
    for outside in ("/etc", str(sources / ".." / "data"), str(sources.parent)):
        refused = await gateway.post("/v1/ingest/jobs", json={"path": outside}, headers=admin)
        assert refused.status_code == 403 and "AIOPS_INGEST_ROOTS" in refused.json()["error"]["message"], outside
    uploads = limited.settings.data_dir / "uploads" / "acme"
    for name in ("../../etc/x.md", "/etc/x.md", "runbooks/../../../x.md", "..\\..\\x.md"):
        files = [("files", ("runbooks/Innocent.md", b"# Innocent\n\nNothing to see.\n")), ("files", (name, b"# X\n"))]
        escaped = await gateway.post("/v1/ingest/jobs", files=files, headers=admin)
        assert escaped.status_code == 422 and escaped.json()["error"]["type"] == "InvalidInputError", name
        assert "upload file name" in escaped.json()["error"]["message"]
    assert not (limited.settings.data_dir / "etc").exists() and not (limited.settings.data_dir / "x.md").exists()
    assert not (uploads / "runbooks" / "Innocent.md").exists()  # a refused upload writes none of its files
    assert len((await gateway.get("/v1/ingest/jobs", headers=admin)).json()) == jobs_before


async def test_a_job_with_corrupt_files_still_indexes_the_good_ones(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    admin = limited.auth("globex", "admin")
    files = [
        ("files", ("runbooks/broken.md", b"# Broken\n\n\xc3\x28 is not UTF-8\n")),
        ("files", ("docs/scan.pdf", b"%PDF-1.4 truncated")),
        ("files", ("docs/oncall.md", b"# On-call at Globex\n\n## Paging\n\nPages go to the `globex-sre` rotation.\n")),
    ]
    submitted = await gateway.post("/v1/ingest/jobs", files=files, headers=admin)
    job = await finished_job(limited, gateway, submitted.headers["location"], "globex")
    assert job["status"] == "partial" and job["progress"] == 1.0 and job["done"] == job["total"] == 3
    summary = job["summary"]
    assert summary["added"] == 1 and summary["failed_count"] == 2
    failed = {f["source_id"]: f["reason"] for f in summary["failed"]}
    assert failed.keys() == {"runbooks/broken.md", "docs/scan.pdf"} and "UTF-8" in failed["runbooks/broken.md"]
    viewer = limited.auth("globex", "viewer")
    for query, source in (("who gets paged", "docs/oncall.md"), ("Spinnaker canary analysis", "docs/deploying.md")):
        hits = (await gateway.post("/v1/search", json={"query": query, "k": 3}, headers=viewer)).json()
        assert hits[0]["source_id"] == source, (query, hits)


async def test_a_symlink_inside_an_ingest_root_does_not_ingest_a_file_outside_it(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    secret = limited.settings.data_dir.parent / "outside" / "token.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("service account token zq-7731-secret-kestrel\n")
    folder = limited.settings.ingest_roots[0] / "acme-linked" / "docs"
    folder.mkdir(parents=True)
    (folder / "notes.md").symlink_to(secret)
    (folder / "real.md").write_text("# Real notes\n\nThe staging cluster is rebuilt every Monday.\n")
    admin = limited.auth("acme", "admin")
    submitted = await gateway.post("/v1/ingest/jobs", json={"path": str(folder.parent)}, headers=admin)
    if submitted.status_code == 202:
        await finished_job(limited, gateway, submitted.headers["location"], "acme")
    query = {"query": "service account token kestrel", "k": 5}
    hits = (await gateway.post("/v1/search", json=query, headers=limited.auth("acme", "viewer"))).json()
    assert all("kestrel" not in h["text"] for h in hits)


# -- 6. malformed requests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"question": ', "body: not valid JSON (Expecting value at character 13)"),
        (b'{"question": "tls",}', "body: not valid JSON (Expecting property name enclosed in double quotes at"),
        (b"question=tls", "body: not valid JSON (Expecting value at character 0)"),
        (b'["tls"]', "body: Input should be a valid dictionary"),
        (b'{"question": 5}', "question: Input should be a valid string"),
    ],
    ids=["truncated", "trailing-comma", "form-encoded", "array", "wrong-type"],
)
async def test_a_malformed_body_is_422_naming_the_problem(
    limited: Service, gateway: httpx.AsyncClient, body: bytes, message: str
) -> None:
    headers = limited.auth("acme", "viewer") | {"Content-Type": "application/json"}
    response = await gateway.post("/v1/ask", content=body, headers=headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "InvalidInputError" and error["message"].startswith(message), error


async def test_an_unknown_conversation_is_404_before_anything_runs(
    limited: Service, gateway: httpx.AsyncClient
) -> None:
    me = limited.auth("acme", "viewer")
    for stream in (False, True):
        body = {"question": QUESTION, "conversation_id": "no-such-conversation", "stream": stream}
        response = await gateway.post("/v1/ask", json=body, headers=me)
        assert response.status_code == 404 and response.headers["content-type"] == "application/json"
        assert response.json()["error"] == {
            "type": "NotFoundError",
            "message": "conversation 'no-such-conversation' not found",
        }
    assert (await gateway.post("/v1/ask", json={"question": QUESTION}, headers=me)).status_code == 200


async def test_an_ingest_root_naming_the_org_is_open_to_that_org_only(make_service: ServiceFactory) -> None:
    service = make_service()
    base = service.settings.ingest_roots[0]
    service.settings.ingest_roots = [base / "{org}"]  # /.../sources/acme for acme, /.../sources/globex for globex
    async with service.client() as client:
        mine = await client.post(
            "/v1/ingest/jobs", json={"path": str(base / "acme")}, headers=service.auth("acme", "admin")
        )
        theirs = await client.post(
            "/v1/ingest/jobs", json={"path": str(base / "globex")}, headers=service.auth("acme", "admin")
        )
    assert mine.status_code == 202 and theirs.status_code == 403
    service.runtime.jobs.wait(60)
