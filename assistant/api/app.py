"""The FastAPI application: ``create_app`` wires a Runtime, the error mapping, body limits, metrics and the routes.

Every error leaves as ``{"error": {"type", "message"}}`` with the status of its class in core.errors; an unexpected
exception is logged here and reaches the client as a 500 without a stack trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api import routes
from assistant.portal import mount_portal
from assistant.runtime import Runtime
from core.errors import AssistantError, PayloadTooLargeError, QuotaExceededError
from core.settings import Settings

log = logging.getLogger(__name__)


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape of the API."""
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The service; it opens (and closes) its own Runtime unless one is given."""
    owned = runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.runtime is None:
            app.state.runtime = Runtime.open(settings)
        yield
        if owned:
            app.state.runtime.close()

    app = FastAPI(
        title="AIOps knowledge assistant",
        version="1",
        description="Grounded, citing, tenant-isolated answers from your organization's docs, runbooks, incidents "
        "and clusters. Authenticate with `Authorization: Bearer <API key or gateway JWT>`.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QuotaExceededError) else None
        if exc.http_status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        _count_error(request, type(exc).__name__)
        return error_response(exc.http_status, type(exc).__name__, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        _count_error(request, "InvalidInputError")
        return error_response(422, "InvalidInputError", "; ".join(problems)[:2000])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "NotFoundError", 405: "MethodNotAllowed", 413: "PayloadTooLargeError"}
        kind = kinds.get(exc.status_code, "HTTPError")
        _count_error(request, kind)
        return error_response(exc.status_code, kind, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        _count_error(request, "InternalError")
        return error_response(500, "InternalError", "internal error; it has been logged")

    app.add_middleware(Guard, settings=settings)
    app.include_router(routes.health)
    app.include_router(routes.v1)
    mount_portal(app)
    return app


def _problem(error: Mapping[str, Any]) -> str:
    """One validation problem as ``where: what``; a body that does not parse says so, and where it breaks."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # loc is ("body", <character offset>)
        reason = dict(error.get("ctx") or {}).get("error", "malformed")
        return f"body: not valid JSON ({reason} at character {loc[-1] if len(loc) > 1 else 0})"
    where = ".".join(str(p) for p in loc if p != "body") or "body"
    return f"{where}: {error.get('msg', 'invalid')}"


def _count_error(request: Request, kind: str) -> None:
    runtime: Runtime | None = request.app.state.runtime
    if runtime is not None:
        runtime.metrics.errors.labels(kind).inc()


# The portal's page and every API response: scripts, styles and calls from this origin only, no inline script, no
# framing, no referrer. FastAPI's /docs pages load Swagger UI from a CDN with an inline script and keep their own.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_OWN_POLICY = ("/docs", "/redoc")


class Guard:
    """Pure ASGI (no BaseHTTPMiddleware, whose task groups wrap errors and buffer streams): 413 for a body over its cap
    (``Content-Length`` first, then the bytes actually received, so a chunked body cannot sneak past; multipart uploads
    have their own, larger cap), the security headers above, and request counts and latencies by route template for
    ``/metrics``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_cap = settings.max_body_bytes
        self.upload_cap = settings.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        cap = self.upload_cap if headers.get("content-type", "").startswith("multipart/") else self.json_cap
        declared = headers.get("content-length", "")
        received = 0
        secured = not str(scope.get("path", "")).startswith(_OWN_POLICY)

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _BodyTooLarge()
            return message

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if secured:
                    message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            if declared.isdigit() and int(declared) > cap:
                await _too_large(cap, scope, receive, observed)
            else:
                try:
                    await self.app(scope, limited, observed)
                except _BodyTooLarge:
                    await _too_large(cap, scope, receive, observed)
        finally:
            runtime: Runtime | None = scope["app"].state.runtime if "app" in scope else None
            if runtime is not None:
                route = str(getattr(scope.get("route"), "path", None) or "unmatched")
                runtime.metrics.requests.labels(scope["method"], route, str(status)).inc()
                runtime.metrics.latency.labels(route).observe(time.perf_counter() - started)


class _BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI passes HTTP exceptions through its body parsing unchanged."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is over its size limit")


async def _too_large(cap: int, scope: Scope, receive: Receive, send: Send) -> None:
    exc = PayloadTooLargeError(f"the request body is over the {cap} byte limit")
    response = error_response(exc.http_status, type(exc).__name__, exc.message)
    await response(scope, receive, send)
