"""Which clusters an organization has: a YAML file (``AIOPS_CLUSTERS_FILE``) read once at start-up.

```yaml
clusters:
  - org: northwind
    name: northwind-prod              # the context name used in source ids
    kubeconfig: /etc/aiops/northwind.kubeconfig   # a read-only service account (get/list/watch, pods/log)
    context: northwind-prod           # default: the kubeconfig's current context
    namespaces: [shop, payments]      # the only namespaces the assistant may read; empty: every namespace
    sync_interval_s: 600              # re-ingest on this schedule inside the service; 0: never
    prometheus_url: http://prometheus.monitoring:9090   # the cluster's Prometheus (read-only HTTP API)
  - org: orbital
    name: orbital-prod
    dump: /srv/dumps/orbital-prod     # or an offline `kubectl cluster-info dump --output-directory` folder
```
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigurationError
from index.tenancy import validate_org
from ingest.cluster.kinds import validate_label
from ingest.cluster.readers import ClusterReader, open_reader


class ClusterConfig(BaseModel):
    """One cluster of one organization."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org: str
    name: str  # what source ids call the cluster (cluster/<name>/...), whatever its kubeconfig context is named
    kubeconfig: Path | None = None
    context: str | None = None
    dump: Path | None = None
    namespaces: tuple[str, ...] = ()
    sync_interval_s: int = Field(default=0, ge=0)
    prometheus_url: str | None = Field(default=None, pattern=r"^https?://", description="The cluster's Prometheus.")
    prometheus_namespace_label: str = Field(default="namespace", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")

    @field_validator("org")
    @classmethod
    def _org(cls, value: str) -> str:
        return validate_org(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_label(value, "cluster name")

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({validate_label(ns) for ns in value}))

    @model_validator(mode="after")
    def _one_source(self) -> ClusterConfig:
        if (self.kubeconfig is None) == (self.dump is None):
            raise ValueError(f"cluster {self.name}: give exactly one of kubeconfig or dump")
        return self

    def allows(self, namespace: str) -> bool:
        """True when the organization lets the assistant read this namespace of the cluster."""
        return not self.namespaces or namespace in self.namespaces

    def reader(self, timeout_s: float = 10.0) -> ClusterReader:
        """A reader of this cluster (the caller closes it)."""
        return open_reader(
            dump=self.dump, kubeconfig=self.kubeconfig, context=self.context, timeout_s=timeout_s, name=self.name
        )


class Clusters:
    """Every configured cluster, looked up by organization."""

    def __init__(self, clusters: list[ClusterConfig] | None = None) -> None:
        self.all = list(clusters or [])
        names = [(c.org, c.name) for c in self.all]
        if len(set(names)) != len(names):
            raise ConfigurationError("a cluster name is configured twice for one organization")

    @classmethod
    def load(cls, path: Path | None) -> Clusters:
        """From the YAML file (none configured: no clusters)."""
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            base = path.parent
            items = [_relative_to(dict(item), base) for item in data.get("clusters") or []]
            return cls([ClusterConfig.model_validate(item) for item in items])
        except (OSError, yaml.YAMLError, AttributeError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the clusters file {path}: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"invalid clusters file {path}: {problems}") from exc

    def of(self, org: str) -> list[ClusterConfig]:
        """The organization's clusters."""
        return [c for c in self.all if c.org == org]

    def find(self, org: str, name: str | None) -> ClusterConfig | None:
        """The organization's cluster of that name (or its only cluster when no name is given)."""
        mine = self.of(org)
        if name is None:
            return mine[0] if len(mine) == 1 else None
        return next((c for c in mine if c.name == name), None)


def _relative_to(item: dict[str, object], base: Path) -> dict[str, object]:
    """Paths in the file are relative to the file's folder."""
    for key in ("kubeconfig", "dump"):
        value = item.get(key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            item[key] = str((base / value).resolve())
    return item
