"""ragas metrics (placeholder until the offline pins are settled)."""

from __future__ import annotations

from typing import Any

from core.settings import Settings


class RagasScorer:
    def __init__(self, settings: Settings, judge: str | None) -> None:
        self.not_computed: dict[str, str] = {}

    def __call__(self, case: Any, result: Any, index: Any) -> dict[str, float | None]:
        return {}
