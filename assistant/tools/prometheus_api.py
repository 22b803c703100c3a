"""A read-only Prometheus HTTP API client for the sandbox's worker: GET on the query, series, label, alert and rule
endpoints only (never the admin or write endpoints), with a timeout and a cap on the bytes read."""

from __future__ import annotations

import json
from typing import Any

import httpx

from core.errors import ClusterError, InvalidInputError

READ_ENDPOINTS = ("query", "query_range", "series", "labels", "label", "alerts", "rules")


class PrometheusApi:
    """One Prometheus server."""

    def __init__(self, url: str, timeout_s: float, max_bytes: int) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    def get(self, endpoint: str, params: list[tuple[str, str]] | None = None) -> Any:
        """The ``data`` of ``GET /api/v1/<endpoint>``; ClusterError for a server that fails, InvalidInputError for a
        query it rejects (its own message, e.g. a PromQL error it found)."""
        if endpoint.split("/", 1)[0] not in READ_ENDPOINTS:
            raise InvalidInputError(f"{endpoint} is not a read endpoint of the Prometheus API")
        params = [*(params or []), ("timeout", f"{max(1, int(self.timeout_s))}s")]
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream("GET", f"{self.url}/api/v1/{endpoint}", params=tuple(params)) as response,
            ):
                body = self._read(response)
        except httpx.HTTPError as exc:
            raise ClusterError(f"Prometheus at {self.url} did not answer: {type(exc).__name__}: {exc}") from exc
        return self._data(response.status_code, body)

    def _read(self, response: httpx.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise InvalidInputError(
                    f"the result is over {self.max_bytes} bytes: narrow the query (fewer series, a shorter range "
                    "or a coarser step, or aggregate with sum by (...))"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _data(self, status: int, body: bytes) -> Any:
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ClusterError(f"Prometheus answered {status} with something that is not JSON") from exc
        if payload.get("status") == "success":
            return payload.get("data")
        message = str(payload.get("error") or f"status {status}")[:500]
        if payload.get("errorType") in ("bad_data", "execution") and status in (400, 422):
            raise InvalidInputError(f"Prometheus refused the query: {message}")
        raise ClusterError(f"Prometheus answered {status}: {message}")
