"""Content words of questions and texts: the vocabulary the extractive answer and follow-up detection compare."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9][a-z0-9_.\-/=:]*[a-z0-9]|[a-z0-9]")
_SEPARATORS = re.compile(r"[_.\-/=:]")
_STOPWORDS = frozenset(
    """
    a an the and or but if then else of to in on at by for with from into onto over under about as is are was were
    be been being do does did done have has had having i me my we our us you your he she it its they them their this
    that these those there here what which who whom whose when where why how can could should would will shall may
    might must not no nor so than too very just also only any all each every some such own same other more most few
    get got gets up out off again once ever still yet one two new use used using need needs want wants make makes
    please tell know show shows give via per
    """.split()  # noqa: SIM905 - a word list reads better as prose
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words of a text, lower-cased and lightly stemmed (identifiers kept whole and split)."""
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        parts = [word, *_SEPARATORS.split(word)] if _SEPARATORS.search(word) else [word]
        found += [_stem(p) for p in parts if p and p not in _STOPWORDS and len(p) > 1]
    return found
