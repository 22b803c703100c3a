"""One real Prometheus for the whole test session, over the two orgs' history, with their alerting rules firing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.prom.server import PROMETHEUS, PrometheusServer


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus on 127.0.0.1 with two days of history up to now and the rules of tests/prom/rules.yml firing."""
    if not PROMETHEUS.exists():
        pytest.skip(f"{PROMETHEUS} is not installed (apt-get install prometheus)")
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), now=float(round(time.time()))) as server:
        yield server
