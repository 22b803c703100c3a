"""A real HTTP server on 127.0.0.1 that replays recorded protocol exchanges and records what clients sent.

Generative providers are tested against it at the HTTP transport: the SDKs (openai, anthropic, ollama) speak to it
exactly as to the real services, streaming included (chunked transfer encoding, one chunk per recorded event).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

EXCHANGES = Path(__file__).parent / "assistant" / "exchanges"


@dataclass
class Reply:
    """One recorded response."""

    status: int = 200
    content_type: str = "application/json"
    chunks: list[bytes] = field(default_factory=list)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0  # between chunks: a stream a reader can watch arrive
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, body: Any, **kwargs: Any) -> Reply:
        """A whole JSON body."""
        return cls(status, "application/json", [json.dumps(body).encode()], **kwargs)

    @classmethod
    def stream(cls, name: str, content_type: str) -> Reply:
        """A recorded stream: NDJSON lines (Ollama) or server-sent events (OpenAI, Anthropic), one chunk each."""
        text = (EXCHANGES / name).read_text()
        if content_type == "application/x-ndjson":
            chunks = [line + "\n" for line in text.splitlines() if line]
        else:
            chunks = [event + "\n\n" for event in text.split("\n\n") if event.strip()]
        return cls(200, content_type, [c.encode() for c in chunks])


@dataclass(frozen=True)
class Recorded:
    """A request a client sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ReplayServer:
    """Serves queued replies per path (the last one repeats), or what ``respond`` makes of a request (a scripted
    counterpart, e.g. an LLM judge answering by the output schema its prompt names), and keeps every request."""

    def __init__(self, respond: Callable[[str, Any], Reply | None] | None = None) -> None:
        self.respond = respond
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._answer(self, None)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server._answer(self, json.loads(raw) if raw else None)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, path: str, *replies: Reply) -> None:
        """Replies for a path, in order."""
        self.replies[path].extend(replies)

    def sent(self, path: str) -> list[Recorded]:
        """Requests received on a path."""
        return [r for r in self.requests if r.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        path = handler.path.split("?")[0]
        self.requests.append(Recorded(handler.command, path, {k.lower(): v for k, v in handler.headers.items()}, body))
        queue = self.replies.get(path)
        scripted = self.respond(path, body) if self.respond is not None and not queue else None
        reply = scripted or (
            (queue.popleft() if len(queue) > 1 else queue[0]) if queue else Reply.json(404, {"error": "no reply"})
        )
        time.sleep(reply.delay_s)
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Transfer-Encoding", "chunked")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            for n, chunk in enumerate(reply.chunks):
                if n and reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
