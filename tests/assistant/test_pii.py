"""PII masking: what is found, reversible masks, redaction, streaming unmasking, and no network on the way."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from assistant.pii import MaskVault, PiiMasker
from assistant.prompting import Turn
from assistant.providers.base import Delta, GenerationRequest, Provider
from assistant.providers.masking import MaskedProvider

POSTMORTEM = (
    "Incident commander: Priya Raman (priya.raman@northwind-groceries.example, +44 7700 900239). "
    "Pod checkout-7c9d8f6b5-x2k4p on ip-10-20-3-41 restarted 11 times; exit code 137; port 8443."
)


@pytest.fixture(scope="module")
def masker() -> PiiMasker:
    return PiiMasker()


def test_finds_names_emails_and_phone_numbers_but_not_cluster_names(masker: PiiMasker) -> None:
    redacted = masker.redact(POSTMORTEM)
    assert redacted.startswith("Incident commander: <PERSON> (<EMAIL_ADDRESS>, <PHONE_NUMBER>).")
    for kept in ("checkout-7c9d8f6b5-x2k4p", "ip-10-20-3-41", "11 times", "137", "8443"):
        assert kept in redacted


def test_masks_round_trip_and_keep_one_placeholder_per_value(masker: PiiMasker) -> None:
    vault = MaskVault()
    first, _ = masker.mask(POSTMORTEM, vault)
    second, _ = masker.mask("Page priya.raman@northwind-groceries.example or ops@northwind-groceries.example", vault)
    assert "<PERSON_1>" in first and "<EMAIL_ADDRESS_1>" in first
    assert second == "Page <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>"
    assert masker.unmask(first, vault) == POSTMORTEM
    assert masker.unmask("unknown <PERSON_9> stays", vault) == "unknown <PERSON_9> stays"


def test_works_without_network(masker: PiiMasker, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("PII masking tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert masker.redact("mail jane.doe@orbital-freight.example now") == "mail <EMAIL_ADDRESS> now"


def test_no_entities_means_no_masking_and_no_model() -> None:
    off = PiiMasker([])
    started = time.perf_counter()
    assert off.redact(POSTMORTEM) == POSTMORTEM and off.mask(POSTMORTEM)[0] == POSTMORTEM
    assert time.perf_counter() - started < 0.01


def test_long_text_is_masked_piece_by_piece(masker: PiiMasker) -> None:
    text = ("kubectl get pods -n shop\n" * 8000) + "owner: dana.fox@northwind-groceries.example\n"
    assert len(text) > 200_000
    redacted = masker.redact(text)
    assert redacted.endswith("owner: <EMAIL_ADDRESS>\n") and len(redacted) < len(text)


class _Scripted(Provider):
    """Streams fixed pieces and keeps what it was asked (a unit test of the wrapper, not of a protocol)."""

    def __init__(self, pieces: list[str]) -> None:
        super().__init__("scripted", "scripted-model")
        self.pieces = pieces
        self.seen: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        self.seen.append(request)
        yield from (Delta(p) for p in self.pieces)
        yield Delta("", {"completion_tokens": 5})


def test_masked_provider_masks_the_prompt_and_unmasks_split_placeholders(masker: PiiMasker) -> None:
    inner = _Scripted(["Ask <PER", "SON_1> at <EMAIL", "_ADDRESS_1", "> [1]. <"])
    wrapped = MaskedProvider(inner, masker)
    request = GenerationRequest("acme", "Who led it?", [], [Turn("user", POSTMORTEM + "\nWho led it?")])
    pieces = list(wrapped.stream(request))
    assert "".join(p.text for p in pieces) == "Ask Priya Raman at priya.raman@northwind-groceries.example [1]. <"
    assert all("<PER" not in p.text and "<EMAIL" not in p.text for p in pieces)
    assert pieces[-2].usage == {"completion_tokens": 5} or any(p.usage for p in pieces)
    sent = inner.seen[0].messages[0].content
    assert "Priya Raman" not in sent and "priya.raman@" not in sent and "+44 7700" not in sent
    assert wrapped.model == "scripted-model" and wrapped.generative


@pytest.mark.slow
def test_the_reduced_spacy_pipeline_finds_what_the_full_one_finds() -> None:
    """Masking runs only spaCy's sentence and entity recognizers (half the time): on every paragraph of the sample
    postmortems and a few docs, it must find exactly what the whole pipeline finds."""
    import re
    from pathlib import Path

    from assistant.pii import DEFAULT_ENTITIES, _analyzer

    corpora = Path(__file__).resolve().parents[2] / "corpora"
    files = sorted(corpora.glob("*/incidents/*.md")) + sorted(corpora.glob("*/docs/*.md"))[:10]
    paragraphs = [p for f in files for p in re.split(r"\n\s*\n", f.read_text()) if p.strip()]
    full, reduced = _analyzer(reduced=False), _analyzer()
    assert "parser" in full.nlp_engine.nlp["en"].pipe_names and "parser" not in reduced.nlp_engine.nlp["en"].pipe_names

    def found(analyzer: object, text: str) -> set[tuple[str, int, int]]:
        results = analyzer.analyze(text, language="en", entities=list(DEFAULT_ENTITIES), score_threshold=0.4)  # type: ignore[attr-defined]
        return {(r.entity_type, r.start, r.end) for r in results}

    findings = 0
    for text in paragraphs:
        expected = found(full, text)
        assert found(reduced, text) == expected, text[:200]
        findings += len(expected)
    assert len(paragraphs) > 300 and findings > 100  # the comparison saw names, emails and numbers
