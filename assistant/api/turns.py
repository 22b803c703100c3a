"""One question answered for one caller over HTTP: the pipeline runs in a worker thread, its events become JSON or
Server-Sent Events, and the turn audits, counts and charges what it produced.

The deadline is kept whatever the pipeline does: at ``request_timeout_s`` the client gets its 504 (or a closing
``error`` event) while the abandoned work is told it was cancelled, so nothing it finishes later is written to the
conversation, audited again or charged; the organization's answer slot comes back when that work really ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from assistant.api.schemas import AskBody
from assistant.auth import Principal
from assistant.pipeline import Event
from assistant.runtime import Runtime
from core.errors import AssistantError

log = logging.getLogger(__name__)
TIMEOUT_MESSAGE = "the answer took longer than the request timeout"
_END = object()


class Turn:
    """Runs the pipeline for one request and settles it once: audit, metrics and token charge."""

    def __init__(self, rt: Runtime, who: Principal, body: AskBody, release: Callable[[], None]) -> None:
        self.rt, self.who, self.body = rt, who, body
        self._release_slot = release  # idempotent (Quotas.acquire)
        self._slot_owned_by_work = False  # after a timeout the abandoned work gives the slot back when it ends
        self.started = time.perf_counter()
        self.sources: list[str] = []
        self.answer: dict[str, Any] | None = None
        self.audited = False
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    # -- the pipeline (worker thread) ----------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """The pipeline's events; the answer is settled as it passes."""
        b = self.body
        try:
            stream = self.rt.assistant.stream(
                self.who.org,
                b.question,
                user=self.who.user,
                conversation_id=b.conversation_id,
                provider=b.provider,
                workspace=b.workspace,
                caller=self.who,
                cancelled=self._cancelled.is_set,
            )
            for event in stream:
                if event.kind == "retrieval":
                    self.sources = [s["source_id"] for s in event.data.get("sources", [])]
                if event.kind == "answer":
                    self.answer = event.data
                    self._settle()
                yield event
        except AssistantError as exc:
            self.fail(type(exc).__name__, exc.message)
            raise
        except Exception:
            self.fail("InternalError", "internal error")
            raise

    def run(self) -> dict[str, Any]:
        """The whole answer."""
        for _ in self.events():
            pass
        assert self.answer is not None
        return self.answer

    # -- HTTP ----------------------------------------------------------------------------------------------------

    async def answer_within(self, timeout_s: float) -> dict[str, Any] | None:
        """The answer, or None when the deadline passed first (audited as a timeout)."""
        work = asyncio.ensure_future(run_in_threadpool(self.run))
        try:
            return await asyncio.wait_for(asyncio.shield(work), timeout=timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:  # timed out, or the server is shutting down
            self.cancel()
            self._slot_owned_by_work = True
            work.add_done_callback(self._abandoned)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return None
        finally:
            if work.done():
                self.release()

    def streaming_response(self) -> StreamingResponse:
        """Server-Sent Events; the slot is given back when the response ends, even if its body never started."""
        return _ReleasingStream(self.sse(), self.release)

    def release(self) -> None:
        """Give the organization's answer slot back, unless abandoned work still holds it."""
        if not self._slot_owned_by_work:
            self._release_slot()

    async def sse(self) -> AsyncIterator[str]:
        """The events as SSE frames, the answer followed by ``done``; ``error`` ends a failed or late stream."""
        deadline = time.monotonic() + self.rt.settings.request_timeout_s
        events = iterate_in_threadpool(self.events())
        try:
            while True:
                step = asyncio.ensure_future(_next(events))
                try:
                    event = await asyncio.wait_for(asyncio.shield(step), timeout=max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    self.cancel()
                    self._slot_owned_by_work = True
                    step.add_done_callback(self._abandoned)
                    yield _frame("error", {"type": "Timeout", "message": TIMEOUT_MESSAGE, "status": 504})
                    return
                if event is _END:
                    return
                assert isinstance(event, Event)
                yield _frame(event.kind, event.data)
                if event.kind == "answer":
                    data = event.data
                    done = {"answer_id": data["answer_id"], "usage": data.get("usage", {}), "timings": data["timings"]}
                    yield _frame("done", done | {"headers": self.headers()})
        except AssistantError as exc:
            yield _frame("error", {"type": type(exc).__name__, "message": exc.message, "status": exc.http_status})
        except Exception:  # contained: the client gets an error event, the log gets the stack
            log.exception("the answer stream failed")
            yield _frame(
                "error", {"type": "InternalError", "message": "internal error; it has been logged", "status": 500}
            )

    def headers(self) -> dict[str, str]:
        """Which provider answered, and the fallback taken when it was not the configured one."""
        if self.answer is None:
            return {}
        chain = self.rt.assistant.chain(self.body.provider).names
        provider = str(self.answer["provider"])
        headers = {"X-AIOps-Provider": provider, "X-AIOps-Answer-Id": str(self.answer["answer_id"])}
        if provider != chain[0]:
            headers["X-AIOps-Fallback"] = f"{chain[0]} -> {provider}"
        return headers

    # -- settling ------------------------------------------------------------------------------------------------

    def cancel(self) -> None:
        """The client has been told it timed out: audit that, and let nothing later count."""
        self._cancelled.set()
        self.fail("timeout", TIMEOUT_MESSAGE)

    def fail(self, kind: str, message: str) -> None:
        """Audit a failure, unless the turn is already settled."""
        self._audit("error", error=f"{kind}: {message}")

    def _settle(self) -> None:
        if self._cancelled.is_set():
            return
        answer = self.answer or {}
        usage = answer.get("usage") or {}
        if not self._audit(
            str(answer.get("status")),
            answer_id=answer.get("answer_id"),
            conversation_id=answer.get("conversation_id"),
            provider=answer.get("provider"),
            model=self.rt.assistant.chain(self.body.provider).model(str(answer.get("provider"))),
            citations=[c["source_id"] for c in answer.get("citations", [])],
            tool_calls=answer.get("tool_calls", []),
            tokens=usage,
            cached=answer.get("cached", False),
        ):
            return
        self.rt.metrics.observe_answer(answer)
        self.rt.quotas.charge(self.who, sum(int(v) for v in usage.values()))

    def _audit(self, outcome: str, **details: Any) -> bool:
        with self._lock:
            if self.audited:
                return False
            self.audited = True
        self.rt.audit.append(
            self.who.org,
            self.who.user,
            "ask",
            outcome,
            question=self.body.question,
            sources=self.sources,
            latency_ms=round((time.perf_counter() - self.started) * 1000, 2),
            **details,
        )
        return True

    def _abandoned(self, work: asyncio.Future[Any]) -> None:
        if not work.cancelled() and work.exception() is not None:
            log.info("an abandoned answer ended with %s", type(work.exception()).__name__)
        self._release_slot()


class _ReleasingStream(StreamingResponse):
    """A stream that runs ``release`` when the response is over, however it ended (client gone before the body
    started included)."""

    def __init__(self, body: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(body, media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        self._turn_release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._turn_release()


async def _next(events: AsyncIterator[Event]) -> object:
    try:
        return await events.__anext__()
    except StopAsyncIteration:
        return _END


def _frame(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
