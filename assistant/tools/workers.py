"""Worker processes of the sandbox: each a child Python running assistant.tools.worker, fed one JSON request at a
time. A call that overruns its deadline or its output cap gets its worker killed (the next call starts a new one);
a worker that dies is replaced. The service process never runs tool code."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

# what a worker inherits: the basics of a process, and what kubeconfig exec plugins (aws, gcloud, az, kubelogin)
# need to fetch a cluster token; never the service's settings or its providers' keys
_KEPT = {
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "VIRTUAL_ENV",
    "PYTHONPATH",
}
_KEPT_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "CLOUDSDK_", "KUBE")


class WorkerFailure(Exception):
    """A call the worker did not answer: ``kind`` is timeout, too_large or crashed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def worker_environment() -> dict[str, str]:
    """An allowlist of the service's environment: no settings, no provider keys, no database URL."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT or k.startswith(_KEPT_PREFIXES)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Worker:
    """One child process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.tools.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(),
            close_fds=True,
            start_new_session=True,  # its own process group: a kill takes anything it started along
        )
        self._buffer = b""

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def call(self, request: dict[str, Any], deadline: float, cap: int) -> dict[str, Any]:
        """Send one request and wait for its answer line until ``deadline`` (monotonic), at most ``cap`` bytes."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise WorkerFailure("crashed", f"the worker is gone: {exc}") from exc
        fd = self.proc.stdout.fileno()
        poller = select.poll()  # not select(): a descriptor above 1024 is fine
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerFailure("timeout", "the tool did not answer in time")
            try:
                if not poller.poll(left * 1000):
                    continue
                piece = os.read(fd, 65536)
            except OSError as exc:
                raise WorkerFailure("crashed", f"the worker's output broke: {exc}") from exc
            if not piece:
                raise WorkerFailure("crashed", f"the worker exited (code {self.proc.poll()})")
            self._buffer += piece
            if len(self._buffer) > cap:
                raise WorkerFailure("too_large", f"the tool's output is over the {cap} byte cap")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            raise WorkerFailure("crashed", "the worker answered something that is not JSON") from exc
        return answer

    def kill(self) -> None:
        """Stop the process (and its group) now."""
        if self.alive:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """End the process by closing its input; kill it if it does not go."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        self.kill()


class WorkerPool:
    """Up to ``size`` workers, started on demand; a call waits for a free one within its own deadline."""

    def __init__(self, size: int = 2) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, request: dict[str, Any], timeout_s: float, cap: int) -> dict[str, Any]:
        """The worker's answer to ``request``; WorkerFailure when it times out, overflows or dies."""
        deadline = time.monotonic() + timeout_s
        if not self._slots.acquire(timeout=timeout_s):
            raise WorkerFailure("timeout", "every sandbox worker is busy")
        worker: Worker | None = None
        try:
            worker = self._take()
            return worker.call(request, deadline, cap)
        except WorkerFailure:
            if worker is not None:
                self._discard(worker)
                worker = None
            raise
        finally:
            if worker is not None:
                self._idle.put(worker)
            self._slots.release()

    def _take(self) -> Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.alive:
                return worker
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise WorkerFailure("crashed", "the sandbox is closed")
            try:
                worker = Worker()
            except OSError as exc:
                raise WorkerFailure("crashed", f"cannot start a worker: {exc}") from exc
            self._all.add(worker)
        return worker

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.close()
