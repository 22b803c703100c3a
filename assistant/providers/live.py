"""The extractive answer to a troubleshooting question that the cluster tools looked into: what the cluster shows
(each finding with its evidence, the log lines that carry the error, the warning events), then what the matching
runbook says to check and do, then the past incident that looks most alike; every line cited to its source.

The runbook's and the incident's lines are chosen by the question *and* the findings' own words, so a crash that
logs "config validation failed" brings up the runbook's configuration step, not only its generic ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.context import ContextSource
from assistant.providers.units import (
    Scorer,
    Unit,
    compose,
    render,
    select_units,
    split_units,
    with_introduced_code,
)

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SIGNAL = re.compile(r"panic|fatal|error|exception|denied|refused|failed|killed|not found|invalid|insufficient", re.I)
_EVIDENCE_LINES = 4
_STEPS = {"runbook": (("diagnosis", 2), ("mitigation", 3)), "incident": (("cause", 1), ("mitigation", 1), ("info", 1))}


def compose_troubleshooting(question: str, live: Sequence[ContextSource], documents: Sequence[ContextSource]) -> str:
    """Live evidence first, then the runbook's steps and the closest past incident (else the best passages)."""
    signal = " ".join(line for s in live if s.section == "Findings" for line in _items(s) if _SIGNAL.search(line))
    parts = [compose_live(live)]
    if any(s.source_type == "generated" for s in live):  # manifests: the docs they follow, not a runbook's steps
        units = select_units(question, documents)
        return "\n\n".join(p for p in [*parts, compose(question, units) if units else ""] if p)
    playbook = [block for kind in ("runbook", "incident") if (block := _steps(kind, question, signal, documents))]
    if playbook:
        parts += playbook
    else:
        units = select_units(f"{question} {signal}", documents)
        parts.append(compose(question, units) if units else "")
    return "\n\n".join(p for p in parts if p)


def compose_live(sources: Sequence[ContextSource]) -> str:
    """What the cluster shows, object by object."""
    blocks: list[str] = []
    by_object: dict[str, list[ContextSource]] = {}
    for source in sources:
        by_object.setdefault(source.source_id, []).append(source)
    for group in by_object.values():
        logged = any(s.section.startswith("Log of") for s in group)
        findings = " ".join(s.text for s in group if s.section == "Findings")
        lines = [line for source in group for line in _live_lines(source, logged, findings)]
        if lines:
            blocks.append(f"**{group[0].title}**\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _items(source: ContextSource) -> list[str]:
    return [_LIST_ITEM.sub("", line).strip() for line in source.text.splitlines() if line.strip()]


def _live_lines(source: ContextSource, skip_log_evidence: bool, findings: str) -> list[str]:
    marker = f"[{source.n}]"
    items = _items(source)
    if source.section == "Findings":
        summary, evidence = items[0], items[1:]
        if skip_log_evidence:  # the log block below shows those lines in full
            evidence = [e for e in evidence if " log: " not in e]
        return [f"- {summary} {marker}"] + [f"  - {e} {marker}" for e in evidence[:_EVIDENCE_LINES]]
    if source.section.startswith("Log of"):
        signal = [line for line in items if _SIGNAL.search(line) and not line.startswith("~")][-3:]
        return [f"- {source.section} {marker}:\n```\n" + "\n".join(signal) + "\n```"] if signal else []
    if source.section == "Manifests":
        return [f"- {source.section} {marker}:\n```yaml\n{source.text.strip()}\n```"]
    if source.section in (
        "Alert",
        "Rule now",
        "Metric trend",
        "Policy report",
    ):  # metric sources: their sentences, as they are
        return [f"- {line} {marker}" for line in items[:12]]
    if source.section == "Events":
        # an event the findings already quote is not repeated
        warnings = [e for e in items if e.startswith("Warning") and e.split(": ", 1)[-1] not in findings][-2:]
        return [f"- {e} {marker}" for e in warnings]
    return []


def _steps(kind: str, question: str, signal: str, documents: Sequence[ContextSource]) -> str:
    """The best lines of each wanted section of the first document of this kind."""
    mine = [d for d in documents if d.source_type == kind]
    if not mine:
        return ""
    first = [d for d in mine if d.source_id == mine[0].source_id]
    units = [u for d in first for u in split_units(d)]
    if not units:
        return ""
    scorer = Scorer(units, f"{question} {signal}", (), troubleshooting=True)
    chosen: list[Unit] = []
    for role, count in _STEPS[kind]:
        candidates = [
            (scorer.score(u, ts), u) for u, ts in zip(units, scorer.unit_terms, strict=True) if u.role == role
        ]
        best = [u for score, u in sorted(candidates, key=lambda p: (-p[0], p[1].source.n, p[1].index)) if score > 0]
        chosen += best[:count]
    if not chosen:
        return ""
    chosen = with_introduced_code(chosen, units)
    title = f"**{first[0].title}**" + (" (runbook)" if kind == "runbook" else " (a similar past incident)")
    return title + "\n" + "\n".join(f"- {render(u)}" if not u.code else render(u) for u in chosen)
