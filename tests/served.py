"""A real ``aiops serve`` process on a loopback port: started with an environment, ready when /readyz says so, with the
first admin key it prints; stopped on exit. Shared by the service and the portal tests."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Served:
    """A running service: its base URL, the admin key it printed, and the process."""

    base: str
    admin_token: str
    process: subprocess.Popen[str]

    def headers(self, token: str | None = None) -> dict[str, str]:
        """The Authorization header of a key (the admin's by default)."""
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    def create_key(self, user: str, roles: list[str], namespaces: list[str] | None = None) -> str:
        """A new key of the admin's organization, through the API."""
        body = {"user": user, "roles": roles, "namespaces": namespaces or []}
        created = httpx.post(f"{self.base}/v1/keys", json=body, headers=self.headers(), timeout=30)
        created.raise_for_status()
        return str(created.json()["token"])

    def ingest(self, path: str, timeout_s: float = 600) -> dict[str, Any]:
        """Ingest a server folder through the jobs API and wait for the job to finish."""
        job = httpx.post(f"{self.base}/v1/ingest/jobs", json={"path": path}, headers=self.headers(), timeout=30).json()
        return self.finished(job, timeout_s)

    def finished(self, job: dict[str, Any], timeout_s: float = 600) -> dict[str, Any]:
        """The submitted job once it is no longer queued or running."""
        deadline = time.monotonic() + timeout_s
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"ingestion job {job['id']} did not finish: {job}"
            time.sleep(0.5)
            job = httpx.get(f"{self.base}/v1/ingest/jobs/{job['id']}", headers=self.headers(), timeout=30).json()
        return dict(job)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: Mapping[str, str], admin_org: str, ready_s: float = 120) -> Iterator[Served]:
    """``aiops serve --admin-org ORG`` on a free loopback port, once it is ready."""
    port = free_port()
    command = [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--admin-org", admin_org]
    process = subprocess.Popen(command, env=dict(env), stderr=subprocess.PIPE, text=True)
    try:
        token = ""
        while not token:
            line = process.stderr.readline() if process.stderr else ""
            assert line, "aiops serve exited before printing its admin key"
            found = re.search(r"aiops_[0-9a-f]{12}_\S+", line)
            token = found.group(0) if found else ""
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.5)
        yield Served(base, token, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
