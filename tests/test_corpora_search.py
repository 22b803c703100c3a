"""The sample corpora, ingested for real (slow): no file fails, and retrieval finds what the golden sets expect."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from evals.golden import load_cases
from evals.metrics import hit_at
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from ingest import ingest_path

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
ORGS = ("northwind", "orbital")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CORPORA / "evals").is_dir(), reason="golden sets not written yet"),
]


def test_corpora_ingest_cleanly_and_retrieval_finds_expected_sources(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_backend="edge")
    with open_index(settings, embedder) as index:
        for org in ORGS:
            summary = ingest_path(index, settings, org, CORPORA / org)
            assert summary.ok, summary.failed
            assert summary.added >= 45
        cases = [c for c in load_cases(CORPORA / "evals") if c.answerable and "cluster" not in c.tags and not c.history]
        found = 0
        for case in cases:
            hits = index.search(case.org, case.question, k=5)
            assert all(h.payload["org_id"] == case.org for h in hits)
            found += hit_at([h.source_id for h in hits], case.expected_sources, 5)
        hit_rate = found / len(cases)
        print(f"hit@5 over {len(cases)} single-turn document cases: {hit_rate:.3f}")
        assert hit_rate >= 0.7
        for case in load_cases(CORPORA / "evals"):
            if "cross-tenant" in case.tags:
                hits = index.search(case.org, case.question, k=10)
                assert all(h.payload["org_id"] == case.org for h in hits)
