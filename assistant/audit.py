"""The audit log: every interaction appended to a hash chain, so that an edited, removed or reordered record shows.

Record ``n`` stores ``hash_n = sha256(hash_{n-1} || canonical JSON of record n)``; ``verify`` recomputes the chain.
Free text (questions, answers, comments, tool arguments) passes through the redactor (PII masking) before it is stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from assistant.database import Database, audit_log

GENESIS = "0" * 64
_TEXT_FIELDS = ("question", "answer", "comment", "error")
_APPEND_ATTEMPTS = 5
# a Kubernetes-style identifier (what validated tool arguments are) holds no name, address or phone number, so it
# skips the NLP model; anything else, and any long run of digits, is masked
_IDENTIFIER = re.compile(r"[a-z0-9](?:[-a-z0-9._=/]*[a-z0-9])?")
_PHONE_DIGITS = 9


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """For `aiops audit verify --json` and the API."""
        return self.__dict__.copy()


def _canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _link(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(entry)).encode()).hexdigest()


def _plain_identifier(value: Any) -> bool:
    """Not text to mask: a non-string, or an identifier with too few digits to be a phone number."""
    if not isinstance(value, str):
        return True
    return bool(_IDENTIFIER.fullmatch(value)) and sum(c.isdigit() for c in value) < _PHONE_DIGITS


class AuditLog:
    """Append-only: the only write is ``append``."""

    def __init__(self, db: Database, redact: Callable[[str], str] | None = None) -> None:
        self._db = db
        self._redact = redact or (lambda text: text)

    def append(self, org: str, user: str, action: str, outcome: str, **details: Any) -> dict[str, Any]:
        """Append one record (details are JSON values; free-text fields are redacted) and return it."""
        details = {k: self._clean(k, v) for k, v in details.items() if v is not None}
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                return self._append(org, user, action, outcome, details)
            except IntegrityError:  # another replica appended the same seq first: link to the new head
                if attempt == _APPEND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _append(self, org: str, user: str, action: str, outcome: str, details: dict[str, Any]) -> dict[str, Any]:
        t = audit_log.c
        with self._db.transaction() as db:
            head = db.execute(select(t.seq, t.hash).order_by(t.seq.desc()).limit(1)).first()
            seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
            entry = {
                "seq": seq,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "org_id": org,
                "user_id": user,
                "action": action,
                "outcome": outcome,
                "details": details,
            }
            digest = _link(prev, entry)
            db.execute(
                insert(audit_log).values(
                    seq=seq,
                    at=entry["at"],
                    org_id=org,
                    user_id=user,
                    action=action,
                    outcome=outcome,
                    record=_canonical(details),
                    prev_hash=prev,
                    hash=digest,
                )
            )
        return entry | {"prev_hash": prev, "hash": digest}

    def _clean(self, key: str, value: Any) -> Any:
        if key in _TEXT_FIELDS and isinstance(value, str):
            return self._redact(value)
        if key == "arguments" and isinstance(value, dict):
            return {
                k: self._redact(v) if isinstance(v, str) and not _IDENTIFIER.fullmatch(v) else v
                for k, v in value.items()
            }
        if key == "tool_calls" and isinstance(value, list):
            return [
                {**call, "arguments": {k: self._redact(str(v)) for k, v in call.get("arguments", {}).items()}}
                for call in value
            ]
        return value

    def verify(self) -> Verification:
        """Recompute the whole chain: the first record whose hash or link does not match is reported."""
        prev = GENESIS
        count = 0
        expected_seq = 1
        for row in self._rows(select(audit_log).order_by(audit_log.c.seq)):
            count += 1
            if row.seq != expected_seq:
                return Verification(False, count, row.seq, f"record {expected_seq} is missing")
            if row.prev_hash != prev:
                return Verification(False, count, row.seq, "its link to the previous record does not match")
            entry = {
                "seq": row.seq,
                "at": row.at,
                "org_id": row.org_id,
                "user_id": row.user_id,
                "action": row.action,
                "outcome": row.outcome,
                "details": json.loads(row.record),
            }
            if _link(prev, entry) != row.hash:
                return Verification(False, count, row.seq, "its content does not match its hash")
            prev = row.hash
            expected_seq += 1
        return Verification(True, count)

    def records(
        self,
        org: str | None = None,
        *,
        user: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records in order, filtered (``org`` None: every org, for operators of the service)."""
        t = audit_log.c
        query = select(audit_log).where(t.seq > after_seq).order_by(t.seq)
        for column, value in ((t.org_id, org), (t.user_id, user), (t.action, action), (t.outcome, outcome)):
            if value is not None:
                query = query.where(column == value)
        if since:
            query = query.where(t.at >= since)
        if until:
            query = query.where(t.at < until)
        if limit is not None:
            query = query.limit(limit)
        for row in self._rows(query):
            yield {
                "seq": row.seq,
                "at": row.at,
                "org_id": row.org_id,
                "user_id": row.user_id,
                "action": row.action,
                "outcome": row.outcome,
                "details": json.loads(row.record),
                "hash": row.hash,
            }

    def count(self) -> int:
        """Number of records."""
        return int(self._db.query(select(func.count()).select_from(audit_log))[0][0])

    def _rows(self, query: Any) -> Iterator[Any]:
        with self._db.engine.connect() as conn:
            yield from conn.execute(query.execution_options(yield_per=500))
