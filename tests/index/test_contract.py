"""The index contract: both backends pass the same tests."""

from __future__ import annotations

import pytest

from core.settings import Settings
from index import Chunk, KnowledgeIndex, SearchFilters, open_index
from index.embedding import SentenceTransformerEmbedder


def chunk(source_id: str, position: int, text: str, **payload: object) -> Chunk:
    return Chunk(source_id, position, text, text, {"source_type": "doc", "title": source_id, **payload})


DOCS = [
    chunk("tls.md", 0, "Expose a service over HTTPS with an Ingress and a cert-manager certificate.", chunk_count=1),
    chunk("db.md", 0, "Request database credentials from the secrets manager for the orders database.", chunk_count=1),
    chunk(
        "rb/crash.md",
        0,
        "KubePodCrashLooping: the container exits repeatedly; read the previous logs.",
        source_type="runbook",
        alerts=["KubePodCrashLooping"],
        severity="warning",
        chunk_count=1,
    ),
    chunk(
        "inc/2024.md",
        0,
        "Checkout returned 502 errors after the ingress upstream keepalive change.",
        source_type="incident",
        date="2024-03-12",
        services=["checkout"],
        chunk_count=1,
    ),
    chunk(
        "inc/2022.md",
        0,
        "Search latency rose after a node pool upgrade drained the cache nodes.",
        source_type="incident",
        date="2022-11-02",
        services=["search-api"],
        chunk_count=1,
    ),
]


def test_search_finds_the_relevant_chunk_first(index: KnowledgeIndex) -> None:
    index.write("acme", DOCS)
    hits = index.search("acme", "how do I get TLS on my service", k=3)
    assert hits[0].source_id == "tls.md"
    assert hits[0].payload["text"].startswith("Expose a service")
    assert 0.0 < hits[0].similarity <= 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_retrieval_mode_answers(index: KnowledgeIndex, mode: str) -> None:
    index.write("acme", DOCS)
    hits = index.search("acme", "KubePodCrashLooping previous logs", k=2, mode=mode)  # type: ignore[arg-type]
    assert hits and hits[0].source_id == "rb/crash.md"


def test_filters_narrow_by_type_alert_service_and_date(index: KnowledgeIndex) -> None:
    index.write("acme", DOCS)
    by_type = index.search("acme", "errors", k=10, filters=SearchFilters(source_types=["incident"]))
    assert {h.source_id for h in by_type} == {"inc/2024.md", "inc/2022.md"}
    by_alert = index.search("acme", "anything", k=10, filters=SearchFilters(alerts=["KubePodCrashLooping"]))
    assert [h.source_id for h in by_alert] == ["rb/crash.md"]
    by_service = index.search("acme", "anything", k=10, filters=SearchFilters(services=["search-api"]))
    assert [h.source_id for h in by_service] == ["inc/2022.md"]
    by_date = index.search("acme", "errors", k=10, filters=SearchFilters.model_validate({"date_from": "2024-01-01"}))
    assert [h.source_id for h in by_date] == ["inc/2024.md"]


def test_rewriting_upserts_instead_of_duplicating(index: KnowledgeIndex) -> None:
    index.write("acme", DOCS)
    index.write("acme", DOCS)
    assert index.count("acme") == len(DOCS)


def test_delete_sources_and_positions(index: KnowledgeIndex) -> None:
    parts = [chunk("long.md", i, f"Part {i} of a long guide about rollouts.") for i in range(4)]
    index.write("acme", DOCS + parts)
    index.delete_sources("acme", ["tls.md", "db.md"])
    index.delete_positions("acme", "long.md", [2, 3])
    assert index.count("acme") == len(DOCS) - 2 + 2
    assert [int(p.payload["position"]) for p in index.chunks("acme", "long.md")] == [0, 1]
    assert all(h.source_id not in ("tls.md", "db.md") for h in index.search("acme", "HTTPS certificate", k=10))


def test_sources_reports_state_from_the_first_chunk(index: KnowledgeIndex) -> None:
    index.write(
        "acme",
        [
            chunk("a.md", 0, "alpha", doc_hash="h1", sync_root="/r", chunk_count=2),
            chunk("a.md", 1, "beta", doc_hash="h1", sync_root="/r", chunk_count=2),
            chunk("b.md", 0, "gamma", doc_hash="h2", sync_root="/other", chunk_count=1),
        ],
    )
    states = index.sources("acme")
    assert set(states) == {"a.md", "b.md"}
    assert states["a.md"].doc_hash == "h1" and states["a.md"].chunk_count == 2
    assert set(index.sources("acme", sync_root="/r")) == {"a.md"}


def test_chunk_vectors_are_returned_by_content_hash(index: KnowledgeIndex) -> None:
    index.write("acme", [chunk("a.md", 0, "alpha text", content_hash="c0")])
    vectors = index.chunk_vectors("acme", "a.md")
    assert list(vectors) == ["c0"] and len(vectors["c0"]) == index.embedder.dimension


def test_data_survives_a_reopen(settings: Settings, embedder: SentenceTransformerEmbedder) -> None:
    with open_index(settings, embedder) as first:
        first.write("acme", DOCS)
    with open_index(settings, embedder) as second:
        assert second.count("acme") == len(DOCS)
        assert second.search("acme", "database credentials", k=1)[0].source_id == "db.md"


def test_an_empty_organization_returns_nothing(index: KnowledgeIndex) -> None:
    assert index.search("nobody", "anything", k=5) == []
    assert index.count("nobody") == 0
    assert index.sources("nobody") == {}
