"""A real Prometheus on 127.0.0.1 over the scenario of tests/prom/history.py, evaluating tests/prom/rules.yml.

Start-up: the two days before ``now`` are written as OpenMetrics (one sample a minute, up to two minutes before
``now``) and backfilled with ``promtool tsdb create-blocks-from openmetrics``; an exporter thread serves the live
values at scrape time (``exposition(time.time())``, the same series); Prometheus scrapes it every second, honouring
its job and instance labels as it would those of kube-state-metrics or kubelet, and evaluates the rules every
second. It is handed over when ``/-/ready`` answers, the exporter has been scraped, the rules have been evaluated
since and an alert fires: about 8 s, of which 2 s of backfill and 5 s of waiting for the first scrape (Prometheus
2.42 starts scrape pools on a fixed 5 s tick of its scrape manager; no flag shortens it).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from tests.prom.history import DAY, exposition, openmetrics

logger = logging.getLogger(__name__)

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
RULES = Path(__file__).with_name("rules.yml")
HISTORY_DAYS = 2.0
HISTORY_END_S = 120.0  # the history stops two minutes before now; the exporter's live samples take over from there
STEP_S = 60.0
BLOCK_DURATION = "162h"  # promtool reads its input once per block: its default 2 h blocks would make 25 passes
GRACE_S = 5.0  # between SIGTERM and SIGKILL


class PrometheusStartError(RuntimeError):
    """Prometheus, promtool or the exporter did not come up; the message ends with the tail of Prometheus' log."""


class Exporter:
    """An HTTP exporter on 127.0.0.1 serving the scenario's values at the time of each scrape at /metrics.

    While ``paused`` it answers 503, as an exporter that is down: Prometheus marks the target down and its series
    stale. ``scrapes`` counts the /metrics requests answered with data."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.paused = False
        self.scrapes = 0
        self._lock = threading.Lock()
        self._server = _MetricsServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="prom-exporter")
        self._thread.start()

    @property
    def address(self) -> str:
        """host:port, as a scrape target."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    def body(self) -> bytes:
        """The /metrics body at this instant."""
        return exposition(time.time(), now=self.now).encode()

    def count_scrape(self) -> None:
        """One more /metrics answered with data."""
        with self._lock:
            self.scrapes += 1

    def close(self) -> None:
        """Stop serving and join the server's threads."""
        self._server.shutdown()
        self._server.server_close()  # joins the request threads (daemon_threads is off)
        self._thread.join()


class _MetricsServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins them: no thread outlives the fixture

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        super().__init__(("127.0.0.1", 0), _MetricsHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (socket.getfqdn can take seconds)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])


class _MetricsHandler(BaseHTTPRequestHandler):
    server: _MetricsServer
    timeout = 5.0  # a connection that sends nothing does not hold its thread (and close()) for long

    def do_GET(self) -> None:
        """/metrics: the exposition, or 503 while paused; anything else 404."""
        exporter = self.server.exporter
        status, body = (404, b"not found\n") if self.path.split("?")[0] != "/metrics" else (200, b"")
        if status == 200:
            status, body = (503, b"exporter paused\n") if exporter.paused else (200, exporter.body())
        with contextlib.suppress(OSError):  # Prometheus gave up on the scrape (its timeout) or is stopping
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            if status == 200:
                exporter.count_scrape()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep stderr quiet."""
        logger.debug(format, *args)


class PrometheusServer:
    """A Prometheus process over backfilled history and a live exporter; ``url`` is its HTTP API, ``now`` the
    instant the scenario is relative to. A context manager; ``close()`` leaves no process or thread behind."""

    def __init__(self, folder: Path, now: float, *, timeout_s: float = 30.0) -> None:
        self.folder, self.now, self.timeout_s = folder, now, timeout_s
        self.url = ""
        self.exporter: Exporter | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def log_path(self) -> Path:
        """Prometheus' own log (its stderr)."""
        return self.folder / "prometheus.log"

    def start(self) -> None:
        """Backfill, start the exporter and Prometheus, and wait until the rules have fired; on failure clean up."""
        try:
            data = self.backfill()
            self.exporter = Exporter(self.now)
            self._launch(self.write_config(self.exporter.address), data)
            self._wait_until_serving()
        except BaseException:
            self.close()
            raise

    def backfill(self) -> Path:
        """The history as TSDB blocks in folder/data (its OpenMetrics file is deleted once imported)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        source, data = self.folder / "history.om", self.folder / "data"
        start, end = self.now - HISTORY_DAYS * DAY, self.now - HISTORY_END_S
        source.write_text(openmetrics(start, end, STEP_S, now=self.now), encoding="utf-8")
        command = [str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "--quiet"]
        command += [f"--max-block-duration={BLOCK_DURATION}", str(source), str(data)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        source.unlink()
        if done.returncode != 0:
            raise PrometheusStartError(f"promtool failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
        return data

    def write_config(self, target: str) -> Path:
        """prometheus.yml: one job scraping the exporter every second, the rules evaluated every second."""
        config = self.folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES}\n"
            "scrape_configs:\n  - job_name: scenario\n    honor_labels: true  # keep the exporter's job and instance\n"
            f"    static_configs:\n      - targets: ['{target}']\n",
            encoding="utf-8",
        )
        return config

    def _launch(self, config: Path, data: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={data}"]
        command += [f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d"]
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)

    def _wait_until_serving(self) -> None:
        """Ready, scraped once (2.42 scrapes first about 5 s after start), rules evaluated since, an alert firing."""
        deadline = time.monotonic() + self.timeout_s
        with httpx.Client(base_url=self.url, timeout=1.0) as client:
            self._wait(client, deadline, "ready", _ready)
            self._wait(client, deadline, "scrape of the exporter", _scraped)
            scraped = time.time()
            self._wait(client, deadline, "rule evaluation after the scrape", lambda c: _evaluated_since(c, scraped))
            self._wait(client, deadline, "alert firing", _firing)

    def _wait(self, client: httpx.Client, deadline: float, what: str, check: Callable[[httpx.Client], bool]) -> None:
        while not _holds(check, client):
            if self._process is not None and self._process.poll() is not None:
                raise PrometheusStartError(f"prometheus exited with {self._process.returncode}{self._tail()}")
            if time.monotonic() > deadline:
                raise PrometheusStartError(f"prometheus: no {what} after {self.timeout_s:.0f} s{self._tail()}")
            time.sleep(0.05)

    def _tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()[-15:] if self.log_path.exists() else []
        return "; log tail:\n" + "\n".join(lines) if lines else " (no log)"

    def close(self) -> None:
        """Stop Prometheus (SIGTERM, then SIGKILL after a grace period) and the exporter."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        exporter, self.exporter = self.exporter, None
        if exporter is not None:
            exporter.close()


def _holds(check: Callable[[httpx.Client], bool], client: httpx.Client) -> bool:
    try:
        return check(client)
    except httpx.TransportError:  # not listening yet
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(client: httpx.Client) -> bool:
    return client.get("/-/ready").status_code == 200


def _firing(client: httpx.Client) -> bool:
    alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
    return any(alert["state"] == "firing" for alert in alerts)


def _scraped(client: httpx.Client) -> bool:
    result = client.get("/api/v1/query", params={"query": 'up{job="scenario"}'}).json()["data"]["result"]
    return bool(result) and result[0]["value"][1] == "1"


def _evaluated_since(client: httpx.Client, since: float) -> bool:
    groups = client.get("/api/v1/rules").json()["data"]["groups"]
    return bool(groups) and all(datetime.fromisoformat(g["lastEvaluation"]).timestamp() > since for g in groups)
