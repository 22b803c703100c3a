"""The analyzers over both cluster snapshots (each planted failure found, nothing healthy reported) and over a small
dump written here for the edge cases the snapshots do not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from core.errors import ClusterError
from ingest.cluster.analyzers import CHECKS, CheckName, Finding, analyze, findings_for
from ingest.cluster.readers import DumpCluster

CLUSTERS = Path(__file__).resolve().parents[2] / "corpora" / "clusters"
Key = tuple[str, str, str]

# Read off the snapshots: FAILURES.md, plus what the same failures do to their workloads (marked "follows").
NORTHWIND: set[Key] = {
    ("CrashLoopBackOff", "pod", "shop/checkout-7c9d8f6b5-x2k4p"),
    ("DeploymentUnavailable", "deployment", "shop/checkout"),
    ("OOMKilled", "pod", "shop/order-events-65d7b9c8f4-n4k8s"),
    ("ImagePullBackOff", "pod", "payments/payments-gateway-6d5c8b7f9-r4n8w"),
    ("DeploymentUnavailable", "deployment", "payments/payments-gateway"),  # follows: rollout ProgressDeadlineExceeded
    ("FailedScheduling", "pod", "shop/slot-planner-7f5d9c6b88-wz7lm"),
    ("NodeNotReady", "node", "_cluster/ip-10-20-3-41"),
    ("DeploymentUnavailable", "daemonset", "platform/promtail"),  # follows: its pod on the NotReady node
    ("ProbeFailing", "pod", "shop/search-api-6f7b9d5c48-2tq9v"),
    ("DeploymentUnavailable", "deployment", "shop/search-api"),  # follows: 1 of 2 available
    ("PVCPending", "persistentvolumeclaim", "platform/data-kafka-2"),
    ("FailedScheduling", "pod", "platform/kafka-2"),  # follows: waits on the Pending claim
    ("DeploymentUnavailable", "statefulset", "platform/kafka"),  # follows: 2 of 3 ready
    ("JobFailed", "job", "platform/pg-backup-verify-29919030"),
}
ORBITAL: set[Key] = {
    ("CrashLoopBackOff", "pod", "routing/route-planner-9b8c7d6e5-f6g7h"),
    ("DeploymentUnavailable", "deployment", "routing/route-planner"),  # follows: rollout ProgressDeadlineExceeded
    ("OOMKilled", "pod", "fleet/telematics-ingest-8d6f7c5b9-q5w2e"),  # and no CrashLoopBackOff about the same crash
    ("DeploymentUnavailable", "deployment", "fleet/telematics-ingest"),  # follows: 2 of 3 available
    ("ImagePullBackOff", "pod", "fleet/driver-app-bff-74c9f8d6b7-k3l5m"),
    ("FailedScheduling", "pod", "routing/eta-predictor-5d4c3b2a19-v8b7n"),
    ("DeploymentUnavailable", "deployment", "routing/eta-predictor"),
    ("NodeNotReady", "node", "_cluster/orb-prod-general-m3zt"),
    ("ProbeFailing", "pod", "fleet/tracking-api-5c7d8e9f6b-p8m4x"),
    ("ProbeFailing", "pod", "fleet/tracking-api-5c7d8e9f6b-z2c7v"),
    ("DeploymentUnavailable", "deployment", "fleet/tracking-api"),
    ("PVCPending", "persistentvolumeclaim", "billing/invoice-archive"),
    ("JobFailed", "job", "billing/invoice-export-29918955"),
}
# Each FAILURES.md row: the finding and facts its evidence must quote.
PLANTED: list[tuple[str, CheckName, str, str, list[str]]] = [
    ("northwind-prod", "CrashLoopBackOff", "pod", "shop/checkout-7c9d8f6b5-x2k4p",
     ["PAYMENTS_GATEWAY_URL is not a valid URL", "restartCount 11", "last terminated Error, exit code 1"]),
    ("northwind-prod", "DeploymentUnavailable", "deployment", "shop/checkout",
     ["available 2", '(ProgressDeadlineExceeded): ReplicaSet "checkout-7c9d8f6b5" has timed out progressing.']),
    ("northwind-prod", "OOMKilled", "pod", "shop/order-events-65d7b9c8f4-n4k8s",
     ["OOMKilled, exit code 137", "memory limit 512Mi", "restartCount 6"]),
    ("northwind-prod", "ImagePullBackOff", "pod", "payments/payments-gateway-6d5c8b7f9-r4n8w",
     ["image ghcr.io/northwind-groceries/payments-gateway:sha-4e1c9a2", "sha-4e1c9a2: not found"]),
    ("northwind-prod", "FailedScheduling", "pod", "shop/slot-planner-7f5d9c6b88-wz7lm",
     ["3 Insufficient memory", "requests cpu 500m, memory 40Gi"]),
    ("northwind-prod", "NodeNotReady", "node", "_cluster/ip-10-20-3-41",
     ["Kubelet stopped posting node status.", "taint node.kubernetes.io/unreachable:NoExecute", "promtail-bq7r3"]),
    ("northwind-prod", "ProbeFailing", "pod", "shop/search-api-6f7b9d5c48-2tq9v",
     ["Readiness probe failed: HTTP probe failed with statuscode: 503", "(x298)",
      "readinessProbe httpGet /ready port 8080", "index catalog-products-v7 not found"]),
    ("northwind-prod", "PVCPending", "persistentvolumeclaim", "platform/data-kafka-2",
     ["VolumeLimitExceeded", "limit of 50 TiB", "storageClassName gp3-expandable", "used by pod platform/kafka-2"]),
    ("northwind-prod", "JobFailed", "job", "platform/pg-backup-verify-29919030",
     ["(BackoffLimitExceeded)", "failed 3", "backoffLimit 2", "not authorized to perform: kms:Decrypt"]),
    ("orbital-prod", "CrashLoopBackOff", "pod", "routing/route-planner-9b8c7d6e5-f6g7h",
     ['java.lang.NumberFormatException: For input string: "15km"', "restartCount 15"]),
    ("orbital-prod", "OOMKilled", "pod", "fleet/telematics-ingest-8d6f7c5b9-q5w2e",
     ["OOMKilled, exit code 137", "memory limit 1Gi", "restartCount 9", "waiting CrashLoopBackOff"]),
    ("orbital-prod", "ImagePullBackOff", "pod", "fleet/driver-app-bff-74c9f8d6b7-k3l5m", ["403 Forbidden"]),
    ("orbital-prod", "FailedScheduling", "pod", "routing/eta-predictor-5d4c3b2a19-v8b7n",
     ["nodeSelector orbital.io/pool=gpu", "didn't match Pod's node affinity/selector"]),
    ("orbital-prod", "NodeNotReady", "node", "_cluster/orb-prod-general-m3zt",
     ["cni plugin not initialized", "taint node.kubernetes.io/not-ready:NoSchedule"]),
    ("orbital-prod", "ProbeFailing", "pod", "fleet/tracking-api-5c7d8e9f6b-p8m4x",
     ["Readiness probe failed", "context deadline exceeded", "i/o timeout after 2s"]),
    ("orbital-prod", "ProbeFailing", "pod", "fleet/tracking-api-5c7d8e9f6b-z2c7v", ["i/o timeout after 2s"]),
    ("orbital-prod", "DeploymentUnavailable", "deployment", "fleet/tracking-api",
     ["available 0", "(MinimumReplicasUnavailable)", "tracking-api-5c7d8e9f6b-p8m4x"]),
    ("orbital-prod", "PVCPending", "persistentvolumeclaim", "billing/invoice-archive",
     ['storageclass.storage.k8s.io "efs-invoices" not found']),
    ("orbital-prod", "JobFailed", "job", "billing/invoice-export-29918955",
     ["(BackoffLimitExceeded)", "ERROR 1045 (28000): Access denied for user 'invoice_export'"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Finding]]:
    """Each snapshot analyzed once."""
    return {context: analyze(DumpCluster(CLUSTERS / context)) for context in ("northwind-prod", "orbital-prod")}


def keys(found: list[Finding]) -> set[Key]:
    return {(f.check, f.kind, f"{f.namespace}/{f.name}") for f in found}


def one(found: list[Finding], check: str, kind: str, where: str) -> Finding:
    matching = [f for f in found if (f.check, f.kind, f"{f.namespace}/{f.name}") == (check, kind, where)]
    assert len(matching) == 1, f"{check} {kind}/{where}: {keys(found)}"
    return matching[0]


@pytest.mark.parametrize(("context", "expected"), [("northwind-prod", NORTHWIND), ("orbital-prod", ORBITAL)])
def test_the_findings_are_the_failures_and_nothing_healthy(
    findings: dict[str, list[Finding]], context: str, expected: set[Key]
) -> None:
    assert keys(findings[context]) == expected
    assert len(findings[context]) == len(expected)  # one finding per check and object


@pytest.mark.parametrize(("context", "check", "kind", "where", "facts"), PLANTED, ids=lambda v: str(v)[:40])
def test_each_planted_failure_is_shown_by_its_evidence(
    findings: dict[str, list[Finding]], context: str, check: str, kind: str, where: str, facts: list[str]
) -> None:
    finding = one(findings[context], check, kind, where)
    evidence = "\n".join(finding.evidence)
    for fact in facts:
        assert fact in evidence, f"{fact!r} not in the evidence of {check} {where}:\n{evidence}"
    assert where.split("/")[1] in finding.summary and finding.summary.endswith(".")
    assert finding.alerts and all(len(line) <= 300 for line in finding.evidence)


def test_summaries_alerts_and_related_objects(findings: dict[str, list[Finding]]) -> None:
    northwind = findings["northwind-prod"]
    crash = one(northwind, "CrashLoopBackOff", "pod", "shop/checkout-7c9d8f6b5-x2k4p")
    assert crash.summary == (
        "Pod shop/checkout-7c9d8f6b5-x2k4p is in CrashLoopBackOff: container checkout restarted 11 times, "
        "its last run ended with Error (exit code 1)."
    )
    assert crash.alerts == ("KubePodCrashLooping",) and crash.related == ("deployment/shop/checkout",)
    assert crash.severity == "critical" and crash.source_id("northwind-prod").endswith(
        "shop/pod/checkout-7c9d8f6b5-x2k4p"
    )
    job = one(northwind, "JobFailed", "job", "platform/pg-backup-verify-29919030")
    assert job.alerts == ("JobFailed", "KubeJobFailed", "CronJobFailed")
    assert job.related[0] == "cronjob/platform/pg-backup-verify" and len(job.related) == 4  # the CronJob and 3 pods
    assert "pod/platform/pg-backup-verify-29919030-h2m6x" in job.related
    kafka = one(northwind, "FailedScheduling", "pod", "platform/kafka-2")
    assert kafka.related == ("statefulset/platform/kafka", "persistentvolumeclaim/platform/data-kafka-2")
    node = one(northwind, "NodeNotReady", "node", "_cluster/ip-10-20-3-41")
    assert (
        node.related == ("pod/platform/promtail-bq7r3",)
        and node.source_id("c") == "cluster/c/_cluster/node/ip-10-20-3-41"
    )
    daemonset = one(northwind, "DeploymentUnavailable", "daemonset", "platform/promtail")
    assert daemonset.related == ("pod/platform/promtail-bq7r3", "node/_cluster/ip-10-20-3-41")
    assert daemonset.alerts == ("KubeDaemonSetRolloutStuck",)
    oom = one(findings["orbital-prod"], "OOMKilled", "pod", "fleet/telematics-ingest-8d6f7c5b9-q5w2e")
    assert oom.alerts == ("KubeContainerOOMKilled", "KubePodCrashLooping") and "512Mi" not in oom.summary
    assert "limit of 1Gi (exit code 137)" in oom.summary and "now in CrashLoopBackOff" in oom.summary


def test_sorted_critical_first_then_by_namespace_kind_and_name(findings: dict[str, list[Finding]]) -> None:
    for found in findings.values():
        order = [(f.severity != "critical", f.namespace, f.kind, f.name) for f in found]
        assert order == sorted(order) and found[0].severity == "critical" and found[-1].severity == "warning"
        assert {f.check for f in found} == set(CHECKS) == set(get_args(CheckName))


def test_namespaces_and_cluster_scope_filter() -> None:
    reader = DumpCluster(CLUSTERS / "northwind-prod")
    shop = {k for k in NORTHWIND if k[2].startswith("shop/")}
    node = ("NodeNotReady", "node", "_cluster/ip-10-20-3-41")
    assert keys(analyze(reader, ["shop"], cluster_scoped=False)) == shop
    only_shop = analyze(reader, ["shop"])
    assert keys(only_shop) == shop | {node}
    assert one(only_shop, *node).related == ()  # its not-ready pod is in platform, not analyzed
    # without nodes, the pod on the NotReady node is still known by its Ready reason and not reported as ProbeFailing
    assert keys(analyze(reader, cluster_scoped=False)) == NORTHWIND - {node}


class FailingLogs(DumpCluster):
    """A dump whose log endpoint fails, as a live API that times out does."""

    def logs(
        self, namespace: str, pod: str, container: str | None = None, *, previous: bool = False, tail: int | None = None
    ) -> str:
        raise ClusterError("the API of northwind-prod did not answer: ReadTimeoutError")


def test_a_log_that_cannot_be_read_is_noted_not_raised() -> None:
    found = analyze(FailingLogs(CLUSTERS / "northwind-prod"))
    assert keys(found) == NORTHWIND
    crash = one(found, "CrashLoopBackOff", "pod", "shop/checkout-7c9d8f6b5-x2k4p")
    assert "previous log unavailable: the API of northwind-prod did not answer: ReadTimeoutError" in crash.evidence
    assert "restartCount 11" in "\n".join(crash.evidence)


def test_log_lines_bounds_the_log_tail() -> None:
    found = analyze(DumpCluster(CLUSTERS / "northwind-prod"), ["shop"], cluster_scoped=False, log_lines=4)
    crash = one(found, "CrashLoopBackOff", "pod", "shop/checkout-7c9d8f6b5-x2k4p")
    logged = [line for line in crash.evidence if line.startswith("checkout previous log: ")]
    assert len(logged) == 4 and logged[-1].endswith("/src/cmd/checkout/main.go:57 +0x1f4")


def test_findings_for_an_object_include_those_naming_it(findings: dict[str, list[Finding]]) -> None:
    northwind = findings["northwind-prod"]
    about_pod = findings_for(northwind, "po", "shop", "checkout-7c9d8f6b5-x2k4p")
    assert {(f.check, f.ref) for f in about_pod} == {
        ("CrashLoopBackOff", "pod/shop/checkout-7c9d8f6b5-x2k4p"),
        ("DeploymentUnavailable", "deployment/shop/checkout"),
    }
    about_node = findings_for(northwind, "Node", "", "ip-10-20-3-41")
    assert {f.ref for f in about_node} == {"node/_cluster/ip-10-20-3-41", "daemonset/platform/promtail"}
    assert findings_for(northwind, "deployment", "shop", "cart") == []


def test_to_json_round_trips(findings: dict[str, list[Finding]]) -> None:
    for finding in findings["northwind-prod"] + findings["orbital-prod"]:
        data = json.loads(json.dumps(finding.to_json()))
        assert data == finding.to_json() and data["check"] == finding.check and isinstance(data["evidence"], list)
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        assert Finding(**fields) == finding


# -- edge cases, in a dump of one namespace written here --------------------------------------------------------------


def pod(
    name: str, phase: str, statuses: list[dict[str, Any]], conditions: list[dict[str, str]] | None = None, **probes: Any
) -> dict[str, Any]:
    ready = all(s.get("ready") for s in statuses) and phase == "Running"
    conditions = conditions or [{"type": "Ready", "status": str(ready)}, {"type": "PodScheduled", "status": "True"}]
    containers = [{"name": s["name"], "image": f"example/{s['name']}:1", **probes} for s in statuses]
    return {
        "metadata": {"name": name, "namespace": "edge"},
        "spec": {"containers": containers},
        "status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses},
    }


def event(name: str, kind: str, reason: str, message: str, type_: str = "Warning") -> dict[str, Any]:
    about = {"kind": kind, "namespace": "edge", "name": name, "fieldPath": "spec.containers{app}"}
    return {"metadata": {"name": f"{name}.1", "namespace": "edge"}, "involvedObject": about, "reason": reason,
            "message": message, "type": type_, "count": 3}  # fmt: skip


def running(ready: bool, restarts: int = 0) -> dict[str, Any]:
    return {"name": "app", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "T"}}}


EDGE_OBJECTS: dict[str, list[dict[str, Any]]] = {
    "pods": [
        {**pod("init-crash", "Pending", []), "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "migrate", "ready": False, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
             "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]}},
        pod("ready-again", "Running", [running(True)], readinessProbe={"httpGet": {"path": "/ready", "port": 80}}),
        pod("liveness", "Running", [running(True, restarts=2)], livenessProbe={"exec": {"command": ["pg_isready"]}}),
        pod("oom-now", "Failed", [{"name": "app", "ready": False, "restartCount": 0,
                                   "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]),
        pod("gated", "Pending", [], [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
    ],
    "events": [
        event("ready-again", "Pod", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500"),
        event("liveness", "Pod", "Unhealthy", "Liveness probe failed: command timed out"),
        event("waiting", "PersistentVolumeClaim", "WaitForFirstConsumer", "waiting for first consumer", "Normal"),
    ],
    "persistentvolumeclaims": [{"metadata": {"name": "waiting", "namespace": "edge"}, "spec": {},
                                "status": {"phase": "Pending"}}],
    "jobs": [{"metadata": {"name": "deadline", "namespace": "edge"}, "spec": {"activeDeadlineSeconds": 60},
              "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                                      "message": "Job was active longer than specified deadline"}]}}],
    "deployments": [
        {"metadata": {"name": "scaled-to-zero", "namespace": "edge"}, "spec": {"replicas": 0}, "status": {}},
        {"metadata": {"name": "one-by-default", "namespace": "edge"}, "spec": {}, "status": {"availableReplicas": 1}},
    ],
}  # fmt: skip


@pytest.fixture
def edge(tmp_path: Path) -> list[Finding]:
    """The edge objects analyzed, as a dump folder without logs."""
    folder = tmp_path / "edge-cluster" / "edge"
    folder.mkdir(parents=True)
    for plural, items in EDGE_OBJECTS.items():
        (folder / f"{plural}.json").write_text(json.dumps({"kind": "List", "items": items}))
    return analyze(DumpCluster(tmp_path / "edge-cluster"))


def test_edge_cases(edge: list[Finding]) -> None:
    assert keys(edge) == {
        ("CrashLoopBackOff", "pod", "edge/init-crash"),  # an init container, without any log in the dump
        ("ProbeFailing", "pod", "edge/liveness"),  # ready now, but restarted by its liveness probe
        ("OOMKilled", "pod", "edge/oom-now"),  # killed in its current run, with no limit set
        ("JobFailed", "job", "edge/deadline"),  # no pods, no CronJob
    }  # not: a readiness blip of a ready pod, a gated pod, a claim waiting for its consumer, healthy Deployments
    crash = one(edge, "CrashLoopBackOff", "pod", "edge/init-crash")
    assert "init container migrate: waiting CrashLoopBackOff: back-off 40s" in crash.evidence
    assert any(
        e.startswith("previous log unavailable: previous terminated container 'migrate'") for e in crash.evidence
    )
    probe = one(edge, "ProbeFailing", "pod", "edge/liveness")
    assert "container app: livenessProbe exec pg_isready, timeout 1s, period 10s, failureThreshold 3" in probe.evidence
    assert probe.summary.startswith("Pod edge/liveness fails its liveness probe: container app is restarted")
    oom = one(edge, "OOMKilled", "pod", "edge/oom-now")
    assert (
        "container app: memory limit (none set)" in oom.evidence
        and "container app: terminated OOMKilled" in "\n".join(oom.evidence)
    )
    job = one(edge, "JobFailed", "job", "edge/deadline")
    assert job.alerts == ("JobFailed", "KubeJobFailed") and job.related == () and job.severity == "critical"
    assert "activeDeadlineSeconds 60" in job.evidence and "(DeadlineExceeded)" in job.evidence[0]
