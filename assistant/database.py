"""The assistant's state database through SQLAlchemy Core: SQLite under the data directory by default, PostgreSQL (or
any SQLAlchemy URL) by changing ``AIOPS_DATABASE_URL``.

Tables: conversations and messages, the answer cache, API keys, feedback, the audit chain, usage counters and ingestion
jobs. Every store takes the owner (organization, user) on each call; nothing here decides who may see what.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Executable,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from core.errors import ConfigurationError
from core.settings import Settings

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("conversations_by_owner", "org_id", "user_id", "updated_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("answer_id", String(36), index=True),
    Column("answer_json", Text),
    Column("created_at", String(32), nullable=False),
    Index("messages_by_conversation", "conversation_id", "id"),
)

answer_cache = Table(
    "answer_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("org_id", String(64), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("answer_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(64), nullable=False, index=True),
    Column("user_id", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("namespaces", JSON, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_used_at", String(32)),
    Column("revoked_at", String(32)),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(36), nullable=False, index=True),
    Column("org_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("comment", Text),
    Column("created_at", String(32), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("org_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("record", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("audit_by_org", "org_id", "seq"),
)

usage = Table(
    "usage",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("org_id", String(64), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("requests", Integer, nullable=False, default=0),
    Column("tokens", Integer, nullable=False, default=0),
)

ingest_jobs = Table(
    "ingest_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), nullable=False, index=True),
    Column("user_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer),
    Column("current", Text),
    Column("summary", JSON),
    Column("error", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# SQLite: the audit chain is append-only in the database itself, not only by convention of this code.
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)


class Database:
    """The engine and its transactions. SQLite writes are serialized in-process (one writer at a time, as SQLite
    does anyway), so concurrent requests wait for each other instead of failing with "database is locked"."""

    def __init__(self, url: str = "sqlite://") -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        try:
            self.engine = _engine(url)
            metadata.create_all(self.engine)
            if self.sqlite:
                with self.engine.begin() as conn:
                    for statement in _SQLITE_APPEND_ONLY:
                        conn.exec_driver_sql(statement)
        except SQLAlchemyError as exc:
            raise ConfigurationError(f"state database {_safe(url)} cannot be opened: {exc.__class__.__name__}") from exc
        self._write_lock = threading.RLock() if self.sqlite else None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._write_lock or nullcontext(), self.engine.begin() as conn:
            yield conn

    def query(self, statement: Executable) -> list[Row[Any]]:
        """Rows of a read."""
        with self.engine.connect() as conn:
            return list(conn.execute(statement).fetchall())

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        """The configured database: ``AIOPS_DATABASE_URL``, or SQLite at ``<data dir>/assistant.db``."""
        if settings.database_url:
            return cls(settings.database_url.get_secret_value())
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{settings.database_path}")


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _safe(url: str) -> str:
    """The URL without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}:***@{tail}"
