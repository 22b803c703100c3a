"""A workload described in a question ("write a Deployment and a Service for a service called loyalty in namespace
shop, image ghcr.io/acme/loyalty:1.4.2, port 8080"), read into the configuration tool's arguments."""

from __future__ import annotations

import re
from typing import Any

_ASKS = re.compile(
    r"\b(generate|write|create|draft|give me|make|scaffold)\b.{0,80}\b(manifests?|yaml|deployment|cronjob|cron job|"
    r"hpa|autoscaler|pdb|disruption budget|ingress|service)\b",
    re.I | re.S,
)
_NAME = (
    re.compile(r"\b(?:called|named)\s+[`'\"]?([a-z0-9][-a-z0-9]{0,61}[a-z0-9])", re.I),
    re.compile(r"\bfor (?:the |a |our )?[`'\"]?([a-z0-9][-a-z0-9]{0,61}[a-z0-9])[`'\"]? (?:service|app|job|worker)\b"),
    re.compile(r"\bfor [`'\"]?(?!(?:a|an|the|our|my)\b)([a-z0-9][-a-z0-9]{0,61}[a-z0-9])[`'\"]? (?:in|with|using)\b"),
)
_NAMESPACE = (
    re.compile(r"\bin (?:the )?[`'\"]?([a-z0-9][-a-z0-9]{0,61}[a-z0-9])[`'\"]? namespace\b", re.I),
    re.compile(r"\bnamespace\s+[`'\"]?(?!(?:with|and|for|using|image)\b)([a-z0-9][-a-z0-9]{0,61}[a-z0-9])", re.I),
)
_IMAGE = re.compile(r"(?<![\w/])([a-z0-9][a-z0-9.-]*(?::\d+)?(?:/[a-z0-9._-]+)+:[A-Za-z0-9._-]+)")
_PORT = re.compile(r"\bport\s+(\d{2,5})\b", re.I)
_HOST = re.compile(r"\bhost(?:name)?\s+[`'\"]?([a-z0-9][-a-z0-9.]*\.[a-z]{2,})", re.I)
_SCHEDULE = re.compile(r"\b(?:schedule|cron)\s+[`'\"]([^`'\"]{9,60})[`'\"]", re.I)
_KINDS = (
    ("Deployment", re.compile(r"\bdeployment\b", re.I)),
    ("Service", re.compile(r"\bservice\b(?! called| named)", re.I)),
    ("Ingress", re.compile(r"\bingress\b", re.I)),
    ("HorizontalPodAutoscaler", re.compile(r"\b(hpa|autoscal\w*|horizontalpodautoscaler)\b", re.I)),
    ("PodDisruptionBudget", re.compile(r"\b(pdb|disruption budget|poddisruptionbudget)\b", re.I)),
    ("CronJob", re.compile(r"\b(cron ?job|scheduled job|schedule)\b", re.I)),
)


def asks_for_manifests(question: str) -> bool:
    """The question asks for Kubernetes manifests to be written."""
    return _ASKS.search(question) is not None


def workload(question: str, namespace: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The tool's arguments read from the question, and what is missing to generate them."""
    found: dict[str, Any] = {}
    for key, patterns in (("name", _NAME), ("namespace", _NAMESPACE)):
        for pattern in patterns:
            if match := pattern.search(question):
                found[key] = match.group(1).lower()
                break
    found.setdefault("namespace", namespace)
    if match := _IMAGE.search(question):
        found["image"] = match.group(1)
    for key, pattern, cast in (("port", _PORT, int), ("host", _HOST, str), ("schedule", _SCHEDULE, str)):
        if match := pattern.search(question):
            found[key] = cast(match.group(1))
    kinds = [kind for kind, pattern in _KINDS if pattern.search(question)]
    if "CronJob" in kinds:
        kinds = [k for k in kinds if k not in ("Deployment", "Service")] or ["CronJob"]
    elif kinds and "Deployment" not in kinds:  # a Service, HPA, PDB or Ingress is for a Deployment
        kinds = ["Deployment", *kinds]
    found["kinds"] = kinds or ["Deployment", "Service"]
    missing = [k for k in ("name", "namespace", "image") if not found.get(k)]
    return {k: v for k, v in found.items() if v is not None}, missing
