"""What a tool found, as a source an answer cites: a search hit marked live, with the exact call that produced it."""

from __future__ import annotations

from typing import Any

from index.records import SearchHit


def live_hit(
    source_id: str,
    title: str,
    section: str,
    text: str,
    invocation: str,
    *,
    uri: str | None,
    source_type: str = "cluster",
    key: str | None = None,
    **fields: Any,
) -> SearchHit:
    """A live source (similarity 1: it is about the question's object by construction, not by resemblance)."""
    payload = {
        "source_id": source_id,
        "source_type": source_type,
        "title": title,
        "section": section,
        "text": text,
        "uri": uri,
        "live": True,
        "tool": invocation,
        "position": f"live:{key or section}",
        **fields,
    }
    return SearchHit(f"live:{source_id}:{key or section}", 1.0, 1.0, payload)
