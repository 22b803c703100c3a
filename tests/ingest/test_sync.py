"""Incremental sync: unchanged sources are not re-embedded, changes replace chunks, vanished sources are deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.settings import Settings
from index import KnowledgeIndex
from ingest import ingest_path

Writer = Callable[[dict[str, str | bytes]], Path]

GUIDE = (
    "# Deploying\n\n## Build\n\nBuild the image with the shared pipeline template.\n\n"
    "## Release\n\nPromote the release by merging into the environment branch.\n"
)
RUNBOOK = "---\nalert: DiskFull\n---\n# DiskFull\n\n## Mitigation\n\nExpand the volume claim to 200Gi.\n"
POSTMORTEM = (
    "---\nid: INC-2024-001\ndate: 2024-05-01\nservices: [orders]\nseverity: SEV2\n"
    "time_to_recovery: 45 minutes\n---\n# Orders outage\n\n## Summary\n\nThe orders database ran out of "
    "connections.\n"
)


def corpus(write: Writer) -> Path:
    return write(
        {
            "docs/deploying.md": GUIDE,
            "runbooks/DiskFull.md": RUNBOOK,
            "incidents/orders.md": POSTMORTEM,
            "docs/notes.txt": "Plain text notes about the staging cluster.\n",
        }
    )


def test_first_ingest_indexes_with_types_and_metadata(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = corpus(write_files)
    summary = ingest_path(index, settings, "acme", root)
    assert (summary.added, summary.failed, summary.deleted) == (4, [], 0)
    assert summary.embedded == summary.chunks == index.count("acme")
    states = index.sources("acme")
    assert {s: st.source_type for s, st in states.items()} == {
        "docs/deploying.md": "doc",
        "docs/notes.txt": "doc",
        "runbooks/DiskFull.md": "runbook",
        "incidents/orders.md": "incident",
    }
    [runbook_hit] = index.search("acme", "volume full", k=1, filters=None)
    assert runbook_hit.payload["alerts"] == ["DiskFull"] and runbook_hit.payload["section"] == "Mitigation"
    incident = index.chunks("acme", "incidents/orders.md")[0].payload
    assert incident["incident_id"] == "INC-2024-001" and incident["time_to_recovery_minutes"] == 45.0
    assert incident["date"] == "2024-05-01" and incident["services"] == ["orders"]
    assert incident["uri"].startswith("file://") and incident["line_start"] >= 10


def test_unchanged_corpus_is_skipped_without_embedding(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = corpus(write_files)
    ingest_path(index, settings, "acme", root)
    again = ingest_path(index, settings, "acme", root)
    assert (again.added, again.updated, again.unchanged, again.embedded, again.chunks) == (0, 0, 4, 0, 0)


def test_a_changed_source_replaces_its_chunks_and_reuses_unchanged_ones(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = corpus(write_files)
    ingest_path(index, settings, "acme", root)
    before = index.count("acme")
    (root / "docs/deploying.md").write_text(GUIDE.replace("environment branch", "release train branch"))
    summary = ingest_path(index, settings, "acme", root)
    assert (summary.updated, summary.unchanged) == (1, 3)
    assert summary.embedded == 1 and summary.reused == summary.chunks - 1
    assert index.count("acme") == before
    texts = [p.payload["text"] for p in index.chunks("acme", "docs/deploying.md")]
    assert any("release train branch" in t for t in texts) and not any("environment branch" in t for t in texts)


def test_a_shrunk_source_loses_its_stale_tail(index: KnowledgeIndex, settings: Settings, write_files: Writer) -> None:
    detail = (
        "Details of part {i}: the steps, the checks to run before and after each step, the dashboards to "
        "watch, and whom to tell when done."
    )
    long_doc = "# Long\n\n" + "\n\n".join(f"## Part {i}\n\n" + detail.format(i=i) for i in range(6))
    root = write_files({"docs/long.md": long_doc})
    ingest_path(index, settings, "acme", root)
    assert len(index.chunks("acme", "docs/long.md")) == 6
    (root / "docs/long.md").write_text("# Long\n\n## Part 0\n\n" + detail.format(i=0) + "\n")
    ingest_path(index, settings, "acme", root)
    assert [p.payload["section"] for p in index.chunks("acme", "docs/long.md")] == ["Part 0"]


def test_vanished_sources_are_deleted_but_other_folders_are_not(
    index: KnowledgeIndex, settings: Settings, write_files: Writer, tmp_path: Path
) -> None:
    root = corpus(write_files)
    other = tmp_path / "other"
    other.mkdir()
    (other / "faq.md").write_text("# FAQ\n\nAsk in the platform channel.\n")
    ingest_path(index, settings, "acme", root)
    ingest_path(index, settings, "acme", other)
    (root / "docs/notes.txt").unlink()
    summary = ingest_path(index, settings, "acme", root)
    assert summary.deleted == 1
    assert "docs/notes.txt" not in index.sources("acme")
    assert "faq.md" in index.sources("acme")
    assert index.search("acme", "staging cluster notes", k=5, filters=None)[0].source_id != "docs/notes.txt"


def test_the_same_folder_for_two_orgs_stays_separate(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = corpus(write_files)
    ingest_path(index, settings, "acme", root)
    ingest_path(index, settings, "globex", root)
    (root / "docs/notes.txt").unlink()
    ingest_path(index, settings, "acme", root)
    assert "docs/notes.txt" in index.sources("globex")
    assert "docs/notes.txt" not in index.sources("acme")


def test_a_source_ingested_from_another_path_is_updated_not_duplicated(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = corpus(write_files)
    ingest_path(index, settings, "acme", root / "docs" / "deploying.md")  # id "deploying.md", root = the file
    ingest_path(index, settings, "acme", root / "docs")  # the same id again, from the folder
    assert index.sources("acme")["deploying.md"].sync_root == (root / "docs").resolve().as_posix()
    assert len([s for s in index.sources("acme") if s == "deploying.md"]) == 1
    (root / "docs" / "deploying.md").unlink()
    assert ingest_path(index, settings, "acme", root / "docs").deleted == 1
    assert "deploying.md" not in index.sources("acme")


def test_a_file_whose_name_holds_a_hash_is_recognized_on_re_sync(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = write_files({"docs/c#-guide.md": GUIDE, "docs/c.md": RUNBOOK.replace("DiskFull", "Other")})
    first = ingest_path(index, settings, "acme", root)
    again = ingest_path(index, settings, "acme", root)
    assert (first.added, again.unchanged, again.embedded, again.deleted) == (2, 2, 0, 0)
    (root / "docs" / "c.md").unlink()
    gone = ingest_path(index, settings, "acme", root)
    assert (gone.deleted, gone.unchanged) == (1, 1) and set(index.sources("acme")) == {"docs/c#-guide.md"}
