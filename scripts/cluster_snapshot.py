"""Build a cluster snapshot (the objects `kubectl get -o json` prints) from a scenario and write it to a folder.

The output is laid out like `kubectl cluster-info dump --output-directory` (see corpora/README.md): a NodeList, and per
namespace one `<Kind>List` file per kind plus `<pod>/logs.txt` and `<pod>/logs-<container>-previous.txt`. Every object
is valid for the Kubernetes API. The scenarios are in make_cluster_snapshots.py.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Json = dict[str, Any]

SNAPSHOT_AT = datetime(2026, 11, 20, 9, 30, 0, tzinfo=UTC)
FILES = {
    "pods": ("v1", "PodList"),
    "deployments": ("apps/v1", "DeploymentList"),
    "replicasets": ("apps/v1", "ReplicaSetList"),
    "services": ("v1", "ServiceList"),
    "events": ("v1", "EventList"),
    "daemonsets": ("apps/v1", "DaemonSetList"),
    "statefulsets": ("apps/v1", "StatefulSetList"),
    "jobs": ("batch/v1", "JobList"),
    "cronjobs": ("batch/v1", "CronJobList"),
    "ingresses": ("networking.k8s.io/v1", "IngressList"),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaimList"),
    "configmaps": ("v1", "ConfigMapList"),
}
TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def at(minutes_ago: float) -> str:
    """The timestamp `minutes_ago` minutes before the snapshot, as the API prints it."""
    return (SNAPSHOT_AT - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_time(minutes_ago: float) -> str:
    return (SNAPSHOT_AT - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- what a scenario says ---------------------------------------------------------------------------------------------


@dataclass
class Container:
    name: str
    image: str
    requests: dict[str, str]
    limits: dict[str, str]
    port: int | None = 8080
    env: dict[str, str] = field(default_factory=dict)
    env_from_configmap: str | None = None
    readiness_path: str | None = "/ready"
    liveness_path: str | None = "/healthz"
    command: list[str] | None = None

    def spec(self) -> Json:
        spec: Json = {
            "name": self.name,
            "image": self.image,
            "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": self.requests, "limits": self.limits},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
        if self.command:
            spec["command"] = self.command
        if self.port:
            spec["ports"] = [{"name": "http", "containerPort": self.port, "protocol": "TCP"}]
        if self.env:
            spec["env"] = [{"name": k, "value": v} for k, v in self.env.items()]
        if self.env_from_configmap:
            spec["envFrom"] = [{"configMapRef": {"name": self.env_from_configmap}}]
        for kind, path, delay in (
            ("readinessProbe", self.readiness_path, 5),
            ("livenessProbe", self.liveness_path, 15),
        ):
            if path and self.port:
                spec[kind] = {
                    "httpGet": {"path": path, "port": self.port, "scheme": "HTTP"},
                    "initialDelaySeconds": delay,
                    "periodSeconds": 10,
                    "timeoutSeconds": 2,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                }
        return spec


@dataclass
class Pod:
    """One pod's observed state; `state` and `last_state` are container state objects as the API prints them."""

    suffix: str
    node: str | None
    age_min: float
    state: Json | None = None
    last_state: Json | None = None
    restarts: int = 0
    ready: bool | None = None
    phase: str | None = None
    logs: list[str] = field(default_factory=list)
    previous_logs: list[str] | None = None
    unschedulable: str | None = None
    ip: str = ""

    def started(self) -> bool:
        return self.state is not None and "running" in self.state


def running(minutes_ago: float) -> Json:
    return {"running": {"startedAt": at(minutes_ago)}}


def waiting(reason: str, message: str) -> Json:
    return {"waiting": {"reason": reason, "message": message}}


def terminated(reason: str, code: int, started: float, finished: float) -> Json:
    return {
        "terminated": {
            "exitCode": code,
            "reason": reason,
            "startedAt": at(started),
            "finishedAt": at(finished),
            "containerID": f"containerd://{uuid.uuid5(uuid.NAMESPACE_URL, f'{reason}{started}').hex}",
        }
    }


@dataclass
class Event:
    kind: str
    name: str
    reason: str
    message: str
    count: int
    first_min: float
    last_min: float
    type: str = "Warning"
    component: str = "kubelet"
    host: str | None = None
    field_path: str | None = None


# --- the snapshot being built -----------------------------------------------------------------------------------------


