"""The extractive provider: no model; the answer is the sources' own sentences, steps and commands, each cited.

It splits every source into units (sentences, list items, table rows, code blocks), scores each unit by the
question's words it holds (weighted by how rare they are among the units), the retrieval score of its source and,
for troubleshooting questions, whether it sits in a diagnosis or mitigation section; then it composes the best
units, grouped by source in document order. Deterministic: the same sources and question give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.providers.base import Delta, GenerationRequest, Provider
from assistant.providers.live import compose_troubleshooting
from assistant.providers.registry import register
from assistant.providers.units import compose, select_units
from core.settings import Settings


class ExtractiveProvider(Provider):
    """Answers from the sources' own words; never calls a model."""

    generative = False

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """The composed answer as one piece: live cluster evidence first (when tools ran), then the documents."""
        live = [s for s in request.sources if s.field("live")]
        documents = [s for s in request.sources if not s.field("live")]
        if live:
            yield Delta(compose_troubleshooting(request.question, live, documents))
            return
        units = select_units(request.question, documents, request.history)
        yield Delta(compose(request.question, units) if units else "")


@register("extractive")
def _extractive(settings: Settings) -> Provider:
    return ExtractiveProvider("extractive")
