"""The relevance gate: is there evidence in the retrieved sources, or must the answer be "not found"?

Two checks, calibrated on the golden sets (README, "Answering"):
- the best hit's dense similarity must reach ``min_similarity``;
- every *named thing* in the question (a product, a service, an identifier: ``Traefik``, ``eta-predictor``,
  ``max.poll.records``) must occur in the retrieved text. A question about a tool the organization does not use
  retrieves the nearest chunks about something else; dense similarity alone cannot tell those apart, a missing name can.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.context import ContextSource

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./=:-]*[A-Za-z0-9]|[A-Za-z0-9]")
_SENTENCE = re.compile(r"(?<=[.?!;:])\s+")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]+s?")
_CAMEL = re.compile(r"[a-z][A-Z]")
_SEPARATOR = re.compile(r"[-_./=:]")
_MIN_PART = 3


@dataclass(frozen=True)
class Evidence:
    """The gate's verdict and, when it fails, why."""

    found: bool
    reason: str = ""


def named_terms(question: str) -> list[str]:
    """Words of the question that name something: identifiers, acronyms, CamelCase, capitalized mid-sentence."""
    terms: list[str] = []
    for sentence in _SENTENCE.split(question):
        for i, token in enumerate(_TOKEN.findall(sentence)):
            has_digit = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            identifier = bool(_SEPARATOR.search(token)) or has_digit
            named = _ACRONYM.fullmatch(token) or _CAMEL.search(token) or (i > 0 and token[0].isupper())
            if (identifier or named) and len(token) > 1:
                terms.append(token)
    return terms


def _mentioned(term: str, text: str) -> bool:
    """A term occurs in the (lower-case) text: as written, in the singular, or, when it is a hyphenated everyday
    compound (``sold-out``), as its parts."""
    t = term.lower()
    forms = {t, t[:-1]} if t.endswith("s") and len(t) > 3 else {t}
    if any(f in text for f in forms):
        return True
    parts = [p for p in _SEPARATOR.split(t) if p]
    if len(parts) > 1 and t.islower() and all(p.isalpha() for p in parts):
        return all(p in text for p in parts if len(p) >= _MIN_PART)
    return False


def assess(question: str, sources: Sequence[ContextSource], min_similarity: float) -> Evidence:
    """Whether the sources hold evidence for the question."""
    if not sources:
        return Evidence(False, "no source of the organization matched")
    best = max(s.hit.similarity for s in sources)
    if best < min_similarity:
        return Evidence(False, f"best similarity {best:.2f} is below the threshold {min_similarity:.2f}")
    text = " ".join(f"{s.title} {s.section} {s.text}" for s in sources).lower()
    missing = [t for t in dict.fromkeys(named_terms(question)) if not _mentioned(t, text)]
    if missing:
        return Evidence(False, "no source mentions " + ", ".join(missing))
    return Evidence(True)
