"""Parsing sources into located blocks: titles and sections kept, each block's line span found.

Markdown is parsed with markdown-it (CommonMark + tables), whose block tokens carry exact line maps; unstructured was
measured at 76-118 ms a document here (it runs a spaCy pipeline on every paragraph to classify it), which alone held
ingestion to about half the embedding throughput. HTML and plain text are partitioned by element with unstructured;
PDFs take the lightweight text path (pdfminer text per page, then partitioned as text), so no layout model,
torchvision or CUDA library is ever needed. Structured incident exports (JSON or YAML records) become one document per
record.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ingest.metadata import split_front_matter
from ingest.reading import SourceBytes, UnreadableSource

# unstructured reports usage to a remote service and prints a notice unless told not to; nothing leaves this machine.
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

_WORD = re.compile(r"[A-Za-z0-9]+")
_TAG = re.compile(r"<[^>]*>")
_SKIP_CATEGORIES = {"PageBreak", "Header", "Footer"}
_LOOKAHEAD = 40


class NoContent(UnreadableSource):
    """A well-formed file with nothing to index (e.g. only front matter): passed over, not failed."""


@dataclass(frozen=True)
class Block:
    """A located piece of a document: its text, heading path (below the title) and where it stands."""

    text: str
    headings: tuple[str, ...]
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None


@dataclass
class ParsedDocument:
    """A document as blocks, with its title, front matter and full text (for metadata)."""

    title: str
    blocks: list[Block]
    front: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    key: str = ""  # record id within a multi-record file; empty for ordinary files


@dataclass(frozen=True)
class _Element:
    text: str
    category: str
    depth: int
    page: int | None


def parse(source: SourceBytes, fallback_title: str) -> list[ParsedDocument]:
    """The documents in a source (one, or one per record of an incident export)."""
    try:
        if source.format == "pdf":
            return [_parse_pdf(source.data, fallback_title)]
        text = source.text()
        if source.format == "records":
            return _parse_records(text, source.path.suffix.lower(), fallback_title)
        return [_parse_text(text, source.format, fallback_title)]
    except UnreadableSource:
        raise
    except Exception as exc:  # a parser's own failure on bad content: reported per file, the run goes on
        raise UnreadableSource(f"cannot parse {source.format}: {type(exc).__name__}: {exc}") from exc


def _parse_text(text: str, fmt: str, fallback_title: str) -> ParsedDocument:
    if fmt == "markdown":
        return parse_markdown(text, fallback_title)
    elements = _partition(text, fmt) if text.strip() else []
    if not elements:
        raise NoContent(f"no text found in {fmt}")
    lines = text.splitlines()
    searchable = [_TAG.sub(" ", line) for line in lines] if fmt == "html" else lines
    spans = _locate(searchable, [e.text for e in elements])
    return _assemble(elements, spans, None if fmt == "html" else lines, {}, fallback_title, text)


_BLOCK_OPENERS = {
    "paragraph_open",
    "bullet_list_open",
    "ordered_list_open",
    "blockquote_open",
    "table_open",
    "fence",
    "code_block",
    "html_block",
}


def parse_markdown(text: str, fallback_title: str) -> ParsedDocument:
    """Markdown into located blocks (front matter split off, the first heading as title)."""
    from markdown_it import MarkdownIt

    front, front_lines = split_front_matter(text)
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").enable("table").parse("\n".join(lines[front_lines:]))
    title = ""
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        start, end = token.map[0] + front_lines + 1, token.map[1] + front_lines
        if token.type == "heading_open":
            depth, heading = int(token.tag[1:]), tokens[i + 1].content.strip()
            if depth == 1 and not title and not blocks and not stack:
                title = heading  # the document's own heading is its title
                continue
            while stack and stack[-1][0] >= depth:
                stack.pop()
            stack.append((depth, heading))
        elif token.type in _BLOCK_OPENERS:
            body = "\n".join(lines[start - 1 : end]).strip()
            if body:
                blocks.append(Block(body, tuple(h for _, h in stack), start, end))
    if not blocks:
        raise NoContent("no text besides front matter" if front_lines else "no text found in markdown")
    return ParsedDocument(title or str(front.get("title") or "") or fallback_title, blocks, front, text)


def _parse_pdf(data: bytes, fallback_title: str) -> ParsedDocument:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    from pdfminer.pdfparser import PDFSyntaxError

    elements: list[_Element] = []
    pages: list[str] = []
    try:
        for number, layout in enumerate(extract_pages(io.BytesIO(data)), start=1):
            page_text = "".join(item.get_text() for item in layout if isinstance(item, LTTextContainer))
            pages.append(page_text)
            if page_text.strip():
                elements.extend(_Element(e.text, e.category, e.depth, number) for e in _partition(page_text, "text"))
    except PDFSyntaxError as exc:
        raise UnreadableSource(f"corrupt PDF: {exc}") from exc
    if not elements:
        raise UnreadableSource("no extractable text in PDF (scanned images need OCR, which is not enabled)")
    return _assemble(elements, [(None, None)] * len(elements), None, {}, fallback_title, "\n".join(pages))


def _parse_records(text: str, suffix: str, fallback_title: str) -> list[ParsedDocument]:
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise UnreadableSource(f"invalid {suffix.lstrip('.').upper()}: {exc}") from exc
    records = data.get("incidents") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) and r.get("id") for r in records):
        raise UnreadableSource(
            "not an incident export: expected a list of records with an 'id' (or {incidents: [...]})"
        )
    documents = []
    for record in records:
        rendered = render_record(record)
        doc = _parse_text(rendered, "markdown", str(record.get("title") or fallback_title))
        documents.append(
            ParsedDocument(
                doc.title,
                [Block(b.text, b.headings) for b in doc.blocks],
                dict(record),
                rendered,
                key=str(record["id"]),
            )
        )
    return documents


def render_record(record: dict[str, Any]) -> str:
    """An incident record as a markdown postmortem (so it is chunked and cited like one)."""
    out = [f"# {record.get('title') or record['id']}", ""]
    for key, value in record.items():
        if key in ("title", "id") or value in (None, "", [], {}):
            continue
        heading = key.replace("_", " ").capitalize()
        if isinstance(value, list):
            out += [f"## {heading}", ""] + [f"- {_inline(item)}" for item in value] + [""]
        elif isinstance(value, dict) or len(str(value)) > 80:
            out += [f"## {heading}", "", _inline(value), ""]
        else:
            out.append(f"- {heading}: {value}")
    out.insert(2, f"- Id: {record['id']}")
    return "\n".join(out) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _partitioner(fmt: str) -> Callable[..., list[Any]]:
    if fmt == "markdown":
        from unstructured.partition.md import partition_md

        return partition_md
    if fmt == "html":
        from unstructured.partition.html import partition_html

        return partition_html
    from unstructured.partition.text import partition_text

    return partition_text


def _partition(text: str, fmt: str) -> list[_Element]:
    elements = []
    partition = _partitioner(fmt)
    for e in partition(text=text):
        if e.category in _SKIP_CATEGORIES or not (e.text or "").strip():
            continue
        depth = e.metadata.category_depth if e.metadata.category_depth is not None else 0
        elements.append(_Element(e.text.strip(), e.category, int(depth), e.metadata.page_number))
    return elements


def _locate(lines: list[str], texts: list[str]) -> list[tuple[int | None, int | None]]:
    """1-based line spans of each text in ``lines``, aligning words in order (markup words may be skipped)."""
    source = [(w.lower(), n) for n, line in enumerate(lines) for w in _WORD.findall(line)]
    cursor = 0
    spans: list[tuple[int | None, int | None]] = []
    for text in texts:
        words = [w.lower() for w in _WORD.findall(text)]
        first = last = None
        j = cursor
        for word in words:
            for k in range(j, min(j + _LOOKAHEAD, len(source))):
                if source[k][0] == word:
                    first = k if first is None else first
                    last, j = k, k + 1
                    break
        if first is None or last is None:
            spans.append((None, None))
            continue
        cursor = last + 1
        spans.append((source[first][1] + 1, source[last][1] + 1))
    return spans


def _assemble(
    elements: list[_Element],
    spans: list[tuple[int | None, int | None]],
    raw_lines: list[str] | None,
    front: dict[str, Any],
    fallback_title: str,
    text: str,
) -> ParsedDocument:
    title = str(front.get("title") or "")
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for i, (element, (start, end)) in enumerate(zip(elements, spans, strict=True)):
        if element.category == "Title":
            if i == 0 and element.depth == 0:  # the document's own heading is its title
                title = element.text
                continue
            while stack and stack[-1][0] >= element.depth:
                stack.pop()
            stack.append((element.depth, element.text))
            continue
        body = element.text
        if raw_lines is not None and start is not None and end is not None:
            body = "\n".join(raw_lines[start - 1 : end]).strip() or element.text
        blocks.append(Block(body, tuple(h for _, h in stack), start, end, element.page))
    return ParsedDocument(title or fallback_title, blocks, front, text)
