"""Units of sources and how the extractive answers choose them: sentences, list items, table rows and code blocks,
scored by the question's words (weighted by rarity), the retrieval score of their source and, for troubleshooting,
whether they sit in a diagnosis or mitigation section; then composed, grouped by source, each line cited."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.context import ContextSource
from assistant.intent import is_troubleshooting, section_role
from assistant.terms import terms

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_MAX_UNITS = 9
_MAX_PER_SOURCE = 4
_MAX_CHARS = 1800
_MAX_SOURCES = 3
_RELATIVE_FLOOR = 0.3
_SOURCE_SIMILARITY_GAP = 0.2
_ROLE_BONUS = 2.0
_UNIT_CHARS = 600


@dataclass(frozen=True)
class Unit:
    """A sentence, list item, table row or code block of a source."""

    source: ContextSource
    index: int
    text: str
    code: bool
    role: str


def split_units(source: ContextSource) -> list[Unit]:
    """The units of a source's text, in document order."""
    role = section_role(source.section)
    pieces: list[tuple[str, bool]] = []
    code: list[str] | None = None
    paragraph: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(paragraph).split())
        pieces.extend((s, False) for s in _SENTENCE_END.split(text) if s.strip())
        paragraph.clear()

    for line in source.text.splitlines():
        if _FENCE.match(line):
            if code is None:
                flush()
                code = []
            else:
                pieces.append(("\n".join(code), True))
                code = None
            continue
        if code is not None:
            code.append(line)
        elif not line.strip() or line.lstrip().startswith("#"):
            flush()
        elif _LIST_ITEM.match(line) or line.lstrip().startswith("|"):
            flush()
            pieces.append((_LIST_ITEM.sub("", line).strip(), False))
        elif line.startswith((" ", "\t")) and pieces and not paragraph and not pieces[-1][1]:
            pieces[-1] = (pieces[-1][0] + " " + line.strip(), False)  # continuation of a list item
        else:
            paragraph.append(line)
    if code:
        pieces.append(("\n".join(code), True))
    flush()
    return [
        Unit(source, i, text[:_UNIT_CHARS], is_code, role)
        for i, (text, is_code) in enumerate(pieces)
        if text.strip() and not set(text.strip()) <= set("|-: ")
    ]


class Scorer:
    """Scores units by the question's words they hold, weighted by rarity among all units (BM25-like)."""

    def __init__(self, units: Sequence[Unit], question: str, history: Sequence[str], troubleshooting: bool) -> None:
        self.weights: dict[str, float] = dict.fromkeys(terms(question), 1.0)
        for earlier in history:
            for t in terms(earlier):
                self.weights[t] = max(self.weights.get(t, 0.0), 0.4)
        self.unit_terms = [set(terms(u.text)) for u in units]
        df: Counter[str] = Counter(t for ts in self.unit_terms for t in ts if t in self.weights)
        n = max(len(units), 1)
        self.idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in self.weights}
        self.troubleshooting = troubleshooting

    def score(self, unit: Unit, unit_terms: set[str]) -> float:
        """Relevance of one unit."""
        matched = sum(self.weights[t] * self.idf[t] for t in unit_terms if t in self.weights)
        if matched == 0:
            return 0.0
        length = 1 + 0.25 * max(0.0, len(unit.text) / 200 - 1)
        prior = 1 + unit.source.hit.similarity + 0.5 / unit.source.n
        role = _ROLE_BONUS if self.troubleshooting and unit.role in ("diagnosis", "mitigation", "cause") else 1.0
        return matched / length * prior * role


def select_units(question: str, sources: Sequence[ContextSource], history: Sequence[str] = ()) -> list[Unit]:
    """The best units for the question, at most a few per source, in a stable order."""
    best = max((s.hit.similarity for s in sources), default=0.0)
    close = [s for s in sources if s.hit.similarity >= best - _SOURCE_SIMILARITY_GAP]
    units = [u for s in close for u in split_units(s)]
    if not units:
        return []
    scorer = Scorer(units, question, history, is_troubleshooting(question))
    scored = sorted(
        ((scorer.score(u, ts), u) for u, ts in zip(units, scorer.unit_terms, strict=True)),
        key=lambda pair: (-pair[0], pair[1].source.n, pair[1].index),
    )
    if not scored or scored[0][0] <= 0:
        return [units[0]]
    floor = scored[0][0] * _RELATIVE_FLOOR
    chosen: list[Unit] = []
    per_source: Counter[int] = Counter()
    chars = 0
    for score, unit in scored:
        if score < floor or len(chosen) >= _MAX_UNITS or chars + len(unit.text) > _MAX_CHARS:
            break
        new_source = unit.source.n not in per_source
        if per_source[unit.source.n] < _MAX_PER_SOURCE and not (new_source and len(per_source) >= _MAX_SOURCES):
            chosen.append(unit)
            per_source[unit.source.n] += 1
            chars += len(unit.text)
    return with_introduced_code(chosen, units)


def with_introduced_code(chosen: list[Unit], units: Sequence[Unit]) -> list[Unit]:
    """A chosen sentence that ends with a colon introduces the code block after it: take the block along."""
    following = {(u.source.n, u.index): u for u in units}
    picked = {(u.source.n, u.index) for u in chosen}
    extra = []
    for unit in chosen:
        nxt = following.get((unit.source.n, unit.index + 1))
        if (
            unit.text.rstrip().endswith(":")
            and nxt is not None
            and nxt.code
            and (nxt.source.n, nxt.index) not in picked
        ):
            extra.append(nxt)
            picked.add((nxt.source.n, nxt.index))
    return chosen + extra


def render(unit: Unit) -> str:
    """One unit as an answer line, with its citation marker."""
    marker = f"[{unit.source.n}]"
    if not unit.code:
        return f"{unit.text} {marker}"
    if "\n" not in unit.text.strip():
        return f"`{unit.text.strip()}` {marker}"
    return f"From {marker}:\n```\n{unit.text.strip()}\n```"


def _about(source: ContextSource) -> str:
    """What identifies the source in a heading: an incident's id, date and severity; else the section."""
    if source.source_type == "incident":
        facts = [source.field(k) for k in ("incident_id", "date", "severity")]
        return " (" + ", ".join(str(f) for f in facts if f) + ")" if any(facts) else ""
    return f" ({source.section})" if source.section else ""


def compose(question: str, units: Sequence[Unit]) -> str:
    """The answer: the chosen units grouped by source (best source first), each group in document order."""
    order: list[int] = []
    for unit in units:
        if unit.source.n not in order:
            order.append(unit.source.n)
    blocks: list[str] = []
    for n in order:
        group = sorted((u for u in units if u.source.n == n), key=lambda u: u.index)
        source = group[0].source
        heading = f"**{source.title}**" + _about(source) + f" [{n}]"
        if len(group) == 1 and not group[0].code:
            blocks.append(f"{heading}: {render(group[0])}")
        else:
            blocks.append(heading + "\n" + "\n".join(f"- {render(u)}" if not u.code else render(u) for u in group))
    return "\n\n".join(blocks)
