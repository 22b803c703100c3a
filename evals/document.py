"""A small document model (headings, paragraphs, tables, images) rendered both as Markdown and as standalone HTML, so
one report serves a terminal, a pull request and a browser with the same content."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.2rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "code{background:#f3f5f7;padding:0 .2rem}img{max-width:100%;margin:.5rem 0}"
)


@dataclass(frozen=True)
class Text:
    """A paragraph, or a heading of ``heading`` level (2, 3); `backticks` mark code."""

    text: str
    heading: int = 0


@dataclass(frozen=True)
class Table:
    """Rows of cells under headers (numbers are right-aligned in HTML)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True)
class Image:
    """A picture next to the report (a relative path)."""

    path: str
    alt: str


Block = Text | Table | Image


@dataclass
class Doc:
    """A title and blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        parts = [f"# {self.title}"]
        for block in self.blocks:
            if isinstance(block, Text):
                parts.append(f"{'#' * block.heading} {block.text}" if block.heading else block.text)
            elif isinstance(block, Table):
                parts.append(_markdown_table(block))
            else:
                parts.append(f"![{block.alt}]({block.path})")
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        """A standalone HTML page (inline style, no script)."""
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if isinstance(block, Text):
                tag = f"h{block.heading}" if block.heading else "p"
                body.append(f"<{tag}>{_inline(block.text)}</{tag}>")
            elif isinstance(block, Table):
                body.append(_html_table(block))
            else:
                body.append(f'<p><img src="{html.escape(block.path)}" alt="{html.escape(block.alt)}"></p>')
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body)
            + "\n</body></html>\n"
        )


def _markdown_table(table: Table) -> str:
    def cell(value: object) -> str:
        return " ".join(str(value).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in table.headers) + " |", "|" + "---|" * len(table.headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if _numeric(v) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _numeric(value: object) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
