"""Generated (or drafted) manifests checked before they are shown: the YAML parses, each document deserializes into
the official Kubernetes client's model of its kind with no field the API would not know, and a policy check reports
what the organization's conventions and common practice require and the manifest misses."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from assistant.tools.conventions import Conventions

MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("v1", "Service"): "V1Service",
    ("networking.k8s.io/v1", "Ingress"): "V1Ingress",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("batch/v1", "CronJob"): "V1CronJob",
    ("batch/v1", "Job"): "V1Job",
}
_PRIMITIVE = {"str", "int", "bool", "float", "object", "datetime", "date"}
_CRON = re.compile(r"^(@(yearly|annually|monthly|weekly|daily|hourly))$|^(\S+\s+){4}\S+$")


@dataclass(frozen=True)
class Check:
    """One finding of the validator."""

    rule: str
    severity: str  # error | warning
    ok: bool
    message: str
    object: str = ""
    source: str | None = None  # the doc that states the convention


class _Raw:
    """What ApiClient.deserialize reads: a response body."""

    def __init__(self, data: Any) -> None:
        self.data = json.dumps(data)


def validate(text: str, conventions: Conventions | None = None) -> dict[str, Any]:
    """The report on a YAML stream of manifests."""
    c = conventions or Conventions()
    checks: list[Check] = []
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        checks.append(Check("yaml", "error", False, f"the YAML does not parse: {exc}"))
        return _report([], checks)
    listed = []
    for doc in documents:
        if not isinstance(doc, dict):
            checks.append(Check("yaml", "error", False, "a document is not a mapping"))
            continue
        ref = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        listed.append({"kind": doc.get("kind"), "name": (doc.get("metadata") or {}).get("name")})
        checks += _schema(doc, ref)
        checks += _policy(doc, ref, c, documents)
    return _report(listed, checks)


def _report(documents: list[dict[str, Any]], checks: list[Check]) -> dict[str, Any]:
    failed = [ch for ch in checks if not ch.ok]
    return {
        "valid": not any(ch.severity == "error" for ch in failed),
        "documents": documents,
        "errors": sum(ch.severity == "error" for ch in failed),
        "warnings": sum(ch.severity == "warning" for ch in failed),
        "checks": [asdict(ch) for ch in checks],
    }


# -- schema ----------------------------------------------------------------------------------------------------------


def _schema(doc: dict[str, Any], ref: str) -> list[Check]:
    from kubernetes import client

    model = MODELS.get((str(doc.get("apiVersion")), str(doc.get("kind"))))
    if model is None:
        return [
            Check(
                "schema", "error", False, f"unsupported apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}", ref
            )
        ]
    unknown = _unknown(doc, model, "")
    api = client.ApiClient()
    try:
        api.deserialize(_Raw(doc), model)
        problem = None
    except (ValueError, TypeError, AttributeError) as exc:
        problem = str(exc)
    finally:
        api.close()
    checks = [Check("schema", "error", problem is None, problem or f"deserializes into {model}", ref)]
    checks += [Check("schema", "error", False, f"{path}: unknown field", ref) for path in unknown]
    return checks


def _unknown(data: Any, type_name: str, path: str) -> list[str]:
    """Paths of fields the client's models do not know (a typo such as `resorces` is silently dropped by them)."""
    from kubernetes import client

    if type_name.startswith("list[") and isinstance(data, list):
        inner = type_name[5:-1]
        return [p for i, item in enumerate(data) for p in _unknown(item, inner, f"{path}[{i}]")]
    if type_name.startswith("dict(") or type_name in _PRIMITIVE or not isinstance(data, dict):
        return []
    cls = getattr(client, type_name, None)
    if cls is None:
        return []
    by_json = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    found = []
    for key, value in data.items():
        if key not in by_json:
            found.append(f"{path}.{key}".lstrip("."))
        else:
            found += _unknown(value, cls.openapi_types[by_json[key]], f"{path}.{key}".lstrip("."))
    return found


# -- policy ----------------------------------------------------------------------------------------------------------


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    return (template or {}).get("spec") if isinstance(template, dict) else None


