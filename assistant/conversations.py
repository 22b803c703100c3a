"""Conversations: the questions and answers of one thread, owned by one user of one organization."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.answers import Answer
from assistant.database import Database
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
            db.execute(
                "INSERT INTO conversations (id, org_id, user_id, title, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                (conversation.id, org, user, title, now, now),
            )
        return conversation

    def get(self, org: str, user: str, conversation_id: str) -> Conversation:
        """The conversation, if it belongs to this owner; NotFoundError otherwise."""
        rows = self._db.query(
            "SELECT * FROM conversations WHERE id = ? AND org_id = ? AND user_id = ?", (conversation_id, org, user)
        )
        if not rows:
            raise NotFoundError(f"conversation {conversation_id!r} not found")
        return Conversation(**dict(rows[0]))

    def recent(self, org: str, user: str, limit: int = 50) -> list[Conversation]:
        """The owner's conversations, most recent first."""
        rows = self._db.query(
            "SELECT * FROM conversations WHERE org_id = ? AND user_id = ? ORDER BY updated_at DESC LIMIT ?",
            (org, user, limit),
        )
        return [Conversation(**dict(r)) for r in rows]

    def messages(self, org: str, user: str, conversation_id: str) -> list[Message]:
        """The conversation's messages in order."""
        self.get(org, user, conversation_id)
        rows = self._db.query(
            "SELECT role, content, created_at, answer_json FROM messages WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [
            Message(
                r["role"], r["content"], r["created_at"], json.loads(r["answer_json"]) if r["answer_json"] else None
            )
            for r in rows
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
                "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, 'user', ?, ?)",
                (conversation_id, answer.question, now),
            )
            db.execute(
                "INSERT INTO messages (conversation_id, role, content, answer_id, answer_json, created_at) "
                "VALUES (?, 'assistant', ?, ?, ?, ?)",
                (conversation_id, answer.answer, answer.answer_id, answer.model_dump_json(), now),
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    def delete(self, org: str, user: str, conversation_id: str) -> None:
        """Delete the conversation and its messages."""
        self.get(org, user, conversation_id)
        with self._db.transaction() as db:
            db.execute("DELETE FROM conversations WHERE id = ? AND org_id = ?", (conversation_id, org))
