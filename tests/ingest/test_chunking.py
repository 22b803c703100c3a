"""Chunking: never crosses a section, respects the token budget, overlaps, and keeps spans."""

from __future__ import annotations

from index.embedding import SentenceTransformerEmbedder
from ingest.chunking import chunk_blocks
from ingest.parsing import Block


def test_chunks_respect_budget_sections_and_overlap(embedder: SentenceTransformerEmbedder) -> None:
    lines = [f"Step {i}: check the replica number {i} and its readiness gate carefully." for i in range(40)]
    blocks = [Block(line, ("Diagnosis",), i + 1, i + 1) for i, line in enumerate(lines)]
    blocks.append(Block("Roll back the release.", ("Mitigation",), 41, 41))
    chunks = chunk_blocks(
        blocks, embedder.count_tokens, budget=60, overlap=16, raw_lines=lines + ["Roll back the release."]
    )
    sizes = embedder.count_tokens([c.text for c in chunks])
    assert max(sizes) <= 60
    assert chunks[-1].headings == ("Mitigation",) and chunks[-1].text == "Roll back the release."
    diagnosis = [c for c in chunks if c.headings == ("Diagnosis",)]
    assert len(diagnosis) > 3
    for before, after in zip(diagnosis, diagnosis[1:], strict=False):
        assert after.line_start is not None and before.line_end is not None
        assert after.line_start <= before.line_end  # the overlap repeats the tail of the previous chunk
        assert after.text.splitlines()[0] == lines[after.line_start - 1]


def test_an_oversized_block_is_split_by_lines_then_words(embedder: SentenceTransformerEmbedder) -> None:
    code = "\n".join(f"kubectl -n shop get pods -l app=checkout-{i} -o wide" for i in range(30))
    words = " ".join(["timeout"] * 400)
    chunks = chunk_blocks(
        [Block(code, ("Logs",), 10, 39), Block(words, ("Logs",), 40, 40)], embedder.count_tokens, budget=50, overlap=0
    )
    assert all(n <= 50 for n in embedder.count_tokens([c.text for c in chunks]))
    assert chunks[0].line_start == 10 and chunks[0].line_end is not None and chunks[0].line_end < 39
    assert "".join(c.text.replace(" ", "").replace("\n", "") for c in chunks).count("timeout") == 400


def test_a_tiny_section_joins_the_chunk_before_it(embedder: SentenceTransformerEmbedder) -> None:
    lines = [
        "## Lessons",
        "",
        "Alert on node memory pressure before the kubelet evicts pods from it.",
        "",
        "## Attendees",
        "",
        "- AF, RF",
    ]
    blocks = [Block(lines[2], ("Lessons",), 3, 3), Block(lines[6], ("Attendees",), 7, 7)]
    [chunk] = chunk_blocks(blocks, embedder.count_tokens, budget=100, overlap=0, raw_lines=lines)
    assert chunk.headings == ("Lessons",) and (chunk.line_start, chunk.line_end) == (3, 7)
    assert chunk.text.endswith("## Attendees\n\n- AF, RF")
    assert chunk.tokens == embedder.count_tokens([chunk.text])[0]  # the folded heading and lines counted too


def test_each_chunk_carries_its_token_count(embedder: SentenceTransformerEmbedder) -> None:
    code = "\n".join(f"kubectl -n shop rollout status deploy/checkout-{i}" for i in range(30))
    blocks = [Block("Check the pods first.", ("Diagnosis",), 1, 1), Block(code, ("Diagnosis",), 2, 31)]
    blocks.append(Block("Page the owners.", ("Escalation",), 32, 32))
    chunks = chunk_blocks(blocks, embedder.count_tokens, budget=60, overlap=0)
    assert len(chunks) > 2
    counted = embedder.count_tokens([c.text for c in chunks])
    assert [c.tokens for c in chunks] == counted  # what answering budgets with, without counting again
