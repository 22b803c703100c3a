"""Cluster ingestion: descriptions, the same chunks from the live API and from its dump, re-sync, and what is never
read or indexed (Secrets, config map values, credentials in env)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.errors import PermissionDeniedError
from core.settings import Settings
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from index.knowledge import KnowledgeIndex
from ingest.cluster.analyzers import analyze
from ingest.cluster.describe import describe
from ingest.cluster.ingestion import describe_cluster, ingest_cluster
from ingest.cluster.kinds import KINDS
from ingest.cluster.readers import DumpCluster, LiveCluster
from ingest.cluster.readonly import ReadOnlyApiClient
from ingest.cluster.state import ClusterState
from tests.conftest import settings_for
from tests.kube.apiserver import KubeApiServer
from tests.kube.fixtures import CLUSTERS

NORTHWIND = CLUSTERS / "northwind-prod"
CRASHED = "checkout-7c9d8f6b5-x2k4p"


@pytest.fixture
def edge(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> tuple[Settings, KnowledgeIndex]:
    settings = settings_for(tmp_path, "edge")
    return settings, open_index(settings, embedder)


def descriptions(reader: Any, namespaces: list[str] | None = None) -> dict[str, str]:
    state = ClusterState(reader, namespaces)
    return {d.source_id: d.text for d in describe_cluster(state, analyze(state, state.namespaces()))}


def stored(index: KnowledgeIndex, org: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Every chunk of an org, without what differs by org or by time."""
    chunks = {}
    for source_id in index.sources(org):
        for point in index.chunks(org, source_id):
            payload = {k: v for k, v in point.payload.items() if k not in ("org_id", "ingested_at")}
            chunks[(source_id, int(payload["position"]))] = payload
    return chunks


def test_a_crash_looping_pod_is_described_as_a_person_would_read_it() -> None:
    state = ClusterState(DumpCluster(NORTHWIND))
    found = analyze(state, state.namespaces())
    pod = state.get(KINDS["pod"], "shop", CRASHED)
    text = describe(state, pod, [f.summary for f in found if f.name == CRASHED]).text
    assert text.startswith(f"# Pod shop/{CRASHED}\n")
    for fact in (
        "is CrashLoopBackOff: 0/1 containers ready, 11 restarts",
        "## Findings",
        "Controlled by: ReplicaSet checkout-7c9d8f6b5 (Deployment checkout)",
        "Last state: Terminated, Error, exit code 1",
        "Readiness probe: http-get http://:8080/ready",
        "Warning BackOff on Pod",
        "## Log of the previous checkout container",
        "panic: config validation failed: PAYMENTS_GATEWAY_URL is not a valid URL",
    ):
        assert fact in text, fact
    assert "ago" not in text  # absolute times only: an unchanged object gives the same text on every sync


def test_credentials_are_redacted_and_config_maps_keep_only_their_keys() -> None:
    docs = descriptions(DumpCluster(NORTHWIND))
    cart = docs["cluster/northwind-prod/shop/deployment/cart"]
    assert "DATABASE_PASSWORD=[REDACTED]" in cart
    raw = json.loads((NORTHWIND / "shop" / "deployments.json").read_text())
    password = next(
        e["value"]
        for d in raw["items"]
        if d["metadata"]["name"] == "cart"
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "DATABASE_PASSWORD"
    )
    assert all(password not in text for text in docs.values())
    maps = json.loads((NORTHWIND / "shop" / "configmaps.json").read_text())["items"]
    for cm in maps:
        text = docs[f"cluster/northwind-prod/shop/configmap/{cm['metadata']['name']}"]
        assert all(key in text for key in cm.get("data", {}))
        assert all(str(value) not in text for value in cm.get("data", {}).values() if len(str(value)) > 6)
    assert not any("/secret/" in sid for sid in docs)


