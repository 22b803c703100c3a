"""Conversations: the questions and answers of one thread, owned by one user of one organization."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update

from assistant.answers import Answer
from assistant.database import Database, conversations, messages
from core.errors import NotFoundError

_TITLE_CHARS = 80


@dataclass(frozen=True)
class Message:
    """A user question or an assistant answer."""

    role: str
    content: str
    created_at: str
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Conversation:
    """A thread of questions and answers."""

    id: str
    org_id: str
    user_id: str
    title: str
    created_at: str
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ConversationStore:
    """Every read and write takes the owner (org and user): another owner's conversation does not exist."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, org: str, user: str, first_question: str) -> Conversation:
        """A new, empty conversation titled after its first question."""
        now = _now()
        title = " ".join(first_question.split())[:_TITLE_CHARS]
        conversation = Conversation(str(uuid.uuid4()), org, user, title, now, now)
        with self._db.transaction() as db:
            db.execute(insert(conversations).values(**asdict(conversation)))
        return conversation

    def get(self, org: str, user: str, conversation_id: str) -> Conversation:
        """The conversation, if it belongs to this owner; NotFoundError otherwise."""
        rows = self._db.query(select(conversations).where(*_owned(org, user), conversations.c.id == conversation_id))
        if not rows:
            raise NotFoundError(f"conversation {conversation_id!r} not found")
        return Conversation(**rows[0]._asdict())

    def recent(self, org: str, user: str, limit: int = 50) -> list[Conversation]:
        """The owner's conversations, most recent first."""
        rows = self._db.query(
            select(conversations).where(*_owned(org, user)).order_by(conversations.c.updated_at.desc()).limit(limit)
        )
        return [Conversation(**r._asdict()) for r in rows]

    def messages(self, org: str, user: str, conversation_id: str) -> list[Message]:
        """The conversation's messages in order."""
        self.get(org, user, conversation_id)
        m = messages.c
        rows = self._db.query(
            select(m.role, m.content, m.created_at, m.answer_json)
            .where(m.conversation_id == conversation_id)
            .order_by(m.id)
        )
        return [
            Message(r.role, r.content, r.created_at, json.loads(r.answer_json) if r.answer_json else None) for r in rows
        ]

    def questions(self, org: str, user: str, conversation_id: str, limit: int) -> list[str]:
        """The last ``limit`` questions asked in the conversation, oldest first."""
        if limit <= 0:
            return []
        return [m.content for m in self.messages(org, user, conversation_id) if m.role == "user"][-limit:]

    def record(self, org: str, user: str, conversation_id: str, answer: Answer) -> None:
        """Append a question and its answer."""
        self.get(org, user, conversation_id)
        now = _now()
        with self._db.transaction() as db:
            db.execute(
                insert(messages).values(
                    conversation_id=conversation_id, role="user", content=answer.question, created_at=now
                )
            )
            db.execute(
                insert(messages).values(
                    conversation_id=conversation_id,
                    role="assistant",
                    content=answer.answer,
                    answer_id=answer.answer_id,
                    answer_json=answer.model_dump_json(),
                    created_at=now,
                )
            )
            db.execute(update(conversations).where(conversations.c.id == conversation_id).values(updated_at=now))

    def answer(self, org: str, user: str, answer_id: str) -> dict[str, Any]:
        """A recorded answer of this owner (the contract JSON); NotFoundError for anyone else's."""
        m, c = messages.c, conversations.c
        rows = self._db.query(
            select(m.answer_json)
            .join(conversations, c.id == m.conversation_id)
            .where(m.answer_id == answer_id, *_owned(org, user))
        )
        if not rows or not rows[0].answer_json:
            raise NotFoundError(f"answer {answer_id!r} not found")
        return dict(json.loads(rows[0].answer_json))

    def delete(self, org: str, user: str, conversation_id: str) -> None:
        """Delete the conversation and its messages."""
        self.get(org, user, conversation_id)
        with self._db.transaction() as db:
            db.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
            db.execute(
                delete(conversations).where(conversations.c.id == conversation_id, conversations.c.org_id == org)
            )


def _owned(org: str, user: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return conversations.c.org_id == org, conversations.c.user_id == user
