"""Structure-aware chunking: sections first, then a token budget with overlap; every chunk keeps its span."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.parsing import Block

TokenCounter = Callable[[Sequence[str]], list[int]]

MIN_CHUNK_TOKENS = 24  # a section smaller than this joins the chunk before it
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class TextChunk:
    """A chunk's text and where it stands in its source."""

    text: str
    headings: tuple[str, ...]
    line_start: int | None
    line_end: int | None
    page: int | None
    tokens: int = 0  # model word pieces of the text


def chunk_blocks(
    blocks: Sequence[Block], count_tokens: TokenCounter, budget: int, overlap: int, raw_lines: list[str] | None = None
) -> list[TextChunk]:
    """Chunks of at most ``budget`` tokens that never cross a section; ``overlap`` tokens carry into the next chunk.

    With ``raw_lines`` (line-based formats) a chunk's text is the exact source lines of its span.
    """
    fitted = [
        fit
        for block, size in zip(blocks, count_tokens([b.text for b in blocks]), strict=True)
        for fit in _fit(block, size, count_tokens, budget)
    ]
    pieces, sizes = [p for p, _ in fitted], [n for _, n in fitted]
    chunks: list[TextChunk] = []
    current: list[int] = []
    for i, piece in enumerate(pieces):
        same_section = current and pieces[current[0]].headings == piece.headings
        if current and (not same_section or sum(sizes[j] for j in current) + sizes[i] > budget):
            chunks.append(_join([pieces[j] for j in current], raw_lines))
            current = _overlap_tail(current, sizes, overlap, budget - sizes[i]) if same_section else []
        current.append(i)
    if current:
        chunks.append(_join([pieces[j] for j in current], raw_lines))
    return _absorb_small(chunks, count_tokens, budget, raw_lines)


def _absorb_small(
    chunks: list[TextChunk], count_tokens: TokenCounter, budget: int, raw_lines: list[str] | None
) -> list[TextChunk]:
    """Folds a tiny section (an attendee list, a one-line note) into the chunk before it, where the two fit.

    Alone, such a chunk is mostly its title and heading once embedded, and outranks the sections that answer.
    """
    sizes = count_tokens([c.text for c in chunks])
    merged: list[TextChunk] = []
    merged_sizes: list[int] = []
    folded: set[int] = set()
    for chunk, size in zip(chunks, sizes, strict=True):
        if merged and size < MIN_CHUNK_TOKENS and merged_sizes[-1] + size <= budget:
            previous = merged[-1]
            text = previous.text + "\n\n" + chunk.text
            start, end = previous.line_start, chunk.line_end or previous.line_end
            if raw_lines is not None and start is not None and end is not None:
                text = "\n".join(raw_lines[start - 1 : end]).strip()
            merged[-1] = TextChunk(text, previous.headings, start, end, previous.page)
            merged_sizes[-1] += size
            folded.add(len(merged) - 1)
            continue
        merged.append(chunk)
        merged_sizes.append(size)
    # a folded chunk's text is its whole span of source lines (the folded heading too): counted as it is
    recounted = dict(zip(sorted(folded), count_tokens([merged[i].text for i in sorted(folded)]), strict=True))
    return [
        TextChunk(c.text, c.headings, c.line_start, c.line_end, c.page, recounted.get(i, n))
        for i, (c, n) in enumerate(zip(merged, merged_sizes, strict=True))
    ]


def _overlap_tail(current: list[int], sizes: list[int], overlap: int, room: int) -> list[int]:
    tail: list[int] = []
    used = 0
    for j in reversed(current):
        if used + sizes[j] > min(overlap, room):
            break
        tail.insert(0, j)
        used += sizes[j]
    return tail


def _join(pieces: list[Block], raw_lines: list[str] | None) -> TextChunk:
    starts = [p.line_start for p in pieces if p.line_start is not None]
    ends = [p.line_end for p in pieces if p.line_end is not None]
    start, end = (min(starts), max(ends)) if starts and ends else (None, None)
    if raw_lines is not None and start is not None and end is not None and len(pieces) > 1:
        text = "\n".join(raw_lines[start - 1 : end]).strip()
    else:
        text = "\n".join(p.text for p in pieces)
    pages = [p.page for p in pieces if p.page is not None]
    return TextChunk(text, pieces[0].headings, start, end, pages[0] if pages else None)


def _fit(block: Block, size: int, count_tokens: TokenCounter, budget: int) -> list[tuple[Block, int]]:
    """The block, or pieces of it that each fit the budget (by lines, then sentences, then words), with their
    token counts (``size`` is the block's)."""
    if size <= budget:
        return [(block, size)]
    lines = block.text.split("\n")
    if len(lines) > 1:
        units, per_line = lines, True
    else:
        units = _SENTENCE_END.split(block.text)
        per_line = False
        if len(units) == 1:
            units = block.text.split(" ")
    sizes = count_tokens(units)
    pieces: list[Block] = []
    group: list[int] = []
    for i, unit_size in enumerate(sizes):
        if group and sum(sizes[j] for j in group) + unit_size > budget:
            pieces.append(_sub_block(block, units, group, per_line))
            group = []
        group.append(i)
    pieces.append(_sub_block(block, units, group, per_line))
    return [
        fit
        for piece, n in zip(pieces, count_tokens([p.text for p in pieces]), strict=True)
        for fit in (_fit(piece, n, count_tokens, budget) if piece.text != block.text else [(piece, n)])
    ]


def _sub_block(block: Block, units: list[str], group: list[int], per_line: bool) -> Block:
    text = ("\n" if per_line else " ").join(units[j] for j in group)
    start, end = block.line_start, block.line_end
    if per_line and start is not None:
        start, end = start + group[0], start + group[-1]
    return Block(text, block.headings, start, end, block.page)
