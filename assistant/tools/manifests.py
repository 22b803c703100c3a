"""Kubernetes manifests for a described workload (Deployment, Service, Ingress, HPA, PDB, CronJob), filled from the
organization's conventions (assistant.tools.conventions) and checked by assistant.tools.policy before anyone sees
them. Nothing here talks to a cluster: generated YAML is never applied."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from assistant.tools.conventions import Conventions

Kind = Literal["Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob"]
_IDENTITY = {"service", "app", "name", "component"}
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


def _web_service() -> list[Kind]:
    return ["Deployment", "Service"]


class Workload(BaseModel):
    """What the caller describes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_DNS_LABEL)
    namespace: str = Field(pattern=_DNS_LABEL)
    image: str = Field(max_length=300, pattern=r"^[a-z0-9][a-z0-9./_:@-]*$", description="repository:tag")
    kinds: list[Kind] = Field(default_factory=_web_service, min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    replicas: int | None = Field(default=None, ge=0, le=1000)
    cpu: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    memory: str | None = Field(default=None, pattern=r"^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$")
    host: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="Ingress host")
    schedule: str | None = Field(default=None, max_length=100, description="CronJob schedule (5 fields)")
    command: list[str] | None = Field(default=None, max_length=20)
    labels: dict[str, str] = Field(default_factory=dict, max_length=20)
    min_replicas: int | None = Field(default=None, ge=1, le=1000)
    max_replicas: int | None = Field(default=None, ge=1, le=1000)


def render(w: Workload, c: Conventions) -> list[dict[str, Any]]:
    """The manifests asked for, in a stable order."""
    builders = {
        "Deployment": _deployment,
        "Service": _service,
        "Ingress": _ingress,
        "HorizontalPodAutoscaler": _hpa,
        "PodDisruptionBudget": _pdb,
        "CronJob": _cronjob,
    }
    return [builders[kind](w, c) for kind in builders if kind in w.kinds]


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream."""
    return yaml.safe_dump_all(manifests, sort_keys=False, default_flow_style=False)


def _meta(w: Workload, c: Conventions, name: str | None = None) -> dict[str, Any]:
    return {"name": name or w.name, "namespace": w.namespace, "labels": _labels(w, c)}


def _labels(w: Workload, c: Conventions) -> dict[str, str]:
    required = [k.removeprefix("labels.") for k in c.values if k.startswith("labels.")]
    labels = {"app.kubernetes.io/name": w.name, "app.kubernetes.io/part-of": w.namespace}
    for key in required:  # an identity label names the workload; the others are the caller's (the policy reports gaps)
        value = w.name if key.rsplit("/", 1)[-1] in _IDENTITY else w.labels.get(key)
        if value:
            labels[key] = value
    labels.update({k: v for k, v in w.labels.items() if k not in labels})
    return labels


def _port(w: Workload, c: Conventions) -> int:
    return int(w.port or c.get("containerPort") or c.get("port") or 8080)


def _resources(w: Workload, c: Conventions) -> dict[str, Any]:
    cpu = w.cpu or c.get("resources.requests.cpu") or "100m"
    memory = w.memory or c.get("resources.requests.memory") or "256Mi"
    limits: dict[str, str] = {
        "memory": memory
        if "memory_limit_equals_request" in c.rules
        else str(c.get("resources.limits.memory") or memory)
    }
    if "no_cpu_limit" not in c.rules and c.get("resources.limits.cpu"):
        limits["cpu"] = str(c.get("resources.limits.cpu"))
    return {"requests": {"cpu": str(cpu), "memory": str(memory)}, "limits": limits}


def _probe(path: str, port: int, period: Any, failure: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": int(period), "failureThreshold": failure}


def _container(w: Workload, c: Conventions, job: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": w.name,
        "image": w.image,
        "resources": _resources(w, c),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if w.command:
        container["command"] = list(w.command)
    if not job:
        port = _port(w, c)
        container["ports"] = [{"name": "http", "containerPort": port}]
        container["readinessProbe"] = _probe(
            str(c.get("probes.readiness.path") or "/ready"), port, c.get("probes.readiness.periodSeconds", 10), 3
        )
        container["livenessProbe"] = _probe(
            str(c.get("probes.liveness.path") or "/healthz"), port, c.get("probes.liveness.periodSeconds", 10), 6
        )
        if c.get("probes.startup.path"):
            container["startupProbe"] = _probe(str(c.get("probes.startup.path")), port, 5, 36)
    return container


def _pod(w: Workload, c: Conventions, job: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_container(w, c, job)],
    }
    if job:
        spec["restartPolicy"] = "OnFailure"
    return {"metadata": {"labels": _labels(w, c)}, "spec": spec}


def _deployment(w: Workload, c: Conventions) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": _pod(w, c),
    }
    if "HorizontalPodAutoscaler" not in w.kinds:  # with an HPA, the HPA owns the replica count
        spec["replicas"] = int(w.replicas if w.replicas is not None else c.get("replicas") or 2)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(w, c), "spec": spec}


def _service(w: Workload, c: Conventions) -> dict[str, Any]:
    spec = {
        "selector": {"app.kubernetes.io/name": w.name},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(w, c), "spec": spec}


def _ingress(w: Workload, c: Conventions) -> dict[str, Any]:
    host = w.host or f"{w.name}.example.internal"
    meta = _meta(w, c)
    annotations = c.get("ingress.annotations")
    if isinstance(annotations, dict):
        meta["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    backend = {"service": {"name": w.name, "port": {"name": "http"}}}
    spec: dict[str, Any] = {
        "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
        "tls": [{"hosts": [host], "secretName": f"{w.name}-tls"}],
    }
    if c.get("ingress.className"):
        spec["ingressClassName"] = str(c.get("ingress.className"))
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _hpa(w: Workload, c: Conventions) -> dict[str, Any]:
    low = int(w.min_replicas or c.get("autoscaling.minReplicas") or 2)
    high = int(w.max_replicas or c.get("autoscaling.maxReplicas") or max(low * 3, 4))
    target = int(c.get("autoscaling.defaultTarget") or c.get("autoscaling.targetCPUUtilizationPercentage") or 70)
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
    }
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
        "minReplicas": low,
        "maxReplicas": high,
        "metrics": [metric],
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(w, c), "spec": spec}


def _pdb(w: Workload, c: Conventions) -> dict[str, Any]:
    minimum = str(c.get("pdb.minAvailable") or "50%")
    spec = {"minAvailable": minimum, "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}}}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(w, c), "spec": spec}


def _cronjob(w: Workload, c: Conventions) -> dict[str, Any]:
    job = {"backoffLimit": 2, "activeDeadlineSeconds": 3600, "template": _pod(w, c, job=True)}
    spec = {
        "schedule": w.schedule or "0 3 * * *",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": job},
    }
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(w, c), "spec": spec}
