"""The provider interface: one abstract method that streams the answer's text for a request."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from assistant.answers import Workspace
from assistant.context import ContextSource
from assistant.prompting import Turn


@dataclass(frozen=True)
class GenerationRequest:
    """What a provider answers from: the question, its numbered sources and the prompt built on them."""

    org: str
    question: str
    sources: Sequence[ContextSource]
    messages: Sequence[Turn]
    history: Sequence[str] = ()
    workspace: Workspace | None = None


@dataclass(frozen=True)
class Delta:
    """A piece of the answer as it streams in; the last piece may carry token usage."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Generation:
    """A whole answer text with the usage reported for it."""

    text: str
    usage: dict[str, int]


class Provider(ABC):
    """Writes answers. ``generative`` providers call a model; the extractive one composes from the sources."""

    generative: bool = True

    def __init__(self, name: str, model: str | None = None) -> None:
        self.name = name
        self.model = model

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """The answer's text in pieces; raises ProviderError when the provider fails."""

    def complete(self, request: GenerationRequest) -> Generation:
        """The whole answer."""
        texts: list[str] = []
        usage: dict[str, int] = {}
        for delta in self.stream(request):
            texts.append(delta.text)
            usage.update(delta.usage)
        return Generation("".join(texts), usage)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections."""
