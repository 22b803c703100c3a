"""The endpoints. The caller (org, user, roles) comes from the credential only; every store call takes the caller's
org, so another organization's conversation, answer, source, job or audit record is simply "not found"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from sqlalchemy import insert
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assistant.api.schemas import AskBody, FeedbackBody, IngestPathBody, KeyBody, SearchBody, ToolBody
from assistant.api.turns import TIMEOUT_MESSAGE, Turn
from assistant.auth import Principal
from assistant.database import feedback
from assistant.jobs import Upload
from assistant.runtime import Runtime
from core.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from index.records import SOURCE_TYPES, SearchFilters

health = APIRouter(tags=["health"])
v1 = APIRouter(prefix="/v1")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def caller(request: Request) -> Principal:
    """The principal of the request's credential: ``Authorization: Bearer <API key | JWT>`` or ``X-API-Key``."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "").strip()
    if not token:
        raise AuthenticationError("missing credential: send `Authorization: Bearer <API key>`")
    rt = _runtime(request)
    if token.startswith("aiops_"):
        return await run_in_threadpool(rt.keys.authenticate, token)
    return rt.jwt.verify(token)


def allowed(permission: str) -> Callable[..., Any]:
    """A dependency: the caller, if their roles grant ``permission``; a refusal is audited, then 403."""

    async def check(request: Request, who: Annotated[Principal, Depends(caller)]) -> Principal:
        if not who.can(permission):
            rt = _runtime(request)
            await run_in_threadpool(
                rt.audit.append, who.org, who.user, "denied", "denied", permission=permission, path=request.url.path
            )
        who.require(permission)
        return who

    return check


Viewer = Annotated[Principal, Depends(allowed("ask"))]
Admin = Annotated[Principal, Depends(allowed("ingest"))]


# -- health -----------------------------------------------------------------------------------------------------------


