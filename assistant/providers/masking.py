"""PII never leaves for an external model: a generative provider is wrapped so that the prompt it sends carries
placeholders (``<PERSON_1>``) instead of names, emails or phone numbers, and its answer comes back with the real values,
also while it streams (a placeholder split across two pieces is held back until it is whole)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from assistant.pii import MaskVault, PiiMasker
from assistant.prompting import Turn
from assistant.providers.base import Delta, GenerationRequest, Provider

_PARTIAL = re.compile(r"<[A-Z_0-9]{0,40}$")  # what may be the start of a placeholder at the end of a piece


class MaskedProvider(Provider):
    """The wrapped provider sees masked text only; callers see unmasked text only."""

    def __init__(self, inner: Provider, masker: PiiMasker) -> None:
        super().__init__(inner.name, inner.model)
        self.generative = inner.generative
        self.inner = inner
        self.masker = masker

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """The inner provider's stream over the masked request, unmasked piece by piece."""
        vault = MaskVault()
        messages = [Turn(t.role, self.masker.mask(t.content, vault)[0]) for t in request.messages]
        question, _ = self.masker.mask(request.question, vault)
        history = [self.masker.mask(h, vault)[0] for h in request.history]
        masked = replace(request, messages=messages, question=question, history=history)
        held = ""
        for delta in self.inner.stream(masked):
            text = held + delta.text
            partial = _PARTIAL.search(text)
            held = partial.group(0) if partial else ""
            ready = text[: len(text) - len(held)]
            if ready or delta.usage:
                yield Delta(self.masker.unmask(ready, vault), delta.usage)
        if held:
            yield Delta(self.masker.unmask(held, vault))

    def close(self) -> None:
        """Release the inner provider."""
        self.inner.close()