def test_every_object_and_namespace_has_a_description_and_no_event_stands_alone() -> None:
    docs = descriptions(DumpCluster(NORTHWIND))
    kinds = {sid.split("/")[3] for sid in docs}
    assert kinds == {s.kind for s in KINDS.values() if s.kind != "event"} | {"namespace"}
    assert {"cluster/northwind-prod/shop/namespace/shop", "cluster/northwind-prod/_cluster/node/ip-10-20-3-41"} <= set(
        docs
    )
    assert "Kubelet stopped posting node status." in docs["cluster/northwind-prod/_cluster/node/ip-10-20-3-41"]


def test_the_live_api_and_its_dump_give_the_same_descriptions(kube: KubeApiServer, kubeconfig: Path) -> None:
    live = LiveCluster(kubeconfig, "northwind-prod")
    try:
        assert descriptions(live) == descriptions(DumpCluster(NORTHWIND))
    finally:
        live.close()
    methods = {r.method for r in kube.requests}
    assert methods == {"GET"} and not any("secret" in r.path for r in kube.requests)


def test_the_live_api_and_its_dump_give_the_same_chunks(
    kube: KubeApiServer, kubeconfig: Path, edge: tuple[Settings, KnowledgeIndex]
) -> None:
    settings, index = edge
    with index:
        live = LiveCluster(kubeconfig, "northwind-prod")
        try:
            by_api = ingest_cluster(index, settings, "via-api", live, ["payments"])
        finally:
            live.close()
        by_dump = ingest_cluster(index, settings, "via-dump", DumpCluster(NORTHWIND), ["payments"])
        assert by_api.added == by_dump.added > 5 and by_api.failed == by_dump.failed == []
        assert stored(index, "via-api") == stored(index, "via-dump")
        found = [h.source_id for h in index.search("via-api", "payments-gateway image pull failed", k=3)]
        assert "cluster/northwind-prod/payments/pod/payments-gateway-6d5c8b7f9-r4n8w" in found


def test_resync_skips_unchanged_replaces_changed_and_deletes_vanished(
    tmp_path: Path, edge: tuple[Settings, KnowledgeIndex]
) -> None:
    settings, index = edge
    dump = tmp_path / "dump"
    shutil.copytree(NORTHWIND, dump)
    with index:
        first = ingest_cluster(index, settings, "acme", DumpCluster(dump, "northwind-prod"), ["payments"])
        again = ingest_cluster(index, settings, "acme", DumpCluster(dump, "northwind-prod"), ["payments"])
        assert again.unchanged == first.added and again.embedded == 0 and again.deleted == 0
        pods = json.loads((dump / "payments" / "pods.json").read_text())
        gone = pods["items"].pop()["metadata"]["name"]
        pods["items"][0]["status"]["containerStatuses"][0]["restartCount"] = 99
        (dump / "payments" / "pods.json").write_text(json.dumps(pods))
        third = ingest_cluster(index, settings, "acme", DumpCluster(dump, "northwind-prod"), ["payments"])
        assert third.deleted == 1 and third.updated >= 1
        ids = set(index.sources("acme"))
        assert f"cluster/northwind-prod/payments/pod/{gone}" not in ids
        changed = pods["items"][0]["metadata"]["name"]
        texts = [p.payload["text"] for p in index.chunks("acme", f"cluster/northwind-prod/payments/pod/{changed}")]
        assert any("99 restarts" in t for t in texts)


def test_the_read_only_client_never_sends_a_write_or_reads_a_secret(kube: KubeApiServer, kubeconfig: Path) -> None:
    from kubernetes import client

    live = LiveCluster(kubeconfig, "northwind-prod")
    api: ReadOnlyApiClient = live._client
    try:
        core = client.CoreV1Api(api)
        with pytest.raises(PermissionDeniedError, match="DELETE is never sent"):
            core.delete_namespaced_pod(CRASHED, "shop")
        with pytest.raises(PermissionDeniedError, match="secrets are never read"):
            core.list_namespaced_secret("shop")
        with pytest.raises(PermissionDeniedError):
            client.AppsV1Api(api).patch_namespaced_deployment_scale("checkout", "shop", {"spec": {"replicas": 0}})
    finally:
        live.close()
    assert kube.requests == []  # refused before anything left the process
