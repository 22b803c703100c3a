"""The golden-set format: cases of questions with the sources and facts a good answer must rest on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InvalidInputError

KIND_TAGS = {
    "lookup",
    "paraphrase",
    "troubleshooting",
    "incident-recall",
    "multi-source",
    "cluster",
    "unanswerable",
    "cross-tenant",
    "multi-turn",
}
SOURCE_TAGS = {"doc", "runbook", "incident", "cluster"}


class GoldenCase(BaseModel):
    """One question asked as one organization, with what a correct answer rests on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    org: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    question: str = Field(min_length=3)
    history: list[str] = Field(default_factory=list)
    answerable: bool
    expected_sources: list[str] = Field(default_factory=list)
    expected_facts: list[str] = Field(default_factory=list)
    reference: str | None = Field(
        default=None, min_length=3, description="A correct answer in a person's words (similarity and judged metrics)."
    )
    tags: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> GoldenCase:
        unknown = set(self.tags) - KIND_TAGS - SOURCE_TAGS
        if unknown:
            raise ValueError(f"unknown tags {sorted(unknown)}")
        if not set(self.tags) & KIND_TAGS:
            raise ValueError(f"needs one kind tag of {sorted(KIND_TAGS)}")
        if self.answerable and not self.expected_sources:
            raise ValueError("an answerable case needs expected_sources")
        if not self.answerable and (self.expected_sources or self.expected_facts or self.reference):
            raise ValueError("an unanswerable case has no expected sources, facts or reference")
        if "multi-turn" in self.tags and not self.history:
            raise ValueError("a multi-turn case needs history")
        return self


@dataclass(frozen=True)
class CaseProblem:
    """A case (or a whole file) that cannot be run, and why."""

    case_id: str  # the case's id, or #<position> when it has none; * for the whole file
    file: str  # empty when the problem is not the file's (an expected source missing from the index)
    reason: str

    def __str__(self) -> str:
        return f"{self.file + ': ' if self.file else ''}case {self.case_id}: {self.reason}"


def read_cases(path: Path) -> tuple[list[GoldenCase], list[CaseProblem]]:
    """The valid cases of a YAML file or of every YAML file in a folder, and the problems of the others (a
    malformed case, a repeated id, an unreadable file): one bad case never hides the rest."""
    if not path.exists():
        raise InvalidInputError(f"no golden set at {path}")
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise InvalidInputError(f"{path}: no *.yaml golden set in the folder")
    cases: list[GoldenCase] = []
    problems: list[CaseProblem] = []
    seen: set[str] = set()
    for file in files:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(CaseProblem("*", str(file), f"cannot read the file: {' '.join(str(exc).split())}"))
            continue
        if not isinstance(raw, list):
            problems.append(CaseProblem("*", str(file), "a golden set is a YAML list of cases"))
            continue
        for n, item in enumerate(raw):
            ident = str(item.get("id") or f"#{n}") if isinstance(item, dict) else f"#{n}"
            try:
                case = GoldenCase.model_validate(item)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(map(str, first["loc"]))
                message = str(first["msg"]).removeprefix("Value error, ")
                problems.append(CaseProblem(ident, str(file), f"{where + ': ' if where else ''}{message}"))
                continue
            if case.id in seen:
                problems.append(CaseProblem(case.id, str(file), "the id is used by an earlier case"))
                continue
            seen.add(case.id)
            cases.append(case)
    return cases, problems


def load_cases(path: Path) -> list[GoldenCase]:
    """The cases of a YAML file or of every YAML file in a folder; InvalidInputError names the first bad case."""
    cases, problems = read_cases(path)
    if problems:
        raise InvalidInputError(str(problems[0]))
    return cases
