"""Citation checking, the evidence gate, follow-up detection and the extractive composer, on hand-made sources."""

from __future__ import annotations

import pytest

from assistant.citations import check_citations, markers
from assistant.context import ContextSource, build_context
from assistant.evidence import assess, named_terms
from assistant.followups import is_follow_up, retrieval_query
from assistant.providers.units import compose, select_units, split_units
from index.records import SearchHit


def source(n: int, text: str, section: str = "", similarity: float = 0.6, **payload: object) -> ContextSource:
    """A context source built by hand."""
    data = {"source_id": f"docs/s{n}.md", "title": f"Source {n}", "section": section, "text": text, **payload}
    return ContextSource(n, SearchHit(f"id{n}", 1.0 / n, similarity, data), text)


def test_valid_markers_are_kept_and_invalid_ones_removed() -> None:
    checked = check_citations("Use cert-manager [1]. Ask Bob [7]. Both [1, 9]. Also [source 2].", {1, 2})
    assert checked.text == "Use cert-manager [1]. Ask Bob. Both [1]. Also [2]."
    assert checked.cited == [1, 2] and checked.invalid == [7, 9] and checked.grounded


def test_code_is_not_mistaken_for_citations() -> None:
    text = "Run `args[0]` or arr[2] [1]:\n```\nx[3]\n```"
    checked = check_citations(text, {1})
    assert checked.text == text and checked.invalid == [] and markers(text) == [1]


def test_an_answer_without_valid_markers_is_not_grounded() -> None:
    assert not check_citations("Probably restart it [4].", {1, 2}).grounded
    assert not check_citations("Probably restart it.", {1}).grounded


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Which Traefik middleware rate-limits tracking-api?", ["Traefik", "rate-limits", "tracking-api"]),
        ("How do I expose my service over HTTPS?", ["HTTPS"]),
        ("Why does order-events use max.poll.records=50?", ["order-events", "max.poll.records=50"]),
        ("What is the weekly on-call allowance?", ["on-call"]),
    ],
)
def test_named_terms(question: str, named: list[str]) -> None:
    assert named_terms(question) == named


def test_evidence_needs_similarity_and_every_named_thing() -> None:
    sources = [source(1, "Traefik routes traffic; rate limits are set per router.", similarity=0.5)]
    assert assess("Which Traefik middleware limits tracking-api?", sources, 0.25).reason == (
        "no source mentions tracking-api"
    )
    assert assess("How is traffic routed by Traefik?", sources, 0.25).found
    assert not assess("How is traffic routed by Traefik?", sources, 0.6).found
    assert not assess("Anything?", [], 0.1).found
    # everyday hyphenated words count when their parts occur
    assert assess(
        "Which sold-out router limits traffic?", [source(1, "sold out router traffic", similarity=0.5)], 0.2
    ).found


def test_follow_ups_are_searched_with_the_question_before() -> None:
    assert is_follow_up("and how do I fix it?") and is_follow_up("What about staging?")
    assert not is_follow_up("How do I rotate the Vault token of the checkout service?")
    assert retrieval_query("and how do I fix it?", ["checkout is crash-looping"]) == (
        "checkout is crash-looping and how do I fix it?"
    )
    assert retrieval_query("and how do I fix it?", []) == "and how do I fix it?"


def test_units_keep_code_blocks_list_items_and_sentences() -> None:
    text = "First sentence here. Second one.\n\n- an item\n  continued\n\n```\nkubectl get pods\nkubectl logs x\n```"
    units = split_units(source(1, text))
    assert [u.text for u in units] == [
        "First sentence here.",
        "Second one.",
        "an item continued",
        "kubectl get pods\nkubectl logs x",
    ]
    assert [u.code for u in units] == [False, False, False, True]


def test_composed_answers_cite_every_unit_and_bring_introduced_code() -> None:
    runbook = source(
        1,
        "If the crash started with the last deploy, roll back:\n\n```\nkubectl rollout undo deploy/checkout\n```",
        section="KubePodCrashLooping > Mitigation",
    )
    other = source(2, "The crash loop alert fires after 3 restarts in 10 minutes.", similarity=0.55)
    units = select_units("checkout crash after deploy, how do I roll back?", [runbook, other])
    answer = compose("checkout crash", units)
    assert "kubectl rollout undo deploy/checkout" in answer
    assert "[1]" in answer
    for line in answer.splitlines():
        if line.strip() and not line.startswith(("```", "kubectl")):
            assert "[" in line, line


def test_context_respects_the_token_budget_and_skips_repeats() -> None:
    hits = [
        SearchHit("a", 0.9, 0.7, {"source_id": "a.md", "position": 0, "text": "one two three " * 20}),
        SearchHit("a2", 0.8, 0.7, {"source_id": "a.md", "position": 0, "text": "duplicate"}),
        SearchHit("b", 0.7, 0.6, {"source_id": "b.md", "position": 0, "text": "four five " * 50}),
        SearchHit("c", 0.6, 0.5, {"source_id": "c.md", "position": 1, "text": "six"}),
    ]

    def count(texts: object) -> list[int]:
        return [len(str(t).split()) for t in texts]  # type: ignore[attr-defined]

    sources = build_context(hits, 70, count)
    assert [s.source_id for s in sources] == ["a.md", "c.md"] and [s.n for s in sources] == [1, 2]


def test_context_uses_the_token_counts_stored_with_chunks() -> None:
    stored = SearchHit("a", 1.0, 0.9, {"source_id": "a.md", "position": 0, "text": "one two three", "tokens": 50})
    live = SearchHit("b", 0.9, 0.8, {"source_id": "b.md", "position": 0, "text": "four five"})
    asked: list[str] = []

    def count(texts: object) -> list[int]:
        asked.extend(texts)  # type: ignore[call-overload]
        return [len(str(t).split()) for t in texts]  # type: ignore[attr-defined]

    assert [s.source_id for s in build_context([stored, live], 51, count)] == ["a.md"]  # 50 + 2 > 51
    assert asked == ["four five"]  # only the hit without a stored count was counted
