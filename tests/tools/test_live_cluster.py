"""Live: a real cluster through a real kubeconfig. Runs when AIOPS_LIVE_KUBECONFIG names one (AIOPS_LIVE_CONTEXT and
AIOPS_LIVE_NAMESPACE narrow it; the account needs get/list on the readable kinds and pods/log); skipped otherwise
(no Kubernetes API server can run on the CI machines)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.auth import Principal
from assistant.tools.sandbox import Sandbox
from core.settings import Settings
from ingest.cluster.config import ClusterConfig, Clusters
from ingest.cluster.readers import LiveCluster

KUBECONFIG = os.environ.get("AIOPS_LIVE_KUBECONFIG")
CONTEXT = os.environ.get("AIOPS_LIVE_CONTEXT")
NAMESPACE = os.environ.get("AIOPS_LIVE_NAMESPACE", "default")
pytestmark = [pytest.mark.live, pytest.mark.skipif(not KUBECONFIG, reason="AIOPS_LIVE_KUBECONFIG is not set")]


def test_a_live_cluster_is_read_and_analyzed_through_the_sandbox(tmp_path: Path) -> None:
    assert KUBECONFIG is not None
    reader = LiveCluster(Path(KUBECONFIG), CONTEXT)
    try:
        assert NAMESPACE in reader.namespaces()
        context = reader.context
    finally:
        reader.close()
    config = ClusterConfig(org="live", name="live", kubeconfig=Path(KUBECONFIG), context=context)
    sandbox = Sandbox(Settings(data_dir=tmp_path), Clusters([config]))
    try:
        who = Principal("live-test", "live", ("operator",))
        listed = sandbox.call(who, "kubernetes_list", {"kind": "pod", "namespace": NAMESPACE})
        assert listed.status == "ok", listed.error
        analysis = sandbox.call(who, "cluster_analyze", {"namespace": NAMESPACE})
        assert analysis.status == "ok", analysis.error
    finally:
        sandbox.close()
