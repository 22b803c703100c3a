"""The answer cache: a repeated question gets the stored answer while the organization's index is unchanged."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from assistant.answers import Answer, Workspace
from assistant.database import Database, answer_cache


def cache_key(
    org: str,
    question: str,
    history: Sequence[str],
    providers: Sequence[str],
    workspace: Workspace | None,
    config: str,
) -> str:
    """What makes two requests the same: org, normalized question, the turns it draws on, providers, workspace, and
    the configuration that shapes answers (so an upgrade or a new threshold never serves an answer made otherwise)."""
    material = {
        "config": config,
        "org": org,
        "question": " ".join(question.lower().split()),
        "history": [" ".join(h.lower().split()) for h in history],
        "providers": list(providers),
        "workspace": workspace.model_dump() if workspace else None,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class AnswerCache:
    """Answers by key, valid for one index generation of their organization and at most ``ttl_s`` seconds."""

    def __init__(self, db: Database, ttl_s: int) -> None:
        self._db = db
        self._ttl_s = ttl_s

    @property
    def enabled(self) -> bool:
        """False when the TTL is 0."""
        return self._ttl_s > 0

    def get(self, key: str, org: str, generation: int) -> Answer | None:
        """The cached answer, unless the index moved on or it expired."""
        if not self.enabled:
            return None
        t = answer_cache.c
        rows = self._db.query(
            select(t.answer_json, t.created_at).where(t.key == key, t.org_id == org, t.generation == generation)
        )
        if not rows or time.time() - rows[0].created_at > self._ttl_s:
            return None
        return Answer.model_validate_json(rows[0].answer_json)

    def put(self, key: str, org: str, generation: int, answer: Answer) -> None:
        """Store an answer; older generations of the organization are dropped."""
        if not self.enabled:
            return
        t = answer_cache.c
        with self._db.transaction() as db:
            db.execute(delete(answer_cache).where((t.key == key) | ((t.org_id == org) & (t.generation < generation))))
            db.execute(
                insert(answer_cache).values(
                    key=key,
                    org_id=org,
                    generation=generation,
                    answer_json=answer.model_dump_json(),
                    created_at=time.time(),
                )
            )
