"""Ingestion jobs run by the service, which owns the embedded index: one worker thread (embedding uses every core),
progress and the summary kept in the state database, so a job can be followed from any replica and survives a restart
as a record ("interrupted") instead of vanishing."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import insert, select, update

from assistant.database import Database, ingest_jobs
from core.errors import AssistantError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.settings import Settings
from index.knowledge import KnowledgeIndex
from index.records import SourceType
from ingest.sync import ingest_path

log = logging.getLogger(__name__)
_PROGRESS_EVERY = 5  # files between progress writes
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its relative name (may contain folders, e.g. runbooks/X.md) and content."""

    name: str
    content: bytes


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class IngestJobs:
    """Submit, follow and run ingestion jobs for one organization at a time."""

    def __init__(self, db: Database, index: KnowledgeIndex, settings: Settings) -> None:
        self._db = db
        self._index = index
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._lock = threading.Lock()
        with db.transaction() as conn:  # jobs of a previous process that never finished
            conn.execute(
                update(ingest_jobs)
                .where(ingest_jobs.c.status.in_(ACTIVE))
                .values(
                    status="failed", error="interrupted: the service stopped before the job finished", updated_at=_now()
                )
            )

    def submit_path(self, org: str, user: str, path: str, source_type: SourceType | None) -> dict[str, Any]:
        """A job ingesting a server folder, which must lie inside one of the configured ingest roots."""
        target = Path(path).expanduser().resolve()
        roots = [r.expanduser().resolve() for r in self._settings.ingest_roots]
        if not any(target == root or root in target.parents for root in roots):
            raise PermissionDeniedError(
                "this path is outside the folders the service may ingest (AIOPS_INGEST_ROOTS); upload the files instead"
            )
        if not target.exists():
            raise NotFoundError(f"path {path!r} not found on the server")
        return self._submit(org, user, str(target), target, source_type)

    def submit_uploads(
        self, org: str, user: str, files: list[Upload], source_type: SourceType | None
    ) -> dict[str, Any]:
        """A job ingesting uploaded files, kept under ``<data dir>/uploads/<org>/`` (re-uploads replace them)."""
        if not files:
            raise InvalidInputError("no files were uploaded")
        root = self._settings.data_dir / "uploads" / org
        names = [_safe_name(f.name) for f in files]
        for relative, upload in zip(names, files, strict=True):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(upload.content)
        label = f"upload: {', '.join(str(n) for n in names[:5])}{' ...' if len(names) > 5 else ''}"
        return self._submit(org, user, label, root, source_type)

    def get(self, org: str, job_id: str) -> dict[str, Any]:
        """A job of ``org``; NotFoundError for any other org's."""
        t = ingest_jobs.c
        rows = self._db.query(select(ingest_jobs).where(t.id == job_id, t.org_id == org))
        if not rows:
            raise NotFoundError(f"ingestion job {job_id!r} not found")
        return _job_json(rows[0]._asdict())

    def recent(self, org: str, limit: int = 20) -> list[dict[str, Any]]:
        """The org's latest jobs, newest first."""
        t = ingest_jobs.c
        rows = self._db.query(select(ingest_jobs).where(t.org_id == org).order_by(t.created_at.desc()).limit(limit))
        return [_job_json(r._asdict()) for r in rows]

    def wait(self, timeout: float | None = None) -> None:
        """Block until the queued jobs are done (tests, shutdown)."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def close(self) -> None:
        """Finish the running job and stop."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- running ------------------------------------------------------------------------------------------------

    def _submit(self, org: str, user: str, label: str, path: Path, source_type: SourceType | None) -> dict[str, Any]:
        job_id = str(uuid.uuid4())
        now = _now()
        with self._db.transaction() as conn:
            conn.execute(
                insert(ingest_jobs).values(
                    id=job_id,
                    org_id=org,
                    user_id=user,
                    status="queued",
                    source=label,
                    done=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        self._pool.submit(self._run, org, job_id, path, source_type)
        return self.get(org, job_id)

    def _set(self, job_id: str, **values: Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(update(ingest_jobs).where(ingest_jobs.c.id == job_id).values(updated_at=_now(), **values))

    def _run(self, org: str, job_id: str, path: Path, source_type: SourceType | None) -> None:
        self._set(job_id, status="running")

        def progress(source_id: str, done: int, total: int) -> None:
            if done == total or done % _PROGRESS_EVERY == 0:
                self._set(job_id, done=done, total=total, current=source_id)

        try:
            summary = ingest_path(self._index, self._settings, org, path, source_type, progress)
        except AssistantError as exc:
            self._set(job_id, status="failed", error=exc.message)
            return
        except Exception as exc:  # a fault is contained and reported, never lost in a thread
            log.exception("ingestion job %s failed", job_id)
            self._set(job_id, status="failed", error=f"internal error ({exc.__class__.__name__})")
            return
        status = "succeeded" if summary.ok else "partial"
        self._set(job_id, status=status, summary=summary.to_json(), current=None)


def _safe_name(name: str) -> PurePosixPath:
    """An uploaded file's relative path, refused when it could leave the upload folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts) or len(path.parts) > 8:
        raise InvalidInputError(f"unacceptable upload file name {name!r}")
    return path


def _job_json(row: dict[str, Any]) -> dict[str, Any]:
    total = row.get("total")
    progress = round(row["done"] / total, 3) if total else (1.0 if row["status"] in ("succeeded", "partial") else 0.0)
    return {
        "id": row["id"],
        "status": row["status"],
        "source": row["source"],
        "user_id": row["user_id"],
        "done": row["done"],
        "total": total,
        "progress": progress,
        "current": row["current"],
        "summary": row["summary"],
        "error": row["error"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
