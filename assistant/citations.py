"""Citation validation: every ``[n]`` marker of an answer must name a source that was in its context."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

# [1], [1, 3], [1,2,3]; also the "[source 2]" some models write
# (not after a word character or a closing parenthesis: ``args[1]`` is code, not a citation)
_MARKER = re.compile(r"(?<![\w)])\[(?:sources?\s*)?(\d+(?:\s*,\s*\d+)*)\]", re.IGNORECASE)
_CODE = re.compile(r"(```.*?(?:```|$)|`[^`\n]*`)", re.DOTALL)
_REMOVED = "\x00"
_REMOVED_WITH_SPACE = re.compile(r"[ \t]*\x00")


@dataclass(frozen=True)
class CheckedAnswer:
    """An answer text with its invalid markers removed, and what was found."""

    text: str
    cited: list[int]
    invalid: list[int]

    @property
    def grounded(self) -> bool:
        """At least one valid citation remains."""
        return bool(self.cited)


def check_citations(text: str, valid: Collection[int]) -> CheckedAnswer:
    """Keep markers that point to a given source (normalized to ``[n]``), drop and report the others."""
    cited: list[int] = []
    invalid: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        kept = []
        for part in match.group(1).split(","):
            n = int(part)
            if n in valid:
                kept.append(n)
                if n not in cited:
                    cited.append(n)
            elif n not in invalid:
                invalid.append(n)
        return "".join(f"[{n}]" for n in kept) or _REMOVED

    pieces = _CODE.split(text.replace(_REMOVED, ""))
    prose = [p if i % 2 else _MARKER.sub(rewrite, p) for i, p in enumerate(pieces)]
    return CheckedAnswer(_REMOVED_WITH_SPACE.sub("", "".join(prose)).strip(), cited, invalid)


def markers(text: str) -> list[int]:
    """Every number cited in a text, in order, repeats included."""
    prose = _CODE.split(text)[::2]
    return [int(part) for p in prose for m in _MARKER.finditer(p) for part in m.group(1).split(",")]