class Snapshot:
    def __init__(self, context: str, namespaces: list[str], subnet: str) -> None:
        self.context = context
        self.namespaces = namespaces
        self.subnet = subnet
        self.lists: dict[tuple[str, str], list[Json]] = defaultdict(list)
        self.nodes: list[Json] = []
        self.failed_nodes: set[str] = set()
        self.logs: dict[tuple[str, str], str] = {}
        self._version = 4_812_000
        self._ips = 10

    def uid(self, kind: str, namespace: str, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.context}/{namespace}/{kind}/{name}"))

    def meta(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        age_min: float,
        labels: dict[str, str] | None = None,
        owner: tuple[str, str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Json:
        self._version += 137
        meta: Json = {
            "name": name,
            "uid": self.uid(kind, namespace or "_cluster", name),
            "resourceVersion": str(self._version),
            "creationTimestamp": at(age_min),
        }
        if namespace:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        if owner:
            api, owner_kind, owner_name = owner
            meta["ownerReferences"] = [
                {
                    "apiVersion": api,
                    "kind": owner_kind,
                    "name": owner_name,
                    "uid": self.uid(owner_kind, namespace or "_cluster", owner_name),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        if kind not in ("Pod", "Event", "Node", "ConfigMap", "Service", "PersistentVolumeClaim"):
            meta["generation"] = 1
        return meta

    def next_ip(self) -> str:
        self._ips += 1
        return f"{self.subnet}.{100 + self._ips // 250}.{self._ips % 250 + 2}"

    # nodes

    def node(
        self,
        name: str,
        address: str,
        zone: str,
        instance: str,
        cpu: str,
        memory: str,
        *,
        labels: dict[str, str] | None = None,
        failure: str | None = None,
    ) -> None:
        """A node; failure "unreachable" (the kubelet stopped posting status) or a NotReady message of the kubelet."""
        pods_cap = 58
        mem_alloc = f"{int(memory[:-2]) - 1_100_000}Ki"
        cpu_alloc = f"{int(cpu) * 1000 - 90}m"
        healthy = {
            "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            "Ready": ("KubeletReady", "kubelet is posting ready status"),
        }
        conditions = []
        for kind, (reason, message) in healthy.items():
            condition = {
                "type": kind,
                "status": "True" if kind == "Ready" else "False",
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": at(1),
                "lastTransitionTime": at(12000),
            }
            if failure == "unreachable":
                condition.update(
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    lastHeartbeatTime=at(47),
                    lastTransitionTime=at(43),
                )
            elif failure and kind == "Ready":
                condition.update(status="False", reason="KubeletNotReady", message=failure, lastTransitionTime=at(43))
            conditions.append(condition)
        spec: Json = {
            "podCIDR": f"{self.subnet}.{len(self.nodes) + 64}.0/24",
            "providerID": f"aws:///{zone}/i-0{uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:16]}",
        }
        if failure:
            self.failed_nodes.add(name)
            taint = "node.kubernetes.io/unreachable" if failure == "unreachable" else "node.kubernetes.io/not-ready"
            spec["taints"] = [
                {"key": taint, "effect": "NoSchedule", "timeAdded": at(43)},
                {"key": taint, "effect": "NoExecute", "timeAdded": at(42)},
            ]
        self.nodes.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": self.meta(
                    "Node",
                    None,
                    name,
                    40_000 - 3_000 * len(self.nodes),
                    labels={
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "node.kubernetes.io/instance-type": instance,
                        "topology.kubernetes.io/zone": zone,
                        "topology.kubernetes.io/region": zone[:-1],
                    }
                    | (labels or {}),
                    annotations={"node.alpha.kubernetes.io/ttl": "0"},
                ),
                "spec": spec,
                "status": {
                    "capacity": {
                        "cpu": cpu,
                        "memory": memory,
                        "pods": str(pods_cap),
                        "ephemeral-storage": "83873772Ki",
                    },
                    "allocatable": {
                        "cpu": cpu_alloc,
                        "memory": mem_alloc,
                        "pods": str(pods_cap),
                        "ephemeral-storage": "76224326324",
                    },
                    "conditions": conditions,
                    "addresses": [
                        {"type": "InternalIP", "address": address},
                        {"type": "Hostname", "address": name},
                    ],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
                        "containerRuntimeVersion": "containerd://1.7.22",
                        "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                        "kubeProxyVersion": "v1.31.2-eks-94953ac",
                        "kubeletVersion": "v1.31.2-eks-94953ac",
                        "machineID": uuid.uuid5(uuid.NAMESPACE_X500, name).hex,
                        "operatingSystem": "linux",
                        "osImage": "Amazon Linux 2023.6.20241111",
                        "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)).upper(),
                    },
                },
            }
        )

    # pods and their controllers

    def pod(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        containers: list[Container],
        pod: Pod,
        owner: tuple[str, str, str] | None,
        *,
        service_account: str,
        restart_policy: str = "Always",
        node_selector: dict[str, str] | None = None,
        volumes: list[Json] | None = None,
    ) -> Json:
        main = containers[0]
        spec: Json = {
            "containers": [c.spec() for c in containers],
            "restartPolicy": restart_policy,
            "serviceAccountName": service_account,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "enableServiceLinks": False,
            "tolerations": TOLERATIONS,
            "priority": 0,
        }
        if node_selector:
            spec["nodeSelector"] = node_selector
        if volumes:
            spec["volumes"] = volumes
        if pod.node:
            spec["nodeName"] = pod.node
        status: Json = {"qosClass": "Burstable" if main.requests != main.limits else "Guaranteed"}
        if pod.unschedulable:
            status["phase"] = "Pending"
            status["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": pod.unschedulable,
                    "lastProbeTime": None,
                    "lastTransitionTime": at(pod.age_min),
                }
            ]
        else:
            state = pod.state or running(pod.age_min - 0.5)
            node_lost = pod.node in self.failed_nodes
            ready = pod.ready if pod.ready is not None else ("running" in state and not node_lost)
            status["phase"] = pod.phase or ("Running" if "running" in state or pod.last_state else "Pending")
            pod.ip = pod.ip or (self.next_ip() if pod.phase != "Pending" or pod.started() else "")
            flag = "True" if ready else "False"
            not_ready = None if ready else f"containers with unready status: [{main.name}]"
            conditions = [
                ("PodReadyToStartContainers", "True", None),
                ("Initialized", "True", None),
                ("Ready", flag, not_ready),
                ("ContainersReady", flag, not_ready),
                ("PodScheduled", "True", None),
            ]
            status["conditions"] = []
            for kind, value, message in conditions:
                condition: Json = {"type": kind, "status": value, "lastProbeTime": None}
                condition["lastTransitionTime"] = at(pod.age_min if value == "True" else min(pod.age_min, 40))
                if message and status["phase"] in ("Succeeded", "Failed"):
                    condition["reason"] = "PodCompleted"
                elif message:
                    condition["reason"] = "ContainersNotReady"
                    condition["message"] = message
                if node_lost and kind == "Ready":
                    condition.update(status="False", reason="NodeNotReady", lastTransitionTime=at(42))
                    condition.pop("message", None)
                status["conditions"].append(condition)
            node_ip = next(
                a["address"]
                for n in self.nodes
                if n["metadata"]["name"] == pod.node
                for a in n["status"]["addresses"]
                if a["type"] == "InternalIP"
            )
            status["hostIP"] = node_ip
            status["hostIPs"] = [{"ip": node_ip}]
            if pod.ip:
                status["podIP"] = pod.ip
                status["podIPs"] = [{"ip": pod.ip}]
            status["startTime"] = at(pod.age_min)
            pulled = "waiting" not in state or state["waiting"]["reason"] not in ("ImagePullBackOff", "ErrImagePull")
            statuses = []
            for c in containers:
                digest = uuid.uuid5(uuid.NAMESPACE_URL, c.image).hex * 2
                entry: Json = {
                    "name": c.name,
                    "image": c.image,
                    "imageID": f"{c.image.split(':')[0]}@sha256:{digest}" if pulled else "",
                    "ready": ready if c is main else pulled,
                    "restartCount": pod.restarts if c is main else 0,
                    "started": "running" in state if c is main else pulled,
                    "state": state if c is main else running(pod.age_min - 0.5),
                    "lastState": (pod.last_state or {}) if c is main else {},
                }
                if pulled:
                    entry["containerID"] = f"containerd://{uuid.uuid5(uuid.NAMESPACE_DNS, name + c.name).hex * 2}"
                statuses.append(entry)
            status["containerStatuses"] = statuses
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": self.meta("Pod", namespace, name, pod.age_min, labels=labels, owner=owner),
            "spec": spec,
            "status": status,
        }
        self.lists[(namespace, "pods")].append(obj)
        self._pod_logs(namespace, name, containers, pod)
        return obj

    def _pod_logs(self, namespace: str, name: str, containers: list[Container], pod: Pod) -> None:
        if pod.unschedulable:
            return
        parts = []
        for c in containers:
            parts.append(f"==== START logs for container {c.name} of pod {namespace}/{name} ====")
            if c is containers[0] and pod.state and "waiting" in pod.state and not pod.last_state:
                reason = pod.state["waiting"]["reason"]
                why = "trying and failing to pull image" if "Image" in reason else reason
                parts.append(
                    f"Request log error: the server rejected our request for an unknown reason (get pods {name}): "
                    f'container "{c.name}" in pod "{name}" is waiting to start: {why}'
                )
            elif c is containers[0] and pod.state and "waiting" in pod.state:
                parts.extend(pod.previous_logs or [])  # a crash-looping container: its last run's log
            elif c is containers[0]:
                parts.extend(pod.logs)
            else:
                parts.append(f"{log_time(pod.age_min - 0.5)} [info] {c.name} started")
            parts.append(f"==== END logs for container {c.name} of pod {namespace}/{name} ====")
        self.logs[(namespace, f"{name}/logs.txt")] = "\n".join(parts) + "\n"
        if pod.previous_logs is not None:
            main = containers[0].name
            self.logs[(namespace, f"{name}/logs-{main}-previous.txt")] = "\n".join(pod.previous_logs) + "\n"

    def deployment(
        self,
        namespace: str,
        name: str,
        revisions: list[tuple[str, list[Container], list[Pod]]],
        *,
        replicas: int,
        age_min: float,
        progress: str = "NewReplicaSetAvailable",
        app_labels: dict[str, str] | None = None,
        node_selector: dict[str, str] | None = None,
    ) -> None:
        """A Deployment with one ReplicaSet per (pod-template-hash, containers, pods), the last one current."""
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": self.context.split("-")[0]}
        labels |= app_labels or {}
        selector = {"app.kubernetes.io/name": name}
        all_pods: list[tuple[Pod, bool]] = []
        template: Json = {}
        for number, (template_hash, containers, pods) in enumerate(revisions, start=1):
            current = number == len(revisions)
            rs_name = f"{name}-{template_hash}"
            pod_labels = labels | {"pod-template-hash": template_hash}
            revision = str(len(revisions) + 10 - (len(revisions) - number))
            template = {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "containers": [c.spec() for c in containers],
                    "serviceAccountName": name,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler",
                }
                | ({"nodeSelector": node_selector} if node_selector else {}),
            }
            ready = 0
            for pod in pods:
                obj = self.pod(
                    namespace,
                    f"{rs_name}-{pod.suffix}",
                    pod_labels,
                    containers,
                    pod,
                    ("apps/v1", "ReplicaSet", rs_name),
                    service_account=name,
                    node_selector=node_selector,
                )
                is_ready = any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"]["conditions"])
                ready += is_ready
                all_pods.append((pod, current))
            rs_age = min(p.age_min for p in pods) + 1 if pods else age_min
            self.lists[(namespace, "replicasets")].append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": self.meta(
                        "ReplicaSet",
                        namespace,
                        rs_name,
                        rs_age,
                        labels=pod_labels,
                        owner=("apps/v1", "Deployment", name),
                        annotations={
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + math.ceil(replicas * 0.25)),
                            "deployment.kubernetes.io/revision": revision,
                        },
                    ),
                    "spec": {"replicas": len(pods), "selector": {"matchLabels": pod_labels}, "template": template},
                    "status": {
                        "replicas": len(pods),
                        "fullyLabeledReplicas": len(pods),
                        "readyReplicas": ready,
                        "availableReplicas": ready,
                        "observedGeneration": 1,
                    }
                    if pods
                    else {"replicas": 0, "observedGeneration": 2},
                }
            )
        available = sum(
            1
            for (ns, kind), items in self.lists.items()
            if ns == namespace and kind == "pods"
            for item in items
            if item["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name
            and any(c["type"] == "Ready" and c["status"] == "True" for c in item["status"]["conditions"])
        )
        updated = sum(1 for _, current in all_pods if current)
        minimum = replicas - math.floor(replicas * 0.25)
        available_ok = available >= minimum
        progress_messages = {
            "NewReplicaSetAvailable": ("True", f'ReplicaSet "{name}-{revisions[-1][0]}" has successfully progressed.'),
            "ReplicaSetUpdated": ("True", f'ReplicaSet "{name}-{revisions[-1][0]}" is progressing.'),
            "ProgressDeadlineExceeded": ("False", f'ReplicaSet "{name}-{revisions[-1][0]}" has timed out progressing.'),
        }
        progress_status, progress_message = progress_messages[progress]
        status: Json = {
            "observedGeneration": len(revisions),
            "replicas": len(all_pods),
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available_ok else "False",
                    "reason": "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available_ok
                    else "Deployment does not have minimum availability.",
                    "lastUpdateTime": at(age_min if available_ok else 38),
                    "lastTransitionTime": at(age_min if available_ok else 38),
                },
                {
                    "type": "Progressing",
                    "status": progress_status,
                    "reason": progress,
                    "message": progress_message,
                    "lastUpdateTime": at(20),
                    "lastTransitionTime": at(20 if progress == "ProgressDeadlineExceeded" else age_min),
                },
            ],
        }
        if replicas - available > 0:
            status["unavailableReplicas"] = replicas - available
        if not status["readyReplicas"]:
            del status["readyReplicas"], status["availableReplicas"]
        self.lists[(namespace, "deployments")].append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": self.meta(
                    "Deployment",
                    namespace,
                    name,
                    age_min,
                    labels=labels,
                    annotations={"deployment.kubernetes.io/revision": str(10 + len(revisions))},
                )
                | {"generation": len(revisions)},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": selector},
                    "template": template,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                },
                "status": status,
            }
        )

    def statefulset(
        self,
        namespace: str,
        name: str,
        containers: list[Container],
        pods: list[Pod],
        *,
        storage: str,
        storage_class: str,
        age_min: float,
        pending_claims: dict[int, str] | None = None,
    ) -> None:
        """A StatefulSet whose pods `name-0..` each own a claim `data-name-i`; pending_claims: ordinal -> why."""
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": self.context.split("-")[0]}
        revision = f"{name}-{uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:10]}"
        claim_template = {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "resources": {"requests": {"storage": storage}},
                "volumeMode": "Filesystem",
            },
        }
        ready = 0
        for ordinal, pod in enumerate(pods):
            claim = f"data-{name}-{ordinal}"
            bound = ordinal not in (pending_claims or {})
            self.lists[(namespace, "persistentvolumeclaims")].append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": self.meta(
                        "PersistentVolumeClaim",
                        namespace,
                        claim,
                        pod.age_min if not bound else age_min,
                        labels={"app.kubernetes.io/name": name},
                        annotations={
                            "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                            "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                        }
                        | ({"pv.kubernetes.io/bind-completed": "yes"} if bound else {}),
                    ),
                    "spec": claim_template["spec"]
                    | ({"volumeName": f"pvc-{self.uid('PersistentVolume', namespace, claim)}"} if bound else {}),
                    "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage}}
                    if bound
                    else {"phase": "Pending"},
                }
            )
            obj = self.pod(
                namespace,
                f"{name}-{ordinal}",
                labels
                | {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": f"{name}-{ordinal}"},
                containers,
                pod,
                ("apps/v1", "StatefulSet", name),
                service_account=name,
                volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
            )
            ready += any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"]["conditions"])
        self.lists[(namespace, "statefulsets")].append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": self.meta("StatefulSet", namespace, name, age_min, labels=labels),
                "spec": {
                    "replicas": len(pods),
                    "serviceName": f"{name}-headless",
                    "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                    "podManagementPolicy": "Parallel",
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [c.spec() for c in containers], "serviceAccountName": name},
                    },
                    "volumeClaimTemplates": [claim_template],
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                },
                "status": {
                    "observedGeneration": 1,
                    "replicas": len(pods),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "currentReplicas": len(pods),
                    "updatedReplicas": len(pods),
                    "currentRevision": revision,
                    "updateRevision": revision,
                    "collisionCount": 0,
                },
            }
        )

    def daemonset(self, namespace: str, name: str, container: Container, per_node: dict[str, Pod]) -> None:
        labels = {"app.kubernetes.io/name": name}
        ready = 0
        for node, pod in per_node.items():
            pod.node = node
            obj = self.pod(
                namespace,
                f"{name}-{pod.suffix}",
                labels | {"controller-revision-hash": "6b8f9c7d54", "pod-template-generation": "3"},
                [container],
                pod,
                ("apps/v1", "DaemonSet", name),
                service_account=name,
            )
            ready += any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"]["conditions"])
        desired = len(per_node)
        status: Json = {
            "currentNumberScheduled": desired,
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": desired,
            "observedGeneration": 3,
        }
        if desired - ready:
            status["numberUnavailable"] = desired - ready
        self.lists[(namespace, "daemonsets")].append(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": self.meta("DaemonSet", namespace, name, 30_000, labels=labels),
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [container.spec()]}},
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                },
                "status": status,
            }
        )

    def cronjob(
        self,
        namespace: str,
        name: str,
        schedule: str,
        container: Container,
        runs: list[tuple[str, float, list[Pod], bool]],
        *,
        backoff_limit: int = 2,
    ) -> None:
        """A CronJob with its Jobs; a run is (job suffix, minutes ago, pods, succeeded)."""
        job_template = {
            "spec": {
                "backoffLimit": backoff_limit,
                "activeDeadlineSeconds": 3600,
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": name}},
                    "spec": {"containers": [container.spec()], "restartPolicy": "Never", "serviceAccountName": name},
                },
            }
        }
        for suffix, minutes_ago, pods, succeeded in runs:
            job = f"{name}-{suffix}"
            labels = {"app.kubernetes.io/name": name, "batch.kubernetes.io/job-name": job, "job-name": job}
            for pod in pods:
                self.pod(
                    namespace,
                    f"{job}-{pod.suffix}",
                    labels,
                    [container],
                    pod,
                    ("batch/v1", "Job", job),
                    service_account=name,
                    restart_policy="Never",
                )
            end = min(p.age_min for p in pods) - 2
            status: Json = {"startTime": at(minutes_ago), "ready": 0, "terminating": 0}
            if succeeded:
                status |= {
                    "succeeded": 1,
                    "completionTime": at(end),
                    "conditions": [
                        {
                            "type": "SuccessCriteriaMet",
                            "status": "True",
                            "reason": "CompletionsReached",
                            "message": "Reached expected number of succeeded pods",
                            "lastProbeTime": at(end),
                            "lastTransitionTime": at(end),
                        },
                        {
                            "type": "Complete",
                            "status": "True",
                            "reason": "CompletionsReached",
                            "message": "Reached expected number of succeeded pods",
                            "lastProbeTime": at(end),
                            "lastTransitionTime": at(end),
                        },
                    ],
                }
            else:
                status |= {
                    "failed": len(pods),
                    "conditions": [
                        {
                            "type": kind,
                            "status": "True",
                            "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit",
                            "lastProbeTime": at(end),
                            "lastTransitionTime": at(end),
                        }
                        for kind in ("FailureTarget", "Failed")
                    ],
                }
            self.lists[(namespace, "jobs")].append(
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "metadata": self.meta(
                        "Job",
                        namespace,
                        job,
                        minutes_ago,
                        labels=labels,
                        owner=("batch/v1", "CronJob", name),
                        annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": at(minutes_ago)},
                    ),
                    "spec": job_template["spec"]
                    | {
                        "completions": 1,
                        "parallelism": 1,
                        "completionMode": "NonIndexed",
                        "selector": {
                            "matchLabels": {"batch.kubernetes.io/controller-uid": self.uid("Job", namespace, job)}
                        },
                    },
                    "status": status,
                }
            )
        last = min(r[1] for r in runs)
        last_success = min((r[1] for r in runs if r[3]), default=None)
        status = {"lastScheduleTime": at(last)}
        if last_success is not None:
            status["lastSuccessfulTime"] = at(last_success - 3)
        self.lists[(namespace, "cronjobs")].append(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": self.meta("CronJob", namespace, name, 60_000, labels={"app.kubernetes.io/name": name}),
                "spec": {
                    "schedule": schedule,
                    "timeZone": "Etc/UTC",
                    "concurrencyPolicy": "Forbid",
                    "suspend": False,
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": job_template,
                },
                "status": status,
            }
        )

    # the rest

    def service(self, namespace: str, name: str, port: int, target: int = 8080, *, headless: bool = False) -> None:
        digits = sum(map(ord, namespace + name))
        self.lists[(namespace, "services")].append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": self.meta("Service", namespace, name, 50_000, labels={"app.kubernetes.io/name": name}),
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "None" if headless else f"172.20.{digits % 250}.{digits % 97 + 10}",
                    "selector": {"app.kubernetes.io/name": name.removesuffix("-headless")},
                    "ports": [{"name": "http", "port": port, "targetPort": target, "protocol": "TCP"}],
                    "sessionAffinity": "None",
                    "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                },
                "status": {"loadBalancer": {}},
            }
        )

    def ingress(
        self,
        namespace: str,
        name: str,
        ingress_class: str,
        host: str,
        service: str,
        port: int,
        annotations: dict[str, str],
    ) -> None:
        self.lists[(namespace, "ingresses")].append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": self.meta("Ingress", namespace, name, 45_000, annotations=annotations),
                "spec": {
                    "ingressClassName": ingress_class,
                    "tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
                    "rules": [
                        {
                            "host": host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {"service": {"name": service, "port": {"number": port}}},
                                    }
                                ]
                            },
                        }
                    ],
                },
                "status": {"loadBalancer": {"ingress": [{"hostname": f"k8s-{ingress_class}-{namespace}.elb.example"}]}},
            }
        )

    def claim(self, namespace: str, name: str, storage: str, storage_class: str, age_min: float) -> None:
        self.lists[(namespace, "persistentvolumeclaims")].append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": self.meta(
                    "PersistentVolumeClaim",
                    namespace,
                    name,
                    age_min,
                    annotations={"volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"},
                ),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": storage}},
                    "volumeMode": "Filesystem",
                },
                "status": {"phase": "Pending"},
            }
        )

    def configmap(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.lists[(namespace, "configmaps")].append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": self.meta("ConfigMap", namespace, name, 20_000, labels={"app.kubernetes.io/name": name}),
                "data": data,
            }
        )

    def event(self, namespace: str, e: Event) -> None:
        if e.kind == "Node":
            involved = {"kind": "Node", "name": e.name, "uid": self.uid("Node", "_cluster", e.name)}
        else:
            api = {"Pod": "v1", "PersistentVolumeClaim": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}
            involved = {
                "kind": e.kind,
                "namespace": namespace,
                "name": e.name,
                "uid": self.uid(e.kind, namespace, e.name),
                "apiVersion": api.get(e.kind, "apps/v1"),
            }
        if e.field_path:
            involved["fieldPath"] = e.field_path
        event_id = uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{e.name}/{e.reason}/{e.message}").hex[:16]
        source: Json = {"component": e.component}
        if e.host:
            source["host"] = e.host
        meta = self.meta("Event", namespace, f"{e.name}.{event_id}", e.first_min)
        self.lists[(namespace, "events")].append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": meta,
                "involvedObject": involved,
                "reason": e.reason,
                "message": e.message,
                "source": source,
                "firstTimestamp": at(e.first_min),
                "lastTimestamp": at(e.last_min),
                "count": e.count,
                "type": e.type,
                "eventTime": None,
                "reportingComponent": e.component,
                "reportingInstance": e.host or "",
            }
        )

    # output

    def write(self, root: Path, failures: str) -> None:
        folder = root / self.context
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        dump(folder / "nodes.json", "v1", "NodeList", self.nodes)
        for namespace in self.namespaces:
            (folder / namespace).mkdir()
            for file, (api, kind) in FILES.items():
                items = sorted(
                    self.lists.get((namespace, file), []),
                    key=lambda o: (o["metadata"]["creationTimestamp"], o["metadata"]["name"]),
                )
                dump(folder / namespace / f"{file}.json", api, kind, items)
        for (namespace, relative), text in sorted(self.logs.items()):
            path = folder / namespace / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (folder / "FAILURES.md").write_text(failures.strip() + "\n", encoding="utf-8")


def dump(path: Path, api: str, kind: str, items: list[Json]) -> None:
    body = {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "4893771"}, "items": items}
    path.write_text(json.dumps(body, indent=4) + "\n", encoding="utf-8")


def json_log(minutes_ago: float, level: str, message: str, **fields: object) -> str:
    entry = {"ts": log_time(minutes_ago), "level": level, "msg": message} | fields
    return json.dumps(entry, separators=(",", ":"))


def healthy_logs(service: str, age_min: float, port: int = 8080) -> list[str]:
    return [
        json_log(age_min - 0.4, "info", "configuration loaded", service=service),
        json_log(age_min - 0.3, "info", "listening", addr=f":{port}"),
        json_log(3, "info", "request served", method="GET", path="/ready", status=200, duration_ms=1),
    ]
