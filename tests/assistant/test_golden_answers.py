"""Slow: `ask` answers the sample corpora's golden questions with valid citations and abstains when it should."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from assistant.citations import markers
from assistant.database import Database
from assistant.pipeline import Assistant
from evals.golden import GoldenCase, load_cases
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from ingest.sync import ingest_path
from tests.conftest import settings_for

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CORPORA / "evals").is_dir(), reason="golden sets not written yet"),
]


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_golden_questions_get_grounded_answers(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    cases = [c for c in load_cases(CORPORA / "evals") if "cluster" not in c.tags]
    settings = settings_for(tmp_path, "edge", chunk_tokens=200, chunk_overlap=32, answer_cache_ttl_s=0)
    with open_index(settings, embedder) as index:
        for org in sorted({c.org for c in cases}):
            ingest_path(index, settings, org, CORPORA / org)
        assistant = Assistant(index, settings, Database())
        results = [(case, _ask(assistant, case)) for case in cases]
    answerable = [(c, a) for c, a in results if c.answerable]
    unanswerable = [(c, a) for c, a in results if not c.answerable]
    for case, answer in results:
        # no uncited answer, no citation outside the context, never a source of another organization
        if answer.status == "answered":
            assert answer.citations and set(markers(answer.answer)) == {c.n for c in answer.citations}, case.id
        own = (CORPORA / case.org).as_uri() + "/"
        assert all((c.uri or "").startswith(own) for c in answer.citations), (case.id, answer.citations)
    abstained = statistics.mean(a.status == "no_evidence" for _, a in unanswerable)
    answered = [(c, a) for c, a in answerable if a.status == "answered"]
    false_abstentions = len(answerable) - len(answered)
    cites_expected = statistics.mean(
        bool({x.source_id for x in a.citations} & set(c.expected_sources)) for c, a in answered
    )
    facts = statistics.mean(
        sum(_normal(f) in _normal(a.answer) for f in c.expected_facts) / max(1, len(c.expected_facts))
        for c, a in answerable
    )
    print(
        f"\nabstention {abstained:.3f} on {len(unanswerable)}; false abstentions {false_abstentions}/"
        f"{len(answerable)}; expected source cited {cites_expected:.3f}; fact coverage {facts:.3f}"
    )
    assert abstained >= 0.6
    assert false_abstentions <= 0.08 * len(answerable)
    assert cites_expected >= 0.8
    assert facts >= 0.45


def _ask(assistant: Assistant, case: GoldenCase):  # type: ignore[no-untyped-def]
    conversation = None
    for earlier in case.history:
        conversation = assistant.ask(case.org, earlier, conversation_id=conversation).conversation_id
    return assistant.ask(case.org, case.question, conversation_id=conversation)
