"""Tenant isolation, adversarially: org A never sees, updates or deletes org B's points."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.errors import InvalidOrgError
from index import Chunk, KnowledgeIndex, SearchFilters, point_id
from index.records import Visibility
from index.tenancy import MatchAny, Scope, scope

SHARED_TEXT = "Restart the payment worker with kubectl rollout restart deployment/payments."


def seed(index: KnowledgeIndex) -> None:
    index.write(
        "org-a",
        [
            Chunk("runbook.md", 0, "A: " + SHARED_TEXT, SHARED_TEXT, {"source_type": "runbook"}),
            Chunk("only-a.md", 0, "Alpha widgets ship on Tuesdays.", "Alpha widgets", {}),
        ],
    )
    index.write(
        "org-b",
        [
            Chunk("runbook.md", 0, "B: " + SHARED_TEXT, SHARED_TEXT, {"source_type": "runbook"}),
            Chunk("only-b.md", 0, "Bravo secret launch codes are 0000.", "Bravo launch codes", {}),
        ],
    )


QUERIES = ["Bravo launch codes", "restart payment worker", "only-b.md", "org-b", "0000", "*", ""]


@pytest.mark.parametrize("query", QUERIES)
def test_search_never_returns_another_orgs_point(index: KnowledgeIndex, query: str) -> None:
    seed(index)
    for mode in ("hybrid", "dense", "bm25"):
        hits = index.search("org-a", query or " ", k=50, mode=mode)  # type: ignore[arg-type]
        assert all(h.payload["org_id"] == "org-a" for h in hits)
        assert all(not h.payload["text"].startswith("B:") and "Bravo" not in h.payload["text"] for h in hits)


def test_filters_naming_another_orgs_sources_find_nothing(index: KnowledgeIndex) -> None:
    seed(index)
    hits = index.search("org-a", "launch codes", k=10, filters=SearchFilters(source_ids=["only-b.md"]))
    assert hits == []
    assert index.chunks("org-a", "only-b.md") == []
    assert index.chunk_vectors("org-a", "only-b.md") == {}


def test_same_source_id_in_two_orgs_are_distinct_points(index: KnowledgeIndex) -> None:
    seed(index)
    assert point_id("org-a", "runbook.md", 0) != point_id("org-b", "runbook.md", 0)
    assert index.chunks("org-a", "runbook.md")[0].payload["text"].startswith("A:")
    assert index.chunks("org-b", "runbook.md")[0].payload["text"].startswith("B:")


def test_a_write_cannot_claim_another_org(index: KnowledgeIndex) -> None:
    seed(index)
    forged = Chunk("only-b.md", 0, "A overwrites B?", "A overwrites B?", {"org_id": "org-b", "source_type": "doc"})
    index.write("org-a", [forged])
    assert index.chunks("org-b", "only-b.md")[0].payload["text"].startswith("Bravo")
    assert index.chunks("org-a", "only-b.md")[0].payload["org_id"] == "org-a"


def test_deletes_stay_inside_the_org(index: KnowledgeIndex) -> None:
    seed(index)
    index.delete_sources("org-a", ["runbook.md", "only-b.md"])
    index.delete_positions("org-a", "only-b.md", [0])
    assert index.count("org-b") == 2
    assert index.count("org-a") == 1


@pytest.mark.parametrize("org", ["", "Org-A", "org a", "../org-b", 'org-b" OR 1=1', "*", "org-a\x00", "-x", "a" * 64])
def test_invalid_org_ids_are_refused_everywhere(index: KnowledgeIndex, org: str) -> None:
    with pytest.raises(InvalidOrgError):
        index.search(org, "anything")
    with pytest.raises(InvalidOrgError):
        index.write(org, [Chunk("x.md", 0, "x", "x", {})])
    with pytest.raises(InvalidOrgError):
        index.delete_sources(org, ["x.md"])
    with pytest.raises(InvalidOrgError):
        index.count(org)


def test_filters_cannot_carry_the_org() -> None:
    with pytest.raises(ValidationError):
        SearchFilters.model_validate({"org_id": ["org-b"]})
    with pytest.raises(InvalidOrgError):
        Scope("org-a", (MatchAny("org_id", ("org-b",)),))
    assert scope("org-a", SearchFilters(source_ids=["x"])).org == "org-a"


def seed_cluster(index: KnowledgeIndex) -> None:
    text = "Pod is CrashLoopBackOff after the payments rollout"
    index.write(
        "org-a",
        [
            Chunk(
                f"cluster/prod/{ns}/pod/p-{ns}", 0, f"{text} in {ns}", text, {"source_type": "cluster", "namespace": ns}
            )
            for ns in ("shop", "payments", "_cluster")
        ]
        + [Chunk("runbooks/crash.md", 0, f"Runbook: {text}", text, {"source_type": "runbook"})],
    )


VISIBILITIES = [
    (Visibility(), {"shop", "payments", "_cluster"}),
    (Visibility(("shop",), nodes=False), {"shop"}),
    (Visibility(("shop", "payments"), nodes=True), {"shop", "payments", "_cluster"}),
    (Visibility(None, nodes=False), {"shop", "payments"}),
    (Visibility((), nodes=False), set()),
]


@pytest.mark.parametrize(("visible", "namespaces"), VISIBILITIES)
def test_cluster_sources_follow_the_callers_visibility_and_documents_do_not(
    index: KnowledgeIndex, visible: Visibility, namespaces: set[str]
) -> None:
    seed_cluster(index)
    for mode in ("hybrid", "dense", "bm25"):
        hits = index.search("org-a", "CrashLoopBackOff payments rollout", k=20, mode=mode, visible=visible)  # type: ignore[arg-type]
        assert {h.payload["namespace"] for h in hits if h.payload["source_type"] == "cluster"} == namespaces
        assert "runbooks/crash.md" in {h.source_id for h in hits}
    listed = index.sources("org-a", visible=visible)
    assert {sid.split("/")[2] for sid in listed if sid.startswith("cluster/")} == namespaces
    assert bool(index.chunks("org-a", "cluster/prod/payments/pod/p-payments", visible)) == ("payments" in namespaces)
