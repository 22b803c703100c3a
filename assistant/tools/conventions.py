"""An organization's deployment conventions, read from its own docs: the values and manifest examples in their YAML
blocks (resources, probes, labels, autoscaling, ports) and the rules their text states ("memory limit equals the
request", "no CPU limit", "a PodDisruptionBudget with minAvailable 50%"). Each convention keeps the source it came
from, so a generated manifest can cite why it looks the way it does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_FENCE = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_RULES: dict[str, re.Pattern[str]] = {
    "memory_limit_equals_request": re.compile(
        r"memory[^.\n]{0,80}limit[^.\n]{0,40}(equals?|same value as|= ?)[^.\n]{0,40}request", re.I
    ),
    "no_cpu_limit": re.compile(r"cpu[^.\n]{0,20}request,? no limit|no cpu limits?|do not set a cpu limit", re.I),
    "run_as_non_root": re.compile(r"runAsNonRoot|run as non-?root|must not run as root", re.I),
    "requests_required": re.compile(r"must declare (cpu and memory )?requests|explicit (resource )?values", re.I),
}
_PDB = re.compile(r"PodDisruptionBudget with `?minAvailable: ?([0-9]+%?)`?", re.I)
_HPA_TARGET = re.compile(r"default target is \*{0,2}(\d+)% CPU", re.I)


@dataclass
class Conventions:
    """What the docs say a workload should look like, and where they say it."""

    values: dict[str, Any] = field(default_factory=dict)  # e.g. resources.requests.cpu -> 250m
    rules: dict[str, str] = field(default_factory=dict)  # rule -> source id that states it
    sources: dict[str, str] = field(default_factory=dict)  # value key -> source id

    def get(self, key: str, default: Any = None) -> Any:
        """A convention value by dotted key."""
        return self.values.get(key, default)

    def to_json(self) -> dict[str, Any]:
        """As the tool receives it."""
        return {"values": self.values, "rules": self.rules, "sources": self.sources}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Conventions:
        """From the tool's arguments."""
        data = data or {}
        return cls(dict(data.get("values") or {}), dict(data.get("rules") or {}), dict(data.get("sources") or {}))


_WANTED = (
    "resources.requests.cpu",
    "resources.requests.memory",
    "resources.limits.memory",
    "resources.limits.cpu",
    "probes.readiness.path",
    "probes.liveness.path",
    "probes.startup.path",
    "probes.readiness.periodSeconds",
    "probes.liveness.periodSeconds",
    "containerPort",
    "port",
    "replicas",
    "autoscaling.minReplicas",
    "autoscaling.maxReplicas",
    "autoscaling.targetCPUUtilizationPercentage",
    "ingress.className",
    "ingress.annotations",
)


def extract(documents: list[tuple[str, str]]) -> Conventions:
    """The conventions stated in ``(source id, text)`` documents, the first statement of each winning."""
    found = Conventions()
    for source_id, text in documents:
        for block in _FENCE.findall(text):
            for key, value in _flatten(_load(block)).items():
                if key.startswith("labels.") or key in _WANTED:
                    found.values.setdefault(key, value)
                    found.sources.setdefault(key, source_id)
        for rule, pattern in _RULES.items():
            if pattern.search(text):
                found.rules.setdefault(rule, source_id)
        if (pdb := _PDB.search(text)) and "pdb.minAvailable" not in found.values:
            found.values["pdb.minAvailable"], found.sources["pdb.minAvailable"] = pdb.group(1), source_id
        if (target := _HPA_TARGET.search(text)) and "autoscaling.defaultTarget" not in found.values:
            found.values["autoscaling.defaultTarget"] = int(target.group(1))
            found.sources["autoscaling.defaultTarget"] = source_id
    return found


def _load(block: str) -> Any:
    try:
        return yaml.safe_load(block)
    except yaml.YAMLError:
        return None


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not dotted.endswith("annotations"):
            flat.update(_flatten(value, dotted + "."))
        elif isinstance(value, str | int | float | bool | dict):
            flat[dotted] = value
    return flat
