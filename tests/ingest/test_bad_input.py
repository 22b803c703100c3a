"""Bad input: each bad file is reported with its reason, the rest is ingested, nothing indexed is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InvalidOrgError, NotFoundError
from core.settings import Settings
from index import KnowledgeIndex
from ingest import ingest_path
from tests.conftest import settings_for

Writer = Callable[[dict[str, str | bytes]], Path]

GOOD = "# Good\n\n## Section\n\nA good document about namespaces.\n"

BAD: dict[str, tuple[str | bytes, str]] = {
    "empty.md": ("", "empty file"),
    "blank.txt": ("   \n\n", "empty file"),
    "binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary content"),
    "latin1.txt": ("caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
    "corrupt.pdf": (b"%PDF-1.4\n1 0 obj garbage <<<< endobj trailer", "PDF"),
    "fake.pdf": (b"just text pretending", "not a PDF file"),
    "incidents/broken.json": ('{"incidents": [', "invalid JSON"),
}


def test_each_bad_file_has_a_reason_and_the_rest_is_ingested(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = write_files(
        {
            "good.md": GOOD,
            **{name: content for name, (content, _) in BAD.items()},
            "image.png": b"\x89PNG",
            "docs/data.json": "{}",
        }
    )
    summary = ingest_path(index, settings, "acme", root)
    reasons = {p.source_id: p.reason for p in summary.failed}
    assert set(reasons) == set(BAD)
    for name, (_, reason) in BAD.items():
        assert reason in reasons[name], (name, reasons[name])
    assert {p.source_id for p in summary.skipped} == {"image.png", "docs/data.json"}
    assert summary.added == 1 and not summary.ok
    assert index.sources("acme").keys() == {"good.md"}


def test_oversized_files_are_refused(tmp_path: Path, backend: str, embedder: object, write_files: Writer) -> None:
    from index.factory import open_index

    settings = settings_for(tmp_path, backend, max_file_bytes=1000)
    root = write_files({"big.md": "# Big\n\n" + "word " * 400, "good.md": GOOD})
    with open_index(settings, embedder) as index:  # type: ignore[arg-type]
        summary = ingest_path(index, settings, "acme", root)
    assert [p.source_id for p in summary.failed] == ["big.md"]
    assert "over the 0.0 MB limit" in summary.failed[0].reason and summary.added == 1


def test_a_file_that_goes_bad_keeps_its_indexed_chunks(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = write_files({"good.md": GOOD, "later-bad.md": "# Later\n\nThis is fine for now.\n"})
    ingest_path(index, settings, "acme", root)
    (root / "later-bad.md").write_bytes(b"\xff\xfe\x00garbage" + bytes(range(128, 256)))
    summary = ingest_path(index, settings, "acme", root)
    assert [p.source_id for p in summary.failed] == ["later-bad.md"] and summary.deleted == 0
    assert "later-bad.md" in index.sources("acme")
    assert index.search("acme", "fine for now", k=1)[0].source_id == "later-bad.md"


def test_front_matter_only_files_are_passed_over(
    index: KnowledgeIndex, settings: Settings, write_files: Writer
) -> None:
    root = write_files({"_index.md": "---\ntitle: section\nweight: 10\n---\n", "good.md": GOOD})
    summary = ingest_path(index, settings, "acme", root)
    assert summary.ok and [p.reason for p in summary.skipped] == ["no text besides front matter"]


def test_missing_path_and_invalid_org_are_errors(index: KnowledgeIndex, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="path not found"):
        ingest_path(index, settings, "acme", tmp_path / "nope")
    with pytest.raises(InvalidOrgError):
        ingest_path(index, settings, "Not An Org", tmp_path)
