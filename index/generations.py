"""Index generations: a counter per organization that every write or delete moves on, so caches know when to drop."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = "CREATE TABLE IF NOT EXISTS index_generation (org_id TEXT PRIMARY KEY, generation INTEGER NOT NULL)"


class Generations:
    """Per-organization generation numbers in SQLite (a file beside the embedded index, or ``:memory:``)."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def current(self, org: str) -> int:
        """The organization's generation (0 before its first write)."""
        with self._lock:
            row = self._db.execute("SELECT generation FROM index_generation WHERE org_id = ?", (org,)).fetchone()
        return int(row[0]) if row else 0

    def bump(self, org: str) -> int:
        """Move the organization's generation on; returns the new value."""
        with self._lock:
            row = self._db.execute(
                "INSERT INTO index_generation (org_id, generation) VALUES (?, 1) "
                "ON CONFLICT(org_id) DO UPDATE SET generation = generation + 1 RETURNING generation",
                (org,),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Release the database."""
        self._db.close()