@health.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@health.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Index, database and providers; 503 when the index or the database cannot serve."""
    checks = await run_in_threadpool(_runtime(request).readiness)
    ready = all(c.get("ok") for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@health.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition."""
    return Response(_runtime(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


# -- search and ask ---------------------------------------------------------------------------------------------------


@v1.post("/search", tags=["answers"])
async def search(body: SearchBody, request: Request, who: Annotated[Principal, Depends(allowed("search"))]) -> Any:
    """The hits of `aiops search --json`, from the caller's organization only."""
    rt = _runtime(request)
    await run_in_threadpool(rt.quotas.admit, who)
    started = time.perf_counter()
    filters = SearchFilters(source_types=body.source_types)
    hits = await run_in_threadpool(
        rt.index.search,
        who.org,
        body.query,
        k=body.k,
        filters=filters,
        mode=body.mode,
        visible=who.cluster_visibility(),
    )
    data = [h.to_json() for h in hits]
    await run_in_threadpool(
        rt.audit.append,
        who.org,
        who.user,
        "search",
        "ok",
        question=body.query,
        sources=[h["source_id"] for h in data],
        latency_ms=_ms(started),
    )
    return data


@v1.post("/ask", tags=["answers"], response_model=None)
async def ask(body: AskBody, request: Request, who: Viewer) -> JSONResponse | StreamingResponse:
    """An answer with validated citations (the contract of `aiops ask --json`), or with `"stream": true` (or
    `Accept: text/event-stream`) Server-Sent Events: `tool_call`, `retrieval`, `token`, `answer`, `done` or
    `error`."""
    rt = _runtime(request)
    await run_in_threadpool(rt.quotas.admit, who)
    if body.conversation_id:  # an unknown conversation is a 404 before anything streams
        await run_in_threadpool(rt.assistant.conversations.get, who.org, who.user, body.conversation_id)
    turn = Turn(rt, who, body, rt.quotas.acquire(who.org))
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return turn.streaming_response()
    answer = await turn.answer_within(rt.settings.request_timeout_s)
    if answer is None:
        return JSONResponse({"error": {"type": "Timeout", "message": TIMEOUT_MESSAGE}}, status_code=504)
    return JSONResponse(answer, headers=turn.headers())


@v1.get("/me", tags=["usage"])
async def me(who: Annotated[Principal, Depends(caller)]) -> Any:
    """Who the credential is: organization, user, roles, namespaces and what the roles permit (the portal shows the
    pages these allow)."""
    return {
        "org": who.org,
        "user": who.user,
        "roles": list(who.roles),
        "namespaces": list(who.namespaces),
        "permissions": sorted(who.granted),
        "via": who.via,
    }


# -- conversations and feedback ---------------------------------------------------------------------------------------


@v1.get("/conversations", tags=["conversations"])
async def conversations(request: Request, who: Viewer, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """The caller's conversations, most recent first."""
    found = await run_in_threadpool(_runtime(request).assistant.conversations.recent, who.org, who.user, limit)
    return [c.__dict__ for c in found]


@v1.get("/conversations/{conversation_id}", tags=["conversations"])
async def conversation(conversation_id: str, request: Request, who: Viewer) -> Any:
    """One of the caller's conversations with its messages (answers in the contract shape)."""
    store = _runtime(request).assistant.conversations
    found = await run_in_threadpool(store.get, who.org, who.user, conversation_id)
    messages = await run_in_threadpool(store.messages, who.org, who.user, conversation_id)
    return found.__dict__ | {"messages": [m.__dict__ for m in messages]}


@v1.delete("/conversations/{conversation_id}", tags=["conversations"], status_code=204)
async def delete_conversation(conversation_id: str, request: Request, who: Viewer) -> Response:
    """Delete one of the caller's conversations."""
    rt = _runtime(request)
    await run_in_threadpool(rt.assistant.conversations.delete, who.org, who.user, conversation_id)
    await run_in_threadpool(rt.audit.append, who.org, who.user, "conversation.delete", "ok", id=conversation_id)
    return Response(status_code=204)


@v1.post("/feedback", tags=["conversations"], status_code=201)
async def give_feedback(body: FeedbackBody, request: Request, who: Viewer) -> Any:
    """Thumbs up or down, with an optional comment, on one of the caller's answers."""
    rt = _runtime(request)
    await run_in_threadpool(rt.assistant.conversations.answer, who.org, who.user, body.answer_id)
    rating = 1 if body.rating == "up" else -1
    row = {
        "answer_id": body.answer_id,
        "org_id": who.org,
        "user_id": who.user,
        "rating": rating,
        "comment": body.comment,
        "created_at": _now(),
    }

    def store() -> int:
        with rt.db.transaction() as conn:
            key = conn.execute(insert(feedback).values(**row)).inserted_primary_key
            return int(key[0]) if key else 0

    feedback_id = await run_in_threadpool(store)
    await run_in_threadpool(
        rt.audit.append, who.org, who.user, "feedback", body.rating, answer_id=body.answer_id, comment=body.comment
    )
    return {"id": feedback_id, "answer_id": body.answer_id, "rating": body.rating}


# -- sources ----------------------------------------------------------------------------------------------------------


@v1.get("/sources", tags=["sources"])
async def sources(
    request: Request,
    who: Viewer,
    source_type: Annotated[str | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """What is indexed for the caller's organization: per type, the number of sources and chunks and the last sync;
    then the sources themselves (paged)."""
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise InvalidInputError(f"type must be one of {', '.join(SOURCE_TYPES)}")
    states = await run_in_threadpool(_runtime(request).index.sources, who.org, None, who.cluster_visibility())
    by_type: dict[str, dict[str, Any]] = {}
    for state in states.values():
        entry = by_type.setdefault(state.source_type, {"sources": 0, "chunks": 0, "last_sync": None})
        entry["sources"] += 1
        entry["chunks"] += state.chunk_count
        entry["last_sync"] = max(filter(None, [entry["last_sync"], state.ingested_at]), default=None)
    listed = sorted((s for s in states.values() if source_type in (None, s.source_type)), key=lambda s: s.source_id)
    return {
        "organization": who.org,
        "types": by_type,
        "total": len(listed),
        "sources": [s.__dict__ for s in listed[offset : offset + limit]],
    }


@v1.get("/sources/{source_id:path}", tags=["sources"])
async def source(
    source_id: str,
    request: Request,
    who: Viewer,
    line_start: Annotated[int | None, Query(ge=1)] = None,
    line_end: Annotated[int | None, Query(ge=1)] = None,
    context: Annotated[int, Query(ge=0, le=200)] = 20,
) -> Any:
    """The source's text around a cited span (lines), as passages; the ones overlapping the span are `cited`."""
    points = await run_in_threadpool(_runtime(request).index.chunks, who.org, source_id, who.cluster_visibility())
    if not points:
        raise NotFoundError(f"source {source_id!r} not found")
    first = points[0].payload
    start = line_start or 1
    end = max(line_end or start, start)
    passages = []
    for point in points:
        p = point.payload
        a, b = p.get("line_start"), p.get("line_end")
        if line_start is not None and a is not None and b is not None and (b < start - context or a > end + context):
            continue
        cited = line_start is not None and a is not None and b is not None and a <= end and b >= start
        passages.append(
            {
                "position": p.get("position"),
                "section": p.get("section"),
                "line_start": a,
                "line_end": b,
                "page": p.get("page"),
                "text": p.get("text"),
                "cited": cited,
            }
        )
    meta = ("source_id", "source_type", "title", "uri", "ingested_at")
    return (
        {k: first.get(k) for k in meta}
        | {"span": {"line_start": line_start, "line_end": line_end}}
        | {"passages": passages}
    )


# -- ingestion --------------------------------------------------------------------------------------------------------


@v1.post("/ingest/jobs", tags=["ingestion"], status_code=202)
async def submit_job(request: Request, who: Admin) -> Any:
    """Ingest for the caller's org: JSON `{"path", "source_type"}` (a server folder inside AIOPS_INGEST_ROOTS),
    `{"cluster"}` (sync one of the org's clusters), or a multipart upload of `files` (with an optional `source_type`
    field). Runs in the background; follow it by id."""
    rt = _runtime(request)
    if request.headers.get("content-type", "").startswith("multipart/"):
        async with request.form(max_files=1000, max_part_size=rt.settings.max_upload_bytes) as form:
            uploads = [
                Upload(item.filename or "", await item.read())
                for item in form.getlist("files")
                if isinstance(item, UploadFile)
            ]
            kind = form.get("source_type")
        source_type = _source_type(kind if isinstance(kind, str) and kind else None)
        if sum(len(u.content) for u in uploads) > rt.settings.max_upload_bytes:
            raise PayloadTooLargeError("the uploaded files are over the upload limit")
        job = await run_in_threadpool(rt.jobs.submit_uploads, who.org, who.user, uploads, source_type)
    else:
        try:
            body = IngestPathBody.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise InvalidInputError(problems or "invalid body") from exc
        if body.cluster is not None:
            cluster = rt.sandbox.clusters.find(who.org, body.cluster)
            if cluster is None:
                raise NotFoundError(f"cluster {body.cluster!r} not found")
            job = await run_in_threadpool(rt.jobs.submit_cluster, who.org, who.user, cluster)
        else:
            assert body.path is not None
            job = await run_in_threadpool(rt.jobs.submit_path, who.org, who.user, body.path, body.source_type)
    await run_in_threadpool(rt.audit.append, who.org, who.user, "ingest", "queued", job=job["id"], source=job["source"])
    return JSONResponse(job, status_code=202, headers={"Location": f"/v1/ingest/jobs/{job['id']}"})


def _source_type(value: str | None) -> Any:
    if value is not None and value not in SOURCE_TYPES:
        raise InvalidInputError(f"source_type must be one of {', '.join(SOURCE_TYPES)}")
    return value


@v1.get("/ingest/jobs", tags=["ingestion"])
async def jobs(request: Request, who: Admin) -> Any:
    """The organization's latest ingestion jobs."""
    return await run_in_threadpool(_runtime(request).jobs.recent, who.org)


@v1.get("/ingest/jobs/{job_id}", tags=["ingestion"])
async def job(job_id: str, request: Request, who: Admin) -> Any:
    """One job with its progress (`done`/`total`, `progress` 0..1) and, when finished, its summary."""
    return await run_in_threadpool(_runtime(request).jobs.get, who.org, job_id)


# -- tools ------------------------------------------------------------------------------------------------------------


@v1.get("/tools", tags=["tools"])
async def list_tools(request: Request, who: Viewer) -> Any:
    """The tools with their argument schemas, and whether the caller can use each now ("disabled: reason")."""
    return await run_in_threadpool(_runtime(request).sandbox.catalog, who)


@v1.post("/tools/{name}", tags=["tools"])
async def run_tool(name: str, body: ToolBody, request: Request, who: Viewer) -> Any:
    """Run one read-only tool in the sandbox with the caller's permissions; the result is a value whatever
    happened (status ok, error, denied, disabled or timeout; the exact invocation; data)."""
    rt = _runtime(request)
    await run_in_threadpool(rt.quotas.admit, who)
    release = rt.quotas.acquire(who.org)  # a tool call counts against the org's work in flight, as an answer does
    try:
        result = await run_in_threadpool(rt.sandbox.call, who, name, body.arguments)
    finally:
        release()
    return result.model_dump()


# -- usage, audit, keys -----------------------------------------------------------------------------------------------


@v1.get("/usage", tags=["usage"])
async def usage(request: Request, who: Viewer) -> Any:
    """Today's requests and tokens of the caller and of their organization, with the limits."""
    return await run_in_threadpool(_runtime(request).quotas.usage, who)


@v1.get("/audit", tags=["audit"])
async def audit(
    request: Request,
    who: Annotated[Principal, Depends(allowed("audit"))],
    user: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The organization's audit records (PII masked), oldest first; page with `after_seq`."""
    rt = _runtime(request)

    def read() -> list[dict[str, Any]]:
        return list(
            rt.audit.records(
                who.org,
                user=user,
                action=action,
                outcome=outcome,
                since=since,
                until=until,
                after_seq=after_seq,
                limit=limit,
            )
        )

    return await run_in_threadpool(read)


@v1.post("/keys", tags=["keys"], status_code=201)
async def create_key(body: KeyBody, request: Request, who: Annotated[Principal, Depends(allowed("keys"))]) -> Any:
    """A new API key of the caller's organization; the token is shown in this response only."""
    rt = _runtime(request)
    key, token = await run_in_threadpool(
        rt.keys.create, who.org, body.user, list(body.roles), body.namespaces, body.name
    )
    await run_in_threadpool(rt.audit.append, who.org, who.user, "key.create", "ok", key=key.id, roles=key.roles)
    return key.to_json() | {"token": token}


@v1.get("/keys", tags=["keys"])
async def list_keys(request: Request, who: Annotated[Principal, Depends(allowed("keys"))]) -> Any:
    """The organization's active keys (never their secrets)."""
    return [k.to_json() for k in await run_in_threadpool(_runtime(request).keys.keys, who.org)]


@v1.delete("/keys/{key_id}", tags=["keys"])
async def revoke_key(key_id: str, request: Request, who: Annotated[Principal, Depends(allowed("keys"))]) -> Any:
    """Revoke a key of the caller's organization."""
    rt = _runtime(request)
    key = await run_in_threadpool(rt.keys.revoke, key_id, who.org)
    await run_in_threadpool(rt.audit.append, who.org, who.user, "key.revoke", "ok", key=key_id)
    return key.to_json()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds")
