"""The eval metrics on hand-computed cases: ranks with repeated sources, partial recall, graded nDCG, citation
validity and precision, exact fact coverage, abstention both ways, leaks, and per-tag means that skip what does not
apply."""

from __future__ import annotations

import math

import pytest

from evals.metrics import (
    Outcome,
    by_tag,
    fact_coverage,
    hit_at,
    ndcg_at,
    ranked,
    recall_at,
    reciprocal_rank,
    score,
)

RETRIEVED = ["a.md", "a.md", "b.md", "c.md", "d.md"]  # a.md twice: two chunks of one source


def test_ranks_count_each_source_once_at_its_best_rank() -> None:
    assert ranked(RETRIEVED) == ["a.md", "b.md", "c.md", "d.md"]
    assert hit_at(RETRIEVED, ["c.md"], 2) == 0.0 and hit_at(RETRIEVED, ["c.md"], 3) == 1.0
    assert recall_at(RETRIEVED, ["c.md", "z.md"], 5) == 0.5
    assert recall_at(RETRIEVED, ["b.md", "c.md"], 2) == 0.5
    assert reciprocal_rank(RETRIEVED, ["c.md", "d.md"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(RETRIEVED, ["z.md"]) == 0.0


def test_ndcg_discounts_by_rank_against_the_ideal_order() -> None:
    # expected b and d: found at ranks 2 and 4; ideal: ranks 1 and 2
    gain = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(RETRIEVED, ["b.md", "d.md"], 5) == pytest.approx(gain / ideal)
    assert ndcg_at(RETRIEVED, ["a.md"], 5) == 1.0
    assert ndcg_at(RETRIEVED, ["d.md"], 3) == 0.0


def test_fact_coverage_is_exact_but_ignores_case_and_spacing() -> None:
    answer = "Set `tls: true`; cert-manager uses the LetsEncrypt-Prod\n issuer."
    assert fact_coverage(answer, ["letsencrypt-prod issuer", "tls: true", "48Gi"]) == pytest.approx(2 / 3)
    assert fact_coverage(answer, []) == 1.0


def test_one_case_scores_citations_abstention_and_leaks() -> None:
    outcome = Outcome(
        status="answered",
        answer="Use letsencrypt-prod [1] and see [3].",
        retrieved=["a.md", "b.md", "x.md"],
        cited=["a.md", "ghost.md"],  # ghost.md was never given: an invalid citation
        given=["a.md", "b.md", "x.md"],
        foreign=["other-org/secret.md"],
    )
    s = score("c1", ["lookup", "doc"], True, ["a.md", "b.md"], ["letsencrypt-prod", "48Gi"], outcome)
    v = s.values
    assert v["hit@1"] == 1.0 and v["recall@1"] == 0.5 and v["recall@3"] == 1.0 and v["mrr"] == 1.0
    assert v["citation_validity"] == 0.5 and v["citation_precision"] == 0.5 and v["citation_recall"] == 0.5
    assert v["cited"] == 1.0 and v["fact_coverage"] == 0.5 and v["abstention_accuracy"] == 1.0
    assert s.leaks == 1


def test_abstention_is_right_only_on_unanswerable_cases() -> None:
    silent = Outcome(status="no_evidence", answer="Not found", retrieved=["a.md"], cited=[], given=[])
    unanswerable = score("u", ["unanswerable"], False, [], [], silent)
    assert unanswerable.values["abstention_accuracy"] == 1.0
    assert unanswerable.values["hit@5"] is None and unanswerable.values["citation_validity"] is None
    missed = score("m", ["lookup"], True, ["a.md"], ["x"], silent)
    assert missed.values["abstention_accuracy"] == 0.0 and missed.values["hit@5"] == 1.0
    guessed = Outcome(status="answered", answer="a guess [1]", retrieved=["a.md"], cited=["a.md"], given=["a.md"])
    assert score("g", ["unanswerable"], False, [], [], guessed).values["abstention_accuracy"] == 0.0


def test_means_per_tag_skip_metrics_that_do_not_apply() -> None:
    hit = Outcome(status="answered", answer="x [1]", retrieved=["a.md"], cited=["a.md"], given=["a.md"])
    miss = Outcome(status="answered", answer="y [1]", retrieved=["z.md"], cited=["z.md"], given=["z.md"])
    silent = Outcome(status="no_evidence", answer="", retrieved=[], cited=[], given=[])
    scores = [
        score("1", ["lookup", "doc"], True, ["a.md"], [], hit),
        score("2", ["lookup", "runbook"], True, ["a.md"], [], miss),
        score("3", ["unanswerable"], False, [], [], silent),
    ]
    tags = by_tag(scores)
    assert tags["all"].cases == 3 and tags["all"].means["hit@5"] == 0.5 and tags["all"].counts["hit@5"] == 2
    assert tags["all"].means["abstention_accuracy"] == 1.0 and tags["all"].leaks == 0
    assert tags["doc"].means["hit@5"] == 1.0 and tags["runbook"].means["hit@5"] == 0.0
    assert "hit@5" not in tags["unanswerable"].means
