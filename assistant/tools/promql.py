"""PromQL checked before it is sent: it must parse, every selector must name a metric (a bare `{}` or a regex on
`__name__` could match every series of the server), and for a caller who may only query some namespaces every
selector gets one more matcher, ``namespace=~"a|b"``. An extra matcher can only narrow what a selector matches, so
whatever namespace matchers the query already had, the result stays inside the caller's namespaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import promql_parser as pp

from core.errors import InvalidInputError

MAX_QUERY_CHARS = 2000
MAX_NESTING = 100  # the parser's tree walks slow down steeply with depth (seconds past a few hundred levels)
MAX_SUBQUERY_STEPS = 11000  # Prometheus's own cap on the points of a range query
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# strings and comments, blanked before counting what nests: a bracket or an operator in a string does not
_INERT = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|#[^\n]*""")
_NESTS = re.compile(r"[(\[+\-*/%^<>]|==|!=|\b(?:and|or|unless|atan2)\b")


def parse(query: str) -> Any:
    """The query's syntax tree, or InvalidInputError saying what is wrong with it."""
    if not query.strip():
        raise InvalidInputError("the PromQL query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the PromQL query is over {MAX_QUERY_CHARS} characters")
    # an upper bound of the tree's depth, counted before parsing: every level is a bracket or an operator
    if len(_NESTS.findall(_INERT.sub(" ", query))) > MAX_NESTING:
        raise InvalidInputError(f"the PromQL query nests too deep (over {MAX_NESTING} operators and brackets)")
    return _syntax(query)


def _syntax(text: str) -> Any:
    try:
        return pp.parse(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"PromQL syntax error: {exc}") from exc


def scoped(query: str, namespaces: Sequence[str] | None, label: str = "namespace") -> str:
    """The query as it will be sent: validated, and narrowed to ``namespaces`` (None: not narrowed)."""
    if namespaces is not None:
        if not namespaces:
            raise InvalidInputError("you may query no namespace")
        bad = [ns for ns in namespaces if not _LABEL.fullmatch(ns)]
        if bad:
            raise InvalidInputError(f"not namespace names: {', '.join(bad)}")
    problems: list[str] = []

    def visit(node: Any) -> Any:
        if isinstance(node, pp.SubqueryExpr):
            problems.extend(_subquery_problems(node))
        if any(d.microseconds for d in _durations(node)):  # the parser prints 1500ms back as 1s
            problems.append("durations are whole seconds here (no milliseconds)")
        if not isinstance(node, pp.VectorSelector):
            return None
        problems.extend(_problems(node))
        return _narrowed(node, namespaces, label) if not problems and namespaces is not None else None

    tree = parse(query)
    narrowed = pp.transform(tree, visit, None)
    if problems:
        raise InvalidInputError(problems[0])
    text = str(narrowed)
    _verify(text, len(_selectors(tree)), namespaces, label)
    return text


def _selectors(tree: Any) -> list[Any]:
    found: list[Any] = []
    pp.walk(tree, lambda node: found.append(node) if isinstance(node, pp.VectorSelector) else None, None)
    return found


def _verify(text: str, count: int, namespaces: Sequence[str] | None, label: str) -> None:
    """The text that will be sent, parsed again: the same number of selectors, each narrowed. The parser prints
    string values without escaping them, so a value holding a quote could otherwise come out as another selector."""
    again = _selectors(_syntax(text))  # not parse(): the narrowed text may be longer than a query may be
    wanted = None if namespaces is None else "|".join(namespaces)
    narrowed = all(
        not node.matchers.or_matchers
        and any(m.name == label and _op(m) == "=~" and m.value == wanted for m in node.matchers.matchers)
        for node in again
    )
    if len(again) != count or (wanted is not None and not narrowed):
        raise InvalidInputError("the query cannot be narrowed safely (quotes or backslashes in a label value?)")


def selector(text: str, namespaces: Sequence[str] | None, label: str = "namespace") -> str:
    """A series selector (for /series and label lookups), checked and narrowed like a query."""
    if not isinstance(parse(text), pp.VectorSelector):
        raise InvalidInputError('a series selector, such as up{job="api"}, is expected here')
    return scoped(text, namespaces, label)


def _problems(node: Any) -> list[str]:
    if any(set(m.value) & {'"', "\\", "\n", "`", "'"} for m in node.matchers.matchers):
        return ["label values with quotes, backslashes or line breaks are not accepted here"]
    if not all(_LABEL_NAME.fullmatch(m.name) for m in node.matchers.matchers):
        return ["quoted label names are not supported here"]
    if node.at is not None:
        return ["the @ modifier is not supported here; use the tool's time arguments"]
    named = bool(node.name) or any(m.name == "__name__" and _op(m) == "=" for m in node.matchers.matchers)
    if not named:
        return ["every selector must name a metric: one without a metric name can match every series"]
    if node.matchers.or_matchers:
        return ["`or` inside a selector's braces is not supported here"]
    return []


def _durations(node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, pp.MatrixSelector):
        found = [node.range]
    elif isinstance(node, pp.SubqueryExpr | pp.VectorSelector):
        found = [getattr(node, "range", None), getattr(node, "step", None), node.offset]
    return [d for d in found if d is not None]


def _subquery_problems(node: Any) -> list[str]:
    if node.at is not None:
        return ["the @ modifier is not supported here; use the tool's time arguments"]
    if node.step is None:  # the parser prints `[1h:]` back as `[1h]`, which is not the same query
        return ["give the subquery its resolution, e.g. [1h:1m]"]
    if node.range / node.step > MAX_SUBQUERY_STEPS:
        return [f"the subquery has over {MAX_SUBQUERY_STEPS} steps: use a coarser resolution"]
    return []


def _op(matcher: Any) -> str:
    return _OPS[str(matcher.op).rsplit(".", 1)[-1]]


def _narrowed(node: Any, namespaces: Sequence[str], label: str) -> Any:
    parts = [f"{m.name}{_op(m)}{json.dumps(m.value)}" for m in node.matchers.matchers]
    parts.append(f"{label}=~{json.dumps('|'.join(namespaces))}")
    text = f"{node.name or ''}{{{','.join(parts)}}}"
    if node.offset is not None:
        text += f" offset {_duration(node.offset)}"
    return _syntax(text)


def _duration(offset: Any) -> str:
    seconds = int(offset.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds}s"
