"""An ingest run: discover, read, parse, chunk, embed and write; skip what did not change; delete what vanished.

State lives in the index itself (each chunk carries its document hash and the folder it was synced from), so the index
is the single source of truth and a backend switch carries its sync state along.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import Settings
from index.knowledge import KnowledgeIndex, SourceState
from index.records import Chunk, SourceType, embed_text
from index.tenancy import validate_org
from ingest.chunking import TextChunk, chunk_blocks
from ingest.discovery import SourceFile, discover
from ingest.metadata import incident_metadata, runbook_metadata
from ingest.parsing import NoContent, ParsedDocument, parse, parse_markdown
from ingest.reading import SourceBytes, UnreadableSource, read_source
from ingest.summary import FileProblem, IngestSummary

log = logging.getLogger(__name__)

PARSER_VERSION = "2"  # 2: chunks carry their token count
# chunks embedded together: the embedder sorts them by length, so a wider window pads less (measured on the generated
# corpus: 256 chunks 83 chunks/s, 1,024 92, 2,048 99); the window is also what an interrupted run redoes
EMBED_WINDOW = 1024
Progress = Callable[[str, int, int], None]  # (source id, files done, files in all)


@dataclass(frozen=True)
class RenderedSource:
    """A source that is not a file: a document rendered as markdown (a cluster object), with its payload fields."""

    source_id: str
    source_type: SourceType
    uri: str
    text: str
    metadata: dict[str, Any]


@dataclass
class _Pending:
    """A parsed source waiting for its embeddings."""

    source_id: str
    chunks: list[Chunk]
    previous: SourceState | None


class IngestRun:
    """One ingest of a path for one organization."""

    def __init__(self, index: KnowledgeIndex, settings: Settings, org: str) -> None:
        self.index = index
        self.settings = settings
        self.org = validate_org(org)
        self._fingerprint = f"{PARSER_VERSION}:{index.embedder.name}:{settings.chunk_tokens}:{settings.chunk_overlap}"

    def run(self, path: Path, source_type: SourceType | None = None, progress: Progress | None = None) -> IngestSummary:
        """Ingest ``path``; per-file failures are reported in the summary, never raised."""
        started = time.perf_counter()
        found = discover(path, source_type)
        root = found.root.as_posix()
        summary = IngestSummary(self.org, root, skipped=[FileProblem(s, r) for s, r in found.skipped])
        known = self.index.sources(self.org)  # every root: a source may move between ingest paths
        by_file = _by_file(known)
        seen: set[str] = set()
        batch: list[_Pending] = []
        for done, source in enumerate(found.files, start=1):
            for pending in self._prepare(source, root, by_file.get(source.source_id, []), seen, summary):
                batch.append(pending)
            if sum(len(p.chunks) for p in batch) >= EMBED_WINDOW:
                self._flush(batch, summary)
                batch = []
            if progress:
                progress(source.source_id, done, len(found.files))
        self._flush(batch, summary)
        self._finish(
            summary, [sid for sid, state in known.items() if state.sync_root == root and sid not in seen], started
        )
        return summary

    def sync(
        self, root: str, sources: Iterable[RenderedSource], progress: Progress | None = None, total: int = 0
    ) -> IngestSummary:
        """Sync rendered sources under ``root``: unchanged ones are skipped, changed ones replaced, and sources of
        ``root`` that are no longer given are deleted."""
        started = time.perf_counter()
        summary = IngestSummary(self.org, root)
        known = self.index.sources(self.org, sync_root=root)
        seen: set[str] = set()
        batch: list[_Pending] = []
        for done, source in enumerate(sources, start=1):
            seen.add(source.source_id)
            pending = self._rendered(source, root, known.get(source.source_id), summary)
            if pending is not None:
                batch.append(pending)
            if sum(len(p.chunks) for p in batch) >= EMBED_WINDOW:
                self._flush(batch, summary)
                batch = []
            if progress:
                progress(source.source_id, done, max(total, done))
        self._flush(batch, summary)
        self._finish(summary, [sid for sid in known if sid not in seen], started)
        return summary

    def _rendered(
        self, source: RenderedSource, root: str, previous: SourceState | None, summary: IngestSummary
    ) -> _Pending | None:
        doc_hash = hashlib.sha256(f"{self._fingerprint}:{source.text}".encode()).hexdigest()
        if previous is not None and previous.doc_hash == doc_hash:
            summary.unchanged += 1
            return None
        t0 = time.perf_counter()
        try:
            document = parse_markdown(source.text, source.source_id.rsplit("/", 1)[-1])
        except UnreadableSource as exc:
            summary.failed.append(FileProblem(source.source_id, str(exc)))
            return None
        finally:
            summary.timings["parse"] = summary.timings.get("parse", 0.0) + time.perf_counter() - t0
        base = self._base(document, source.source_type, source.uri, root, doc_hash) | source.metadata
        chunks = self._split(document, source.source_id, source.text.splitlines(), base)
        return _Pending(source.source_id, chunks, previous)

    def _finish(self, summary: IngestSummary, vanished: list[str], started: float) -> None:
        self.index.delete_sources(self.org, vanished)
        summary.deleted = len(vanished)
        if summary.embedded or vanished:
            self._timed(summary, "optimize", self.index.optimize)
        summary.seconds = time.perf_counter() - started

    def _prepare(
        self, source: SourceFile, root: str, prior: list[SourceState], seen: set[str], summary: IngestSummary
    ) -> list[_Pending]:
        """The file's sources to embed; ``prior`` is what the index holds of it (its documents, if it has several)."""
        t0 = time.perf_counter()
        try:
            content = read_source(source.path, self.settings.max_file_bytes)
        except UnreadableSource as exc:
            summary.failed.append(FileProblem(source.source_id, str(exc)))
            seen.update(s.source_id for s in prior)
            return []
        doc_hash = hashlib.sha256(f"{self._fingerprint}:{content.sha256}".encode()).hexdigest()
        if prior and all(s.doc_hash == doc_hash and s.sync_root == root for s in prior):
            seen.update(s.source_id for s in prior)
            summary.unchanged += len(prior)
            return []
        try:
            documents = parse(content, source.path.stem)
        except NoContent as exc:
            summary.skipped.append(FileProblem(source.source_id, str(exc)))
            return []
        except UnreadableSource as exc:
            summary.failed.append(FileProblem(source.source_id, str(exc)))
            seen.update(s.source_id for s in prior)
            return []
        finally:
            summary.timings["parse"] = summary.timings.get("parse", 0.0) + time.perf_counter() - t0
        pending, previous = [], {s.source_id: s for s in prior}
        for document in documents:
            source_id = f"{source.source_id}#{document.key}" if document.key else source.source_id
            seen.add(source_id)
            chunks = self._chunks(document, source, content, source_id, root, doc_hash)
            if not chunks:
                summary.failed.append(FileProblem(source_id, "no text to index"))
                continue
            pending.append(_Pending(source_id, chunks, previous.get(source_id)))
        return pending

    def _chunks(
        self, doc: ParsedDocument, source: SourceFile, content: SourceBytes, source_id: str, root: str, doc_hash: str
    ) -> list[Chunk]:
        raw_lines = doc.text.splitlines() if content.format in ("markdown", "text") and not doc.key else None
        uri = source.path.as_uri() + (f"#{doc.key}" if doc.key else "")
        base = self._base(doc, source.source_type, uri, root, doc_hash) | self._type_metadata(doc, source)
        return self._split(doc, source_id, raw_lines, base)

    def _base(self, doc: ParsedDocument, source_type: str, uri: str, root: str, doc_hash: str) -> dict[str, Any]:
        return {
            "source_type": source_type,
            "title": doc.title,
            "uri": uri,
            "doc_hash": doc_hash,
            "sync_root": root,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _split(
        self, doc: ParsedDocument, source_id: str, raw_lines: list[str] | None, base: dict[str, Any]
    ) -> list[Chunk]:
        pieces = chunk_blocks(
            doc.blocks,
            self.index.embedder.count_tokens,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap,
            raw_lines,
        )
        base = base | {"chunk_count": len(pieces)}
        return [self._chunk(source_id, i, piece, doc.title, base) for i, piece in enumerate(pieces)]

    @staticmethod
    def _chunk(source_id: str, position: int, piece: TextChunk, title: str, base: dict[str, Any]) -> Chunk:
        section = " > ".join(piece.headings)
        content_hash = hashlib.sha256(f"{title}\n{section}\n{piece.text}".encode()).hexdigest()
        payload = {
            **base,
            "section": section,
            "content_hash": content_hash,
            "line_start": piece.line_start,
            "line_end": piece.line_end,
            "page": piece.page,
            "tokens": piece.tokens,  # answering budgets its context with it, without counting again
        }
        return Chunk(source_id, position, piece.text, embed_text(title, section, piece.text), payload)

    @staticmethod
    def _type_metadata(doc: ParsedDocument, source: SourceFile) -> dict[str, Any]:
        if source.source_type == "runbook":
            return runbook_metadata(doc.front, doc.title, source.path.stem)
        if source.source_type == "incident":
            return incident_metadata(doc.front, doc.text, doc.key or source.path.stem)
        tags = doc.front.get("tags")
        return {"tags": [str(t) for t in tags]} if isinstance(tags, list) else {}

    def _flush(self, batch: list[_Pending], summary: IngestSummary) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        reusable: dict[str, list[float]] = {}
        for pending in batch:
            if pending.previous is not None:
                reusable.update(self.index.chunk_vectors(self.org, pending.source_id))
        chunks = [c for p in batch for c in p.chunks]
        missing = [c for c in chunks if c.payload["content_hash"] not in reusable]
        t1 = time.perf_counter()
        fresh = self.index.embedder.encode([c.embed_text for c in missing]) if missing else None
        t2 = time.perf_counter()
        vectors: dict[str, Any] = reusable | {
            c.payload["content_hash"]: v for c, v in zip(missing, fresh if fresh is not None else [], strict=True)
        }
        for pending in batch:
            # position 0 carries the source's state, so it is written last: an interrupted run redoes the source
            ordered = sorted(pending.chunks, key=lambda c: -c.position)
            dense = np.asarray(
                [vectors[c.payload["content_hash"]] for c in ordered],
                dtype=np.float32,
            )
            if pending.previous is not None:
                stale = range(len(pending.chunks), pending.previous.chunk_count)
                self.index.delete_positions(self.org, pending.source_id, list(stale))
            self.index.write(self.org, ordered, dense)
            if pending.previous is None:
                summary.added += 1
            else:
                summary.updated += 1
        summary.chunks += len(chunks)
        summary.embedded += len(missing)
        summary.reused += len(chunks) - len(missing)
        t3 = time.perf_counter()
        for stage, seconds in (("reuse_lookup", t1 - t0), ("embed", t2 - t1), ("write", t3 - t2)):
            summary.timings[stage] = summary.timings.get(stage, 0.0) + seconds

    def _timed(self, summary: IngestSummary, stage: str, work: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        work()
        summary.timings[stage] = summary.timings.get(stage, 0.0) + time.perf_counter() - t0


def _by_file(known: dict[str, SourceState]) -> dict[str, list[SourceState]]:
    """Known sources by the file they came from: a file's own id, or the id before a ``#`` of one of its documents
    (every such prefix, since a file name may hold a ``#`` too); one pass instead of a scan of all sources per file."""
    found: dict[str, list[SourceState]] = {}
    for sid, state in known.items():
        found.setdefault(sid, []).append(state)
        cut = sid.find("#")
        while cut != -1:
            found.setdefault(sid[:cut], []).append(state)
            cut = sid.find("#", cut + 1)
    return found


def ingest_path(
    index: KnowledgeIndex,
    settings: Settings,
    org: str,
    path: Path,
    source_type: SourceType | None = None,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest a file or folder for ``org`` (see IngestRun)."""
    return IngestRun(index, settings, org).run(path, source_type, progress)
