"""PII masking with Presidio (analyzer only; the splicing is ours): reversible masks for what leaves for an external
model, irreversible redaction for the audit log.

Offline: spaCy's ``en_core_web_sm`` is a package, and Presidio's email check (tldextract) is pointed at tldextract's
bundled public-suffix snapshot instead of the network, with the reserved TLDs of examples and internal names added.
The analyzer loads once per process, lazily (about 10 s); an empty entity list never loads it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

DEFAULT_ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS")
_EXTRA_SUFFIXES = ("example", "test", "invalid", "localhost", "internal", "local")
_PIECE_CHARS = 90_000  # spaCy's small model is happiest well under its 1M character limit
_PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")
# Kubernetes object names, hashes and identifiers in code are never a person, whatever the small model thinks
_NOT_A_PERSON = re.compile(r"[`/_=:@]|\d|^[a-z0-9-]+$|^[A-Z0-9_]+$")
_INTERNATIONAL_PHONE = r"(?<![\w+])\+\d{1,3}(?:[ .-]?\d{2,6}){2,4}(?!\w)"
_lock = threading.Lock()


@dataclass(frozen=True)
class Span:
    """One finding: what kind, where, how sure."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass
class MaskVault:
    """Placeholders and the values they stand for; one value always gets the same placeholder."""

    originals: dict[str, str] = field(default_factory=dict)
    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        """The placeholder of ``value`` (new ones are numbered per type)."""
        key = (entity_type, value)
        if key not in self.placeholders:
            self.counts[entity_type] = self.counts.get(entity_type, 0) + 1
            token = f"<{entity_type}_{self.counts[entity_type]}>"
            self.placeholders[key] = token
            self.originals[token] = value
        return self.placeholders[key]


@cache
def _analyzer(reduced: bool = True) -> Any:
    """Presidio's analyzer over spaCy's small English model, offline (``reduced``: only what masking uses of it)."""
    import tldextract
    import tldextract.tldextract as tld_module

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # it lists every non-English recognizer it skips
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, extra_suffixes=_EXTRA_SUFFIXES
    )
    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm"}]}
    )
    engine = provider.create_engine()
    if reduced:
        _names_only(cast(Any, engine).nlp["en"])  # the spaCy engine's pipelines, by language
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    # Presidio keeps only numbers valid in a numbering plan; a mistyped or fictional number in international form
    # (+44 7700 900239) is still someone's number to mask
    international = Pattern("international phone number", _INTERNATIONAL_PHONE, 0.5)
    analyzer.registry.add_recognizer(
        PatternRecognizer("PHONE_NUMBER", name="InternationalPhone", patterns=[international])
    )
    return analyzer


_SPACY_UNUSED = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


def _names_only(nlp: Any) -> None:
    """Keep only what masking uses of the spaCy pipeline: sentence boundaries (the parser's, which the entity
    recognizer respects, come from the small model's cheap sentence recognizer instead), the entity recognizer (the
    small model's has token vectors of its own) and a token's lower-case form as its lemma, which is all Presidio's
    context words need (they match by substring). The tagger, parser and lemmatizer took more than half of every
    analysis (5.6 ms of a short question here, 2.4 ms without them), with the same findings on the sample corpora."""
    from spacy.language import Language

    nlp.select_pipes(disable=[name for name in _SPACY_UNUSED if name in nlp.pipe_names])
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "aiops_lower_lemma" not in Language.factories:
        Language.component("aiops_lower_lemma", func=_lower_lemma)
    nlp.add_pipe("aiops_lower_lemma", before="ner")


def _lower_lemma(doc: Any) -> Any:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class PiiMasker:
    """Finds the configured entity types and masks, unmasks or redacts them."""

    def __init__(self, entities: Sequence[str] = DEFAULT_ENTITIES, score_threshold: float = 0.4) -> None:
        self.entities = list(entities)
        self.score_threshold = score_threshold

    @property
    def enabled(self) -> bool:
        """False when no entity type is configured."""
        return bool(self.entities)

    def find(self, text: str) -> list[Span]:
        """Non-overlapping findings in text order (of overlapping ones the longest, then the surest, wins)."""
        if not self.enabled or not text.strip():
            return []
        with _lock:
            analyzer = _analyzer()
        found: list[Span] = []
        for offset, piece in _pieces(text):
            results = analyzer.analyze(
                piece, language="en", entities=self.entities, score_threshold=self.score_threshold
            )
            for r in results:
                span = Span(r.entity_type, r.start + offset, r.end + offset, float(r.score))
                if span.entity_type == "PERSON" and _NOT_A_PERSON.search(text[span.start : span.end]):
                    continue
                found.append(span)
        chosen: list[Span] = []
        for span in sorted(found, key=lambda s: (-(s.end - s.start), -s.score, s.start)):
            if all(span.end <= c.start or span.start >= c.end for c in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)

    def mask(self, text: str, vault: MaskVault | None = None) -> tuple[str, MaskVault]:
        """``text`` with each finding replaced by its placeholder (``<PERSON_1>``), and the vault to undo it."""
        vault = vault if vault is not None else MaskVault()
        return self._splice(text, lambda s: vault.placeholder(s.entity_type, text[s.start : s.end])), vault

    def unmask(self, text: str, vault: MaskVault) -> str:
        """Put the original values back in place of the vault's placeholders."""
        return _PLACEHOLDER.sub(lambda m: vault.originals.get(m.group(0), m.group(0)), text)

    def redact(self, text: str) -> str:
        """``text`` with each finding replaced by its type (``<EMAIL_ADDRESS>``): nothing to undo."""
        return self._splice(text, lambda s: f"<{s.entity_type}>")

    def _splice(self, text: str, replacement: Any) -> str:
        spans = self.find(text)
        if not spans:
            return text
        parts, at = [], 0
        for span in spans:
            parts += [text[at : span.start], replacement(span)]
            at = span.end
        parts.append(text[at:])
        return "".join(parts)


def _pieces(text: str) -> list[tuple[int, str]]:
    """The text in pieces under the model's comfortable size, cut at line breaks where possible."""
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + _PIECE_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces
