"""A read-only Kubernetes API server serving the sample snapshots, and a kubeconfig pointing the client at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube.apiserver import KubeApiServer

CLUSTERS = Path(__file__).resolve().parents[2] / "corpora" / "clusters"
TOKEN = "kube-fixture-token"


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """northwind-prod over HTTP on 127.0.0.1."""
    with KubeApiServer(CLUSTERS / "northwind-prod", TOKEN) as server:
        yield server


@pytest.fixture
def kubeconfig(kube: KubeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig whose context northwind-prod is the fixture server."""
    return kube.kubeconfig(tmp_path / "kubeconfig", "northwind-prod")