def _policy(doc: dict[str, Any], ref: str, c: Conventions, documents: list[Any]) -> list[Check]:
    checks = _labels(doc, ref, c)
    pod = _pod_spec(doc)
    if pod is not None:
        checks += _pod_checks(doc, pod, ref, c)
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Deployment" and "replicas" in spec:
        checks.append(Check("replicas", "warning", int(spec["replicas"]) >= 2, "at least 2 replicas", ref))
    if kind == "HorizontalPodAutoscaler":
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
        checks.append(Check("hpa-range", "error", 1 <= low <= high, f"minReplicas {low} <= maxReplicas {high}", ref))
        target = (spec.get("scaleTargetRef") or {}).get("name")
        names = {(d.get("metadata") or {}).get("name") for d in documents if isinstance(d, dict)}
        checks.append(Check("hpa-target", "warning", target in names, f"scales {target}, generated with it", ref))
    if kind == "PodDisruptionBudget":
        blocking = str(spec.get("minAvailable")) == "100%" or str(spec.get("maxUnavailable")) in ("0", "0%")
        checks.append(
            Check(
                "pdb",
                "error",
                not blocking,
                "allows at least one disruption (node drains)",
                ref,
                c.sources.get("pdb.minAvailable"),
            )
        )
    if kind == "CronJob":
        schedule = str(spec.get("schedule", ""))
        checks.append(Check("cron", "error", bool(_CRON.match(schedule)), f"schedule {schedule!r} has 5 fields", ref))
        checks.append(Check("cron-concurrency", "warning", "concurrencyPolicy" in spec, "concurrencyPolicy set", ref))
    if kind == "Ingress":
        checks.append(Check("ingress-tls", "warning", bool(spec.get("tls")), "serves TLS", ref))
    return checks


def _labels(doc: dict[str, Any], ref: str, c: Conventions) -> list[Check]:
    labels = ((doc.get("metadata") or {}).get("labels")) or {}
    checks = [Check("labels", "warning", "app.kubernetes.io/name" in labels, "label app.kubernetes.io/name", ref)]
    for key in sorted(k.removeprefix("labels.") for k in c.values if k.startswith("labels.")):
        checks.append(
            Check("org-labels", "error", bool(labels.get(key)), f"label {key} set", ref, c.sources.get(f"labels.{key}"))
        )
    return checks


def _pod_checks(doc: dict[str, Any], pod: dict[str, Any], ref: str, c: Conventions) -> list[Check]:
    checks: list[Check] = []
    non_root = bool((pod.get("securityContext") or {}).get("runAsNonRoot"))
    for container in pod.get("containers") or []:
        where = f"{ref} container {container.get('name')}"
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        image = str(container.get("image", ""))
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        checks += [
            Check(
                "requests",
                "error",
                bool(requests.get("cpu") and requests.get("memory")),
                "cpu and memory requests",
                where,
                c.rules.get("requests_required"),
            ),
            Check(
                "image-tag",
                "error",
                bool(tag) and tag != "latest" or "@sha256:" in image,
                f"image {image} pinned to a tag other than latest",
                where,
            ),
            Check(
                "non-root",
                "error",
                non_root or bool((container.get("securityContext") or {}).get("runAsNonRoot")),
                "runs as non-root (runAsNonRoot)",
                where,
                c.rules.get("run_as_non_root"),
            ),
        ]
        if "memory_limit_equals_request" in c.rules:
            equal = bool(limits.get("memory")) and limits.get("memory") == requests.get("memory")
            checks.append(
                Check(
                    "memory-limit",
                    "error",
                    equal,
                    "memory limit equals the request",
                    where,
                    c.rules["memory_limit_equals_request"],
                )
            )
        if "no_cpu_limit" in c.rules:
            checks.append(
                Check(
                    "cpu-limit",
                    "warning",
                    "cpu" not in limits,
                    "no CPU limit (throttling)",
                    where,
                    c.rules["no_cpu_limit"],
                )
            )
        if doc.get("kind") in ("Deployment", "StatefulSet"):
            for probe in ("readinessProbe", "livenessProbe"):
                checks.append(
                    Check(
                        "probes",
                        "error" if probe == "readinessProbe" else "warning",
                        probe in container,
                        f"{probe} defined",
                        where,
                    )
                )
    return checks
