"""Answer-quality metrics of one case and their aggregation, overall and per tag.

Retrieval is judged on the ranked, de-duplicated source ids the pipeline retrieved against the case's expected sources
(hit@k, recall@k, MRR, nDCG@k with binary relevance); citations on the answer's cited source ids (validity: each
points to a source that was given; precision and recall against the expected sources); the answer on its expected
facts (exact, case- and whitespace-insensitive), on abstention (an unanswerable case must end `no_evidence`, an
answerable one must not) and on leaks (any source of another organization in the context or a citation).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

KS = (1, 3, 5, 10)
SEMANTIC_MATCH = 0.75  # cosine similarity at which an answer sentence states an expected fact in other words

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit-length vectors, one row each


def ranked(source_ids: Iterable[str]) -> list[str]:
    """Source ids in rank order with repeats removed (several chunks of one source count once, at its best rank)."""
    return list(dict.fromkeys(source_ids))


def hit_at(retrieved: Sequence[str], expected: Iterable[str], k: int) -> float:
    """1.0 when one of the expected sources is in the first k."""
    wanted = set(expected)
    return float(any(s in wanted for s in ranked(retrieved)[:k]))


def recall_at(retrieved: Sequence[str], expected: Iterable[str], k: int) -> float:
    """The share of the expected sources found in the first k."""
    wanted = set(expected)
    return len(wanted & set(ranked(retrieved)[:k])) / len(wanted) if wanted else 0.0


def reciprocal_rank(retrieved: Sequence[str], expected: Iterable[str]) -> float:
    """1 / the rank of the first expected source; 0.0 when none was retrieved."""
    wanted = set(expected)
    return next((1.0 / n for n, s in enumerate(ranked(retrieved), 1) if s in wanted), 0.0)


def ndcg_at(retrieved: Sequence[str], expected: Iterable[str], k: int) -> float:
    """Normalized discounted cumulative gain of the first k, each expected source relevance 1."""
    wanted = set(expected)
    gain = sum(1.0 / math.log2(n + 1) for n, s in enumerate(ranked(retrieved)[:k], 1) if s in wanted)
    ideal = sum(1.0 / math.log2(n + 1) for n in range(1, min(len(wanted), k) + 1))
    return gain / ideal if ideal else 0.0


def fact_coverage(answer: str, facts: Sequence[str]) -> float:
    """The share of the expected facts the answer holds verbatim (case and spacing aside); 1.0 with none expected."""
    if not facts:
        return 1.0
    text = " ".join(answer.split()).casefold()
    return sum(" ".join(f.split()).casefold() in text for f in facts) / len(facts)


def semantic_fact_coverage(answer: str, facts: Sequence[str], embed: Embed, threshold: float = SEMANTIC_MATCH) -> float:
    """The share of the expected facts the answer holds verbatim or states in other words: some sentence of the answer
    is at least ``threshold`` similar to the fact (dense cosine); 1.0 with none expected."""
    if not facts:
        return 1.0
    text = " ".join(answer.split()).casefold()
    missing = [f for f in facts if " ".join(f.split()).casefold() not in text]
    sentences = [s for s in (p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", answer)) if s]
    if not missing or not sentences:
        return (len(facts) - len(missing)) / len(facts)
    similarity = embed(missing) @ embed(sentences).T
    stated = int((similarity.max(axis=1) >= threshold).sum())
    return (len(facts) - len(missing) + stated) / len(facts)


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95)) -> dict[str, float]:
    """p50, p95 ... of some measurements (linear interpolation), rounded to 0.01; empty without values."""
    if not values:
        return {}
    found = np.percentile(np.asarray(values, dtype=float), list(qs))
    return {f"p{q}": round(float(v), 2) for q, v in zip(qs, found, strict=True)}


@dataclass(frozen=True)
class Outcome:
    """What the pipeline did on one case, as the metrics need it."""

    status: str  # answered | no_evidence | error (the case could not be asked: every check fails)
    answer: str
    retrieved: Sequence[str]  # source ids in rank order (the context, before citation)
    cited: Sequence[str]  # source ids of the answer's citations
    given: Sequence[str]  # source ids the provider was given (what a citation may point to)
    foreign: Sequence[str] = ()  # source ids of another organization seen in the context or citations


@dataclass(frozen=True)
class CaseScore:
    """The metrics of one case; None where a metric does not apply (no expected sources, nothing cited)."""

    case_id: str
    tags: tuple[str, ...]
    values: Mapping[str, float | None]
    leaks: int = 0


def score(
    case_id: str, tags: Sequence[str], answerable: bool, expected: Sequence[str], facts: Sequence[str], outcome: Outcome
) -> CaseScore:
    """Every metric of one case."""
    values: dict[str, float | None] = {}
    judged = answerable and bool(expected)
    for k in KS:
        values[f"hit@{k}"] = hit_at(outcome.retrieved, expected, k) if judged else None
        values[f"recall@{k}"] = recall_at(outcome.retrieved, expected, k) if judged else None
        values[f"ndcg@{k}"] = ndcg_at(outcome.retrieved, expected, k) if judged else None
    values["mrr"] = reciprocal_rank(outcome.retrieved, expected) if judged else None
    cited = set(outcome.cited)
    values["citation_validity"] = len(cited & set(outcome.given)) / len(cited) if cited else None
    values["cited"] = float(bool(cited)) if outcome.status == "answered" else None
    values["citation_precision"] = len(cited & set(expected)) / len(cited) if cited and judged else None
    values["citation_recall"] = len(cited & set(expected)) / len(set(expected)) if judged else None
    values["fact_coverage"] = fact_coverage(outcome.answer, facts) if answerable and facts else None
    abstained = outcome.status == "no_evidence"
    values["abstention_accuracy"] = float(abstained != answerable and outcome.status != "error")
    return CaseScore(case_id, tuple(tags), values, leaks=len(set(outcome.foreign)))


@dataclass
class Summary:
    """Means of each metric over the cases where it applies, with the count behind each mean, and the leaks."""

    cases: int = 0
    means: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    leaks: int = 0


def summarize(scores: Sequence[CaseScore]) -> Summary:
    """The summary of some cases."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for s in scores:
        for name, value in s.values.items():
            if value is not None:
                totals[name] = totals.get(name, 0.0) + value
                counts[name] = counts.get(name, 0) + 1
    means = {name: round(totals[name] / counts[name], 4) for name in totals}
    return Summary(len(scores), means, counts, sum(s.leaks for s in scores))


def by_tag(scores: Sequence[CaseScore]) -> dict[str, Summary]:
    """The summary overall (key ``all``) and of each tag's cases."""
    tags = sorted({t for s in scores for t in s.tags})
    return {"all": summarize(scores)} | {t: summarize([s for s in scores if t in s.tags]) for t in tags}
