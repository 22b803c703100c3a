"""The golden-set format: cases of questions with the sources and facts a good answer must rest on."""

from __future__ import annotations

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


def load_cases(path: Path) -> list[GoldenCase]:
    """The cases of a YAML file or of every YAML file in a folder; InvalidInputError names the bad case."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    cases: list[GoldenCase] = []
    for file in files:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{file}: invalid YAML: {exc}") from exc
        if not isinstance(raw, list):
            raise InvalidInputError(f"{file}: a golden set is a YAML list of cases")
        for n, item in enumerate(raw):
            try:
                cases.append(GoldenCase.model_validate(item))
            except ValidationError as exc:
                ident = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
                raise InvalidInputError(f"{file}: case {ident}: {exc.errors()[0]['msg']}") from exc
    return cases
