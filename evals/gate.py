"""The CI gate: a committed subset of the golden sets and the floors its metrics must stay at or above.

A gate file (YAML, paths relative to it)::

    set: ../corpora/evals        # file or folder of golden cases
    every: 2                     # every 2nd case of each organization ...
    always: [unanswerable]       # ... and every case with one of these tags
    mode: hybrid
    max_leaks: 0
    floors:                      # tag (or all) -> metric -> lowest acceptable mean
      all: {hit@5: 0.9, citation_validity: 1.0}

A floor whose metric was not measured fails: a gate must not pass because nothing was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidInputError
from index.records import SearchMode


class Gate(BaseModel):
    """A gate file's content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set: Path
    every: int = Field(default=1, ge=1)
    always: tuple[str, ...] = ()
    mode: SearchMode = "hybrid"
    max_leaks: int = Field(default=0, ge=0)
    floors: dict[str, dict[str, float]] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path) -> Gate:
        """The gate of a file, its set resolved against the file's folder."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            gate = cls.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInputError(f"cannot read the gate {path}: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInputError(f"invalid gate {path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
        return gate.model_copy(update={"set": (path.parent / gate.set).resolve()})


@dataclass(frozen=True)
class Check:
    """One floor (or the leak ceiling) against the run's value."""

    scope: str
    metric: str
    value: float | None
    limit: float
    ok: bool

    def __str__(self) -> str:
        found = "not measured" if self.value is None else f"{self.value:.4g}"
        relation = "<=" if self.metric in ("leaks", "errors") else ">="
        return f"{self.scope} {self.metric} = {found} (needs {relation} {self.limit:g}): {'ok' if self.ok else 'FAIL'}"


def check(gate: Gate, report: Mapping[str, Any]) -> list[Check]:
    """Every floor of the gate against the report's mode; plus the leak ceiling."""
    mode = report["modes"].get(gate.mode)
    if mode is None:
        raise InvalidInputError(f"the report has no {gate.mode} run to gate")
    summary = mode["summary"]
    checks = []
    for scope, floors in gate.floors.items():
        means = summary.get(scope, {}).get("means", {})
        for metric, floor in floors.items():
            value = means.get(metric)
            checks.append(Check(scope, metric, value, floor, value is not None and value >= floor - 1e-9))
    leaks = summary["all"]["leaks"]
    checks.append(Check("all", "leaks", float(leaks), float(gate.max_leaks), leaks <= gate.max_leaks))
    checks.append(Check("all", "errors", float(mode["errors"]), 0.0, mode["errors"] == 0))
    return checks
