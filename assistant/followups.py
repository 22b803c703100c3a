"""Follow-up questions: "and how do I fix it?" is searched together with the question it follows."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.terms import terms

_OPENERS = re.compile(r"^\s*(and|but|also|so|then|ok|okay|what about|how about|same for|now)\b", re.IGNORECASE)
_REFERENCES = re.compile(
    r"\b(it|its|it's|that|this|they|them|their|those|these|there|same|afterwards|above|previous|one)\b", re.IGNORECASE
)
_FEW_TERMS = 4


def is_follow_up(question: str) -> bool:
    """The question leans on an earlier one (opens with a connective, refers back, or says too little alone)."""
    return bool(_OPENERS.search(question) or _REFERENCES.search(question)) or len(set(terms(question))) < _FEW_TERMS


def retrieval_query(question: str, history: Sequence[str]) -> str:
    """What to search for: the question, preceded by the question it follows when it is a follow-up."""
    if not history or not is_follow_up(question):
        return question
    return f"{history[-1]} {question}"
