"""Ingestion jobs run by the service, which owns the embedded index: one worker thread (embedding uses every core),
progress and the summary kept in the state database, so a job can be followed from any replica and survives a restart
as a record ("interrupted") instead of vanishing. A job ingests a server folder, uploaded files, or one of the
organization's clusters; clusters with a ``sync_interval_s`` are re-synced on that schedule (``ClusterSchedule``)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
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
from ingest.cluster.config import ClusterConfig
from ingest.cluster.ingestion import ingest_cluster
from ingest.summary import IngestSummary
from ingest.sync import Progress, ingest_path

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
        # a root naming {org} is per organization (/srv/ingest/{org}); one without is open to every org's admins
        roots = [Path(str(r).replace("{org}", org)).expanduser().resolve() for r in self._settings.ingest_roots]
        if not any(target == root or root in target.parents for root in roots):
            raise PermissionDeniedError(
                "this path is outside the folders the service may ingest (AIOPS_INGEST_ROOTS); upload the files instead"
            )
        if not target.exists():
            raise NotFoundError(f"path {path!r} not found on the server")
        return self._submit(
            org, user, str(target), lambda p: ingest_path(self._index, self._settings, org, target, source_type, p)
        )

    def submit_cluster(self, org: str, user: str, cluster: ClusterConfig) -> dict[str, Any]:
        """A job syncing one of the organization's clusters (every readable object described; vanished ones
        deleted); refused while a sync of the same cluster is queued or running."""
        if cluster.org != org:
            raise NotFoundError(f"cluster {cluster.name!r} not found")
        label = f"cluster: {cluster.name}"
        t = ingest_jobs.c
        busy = self._db.query(select(t.id).where(t.org_id == org, t.source == label, t.status.in_(ACTIVE)))
        if busy:
            return self.get(org, busy[0].id)

        def work(progress: Progress) -> IngestSummary:
            reader = cluster.reader(self._settings.tool_timeout_s)
            try:
                namespaces = list(cluster.namespaces) or None
                return ingest_cluster(self._index, self._settings, org, reader, namespaces, progress)
            finally:
                reader.close()

        return self._submit(org, user, label, work)

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
        return self._submit(
            org, user, label, lambda p: ingest_path(self._index, self._settings, org, root, source_type, p)
        )

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

    def _submit(self, org: str, user: str, label: str, work: Callable[[Progress], IngestSummary]) -> dict[str, Any]:
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
        self._pool.submit(self._run, job_id, work)
        return self.get(org, job_id)

    def _set(self, job_id: str, **values: Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(update(ingest_jobs).where(ingest_jobs.c.id == job_id).values(updated_at=_now(), **values))

    def _run(self, job_id: str, work: Callable[[Progress], IngestSummary]) -> None:
        self._set(job_id, status="running")

        def progress(source_id: str, done: int, total: int) -> None:
            if done == total or done % _PROGRESS_EVERY == 0:
                self._set(job_id, done=done, total=total, current=source_id)

        try:
            summary = work(progress)
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


class ClusterSchedule:
    """Re-syncs each cluster that has a ``sync_interval_s`` on that schedule, as jobs of user ``scheduler``."""

    def __init__(self, jobs: IngestJobs, clusters: list[ClusterConfig], tick_s: float = 5.0) -> None:
        self._jobs = jobs
        self._due = {(c.org, c.name): 0.0 for c in clusters if c.sync_interval_s > 0}
        self._clusters = [c for c in clusters if c.sync_interval_s > 0]
        self._tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the timer thread (nothing to do when no cluster has a schedule)."""
        if self._clusters and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="cluster-sync", daemon=True)
            self._thread.start()

    def run_due(self, now: float) -> list[dict[str, Any]]:
        """Submit the syncs that are due at ``now`` (monotonic seconds)."""
        submitted = []
        for cluster in self._clusters:
            key = (cluster.org, cluster.name)
            if now >= self._due[key]:
                self._due[key] = now + cluster.sync_interval_s
                try:
                    submitted.append(self._jobs.submit_cluster(cluster.org, "scheduler", cluster))
                except AssistantError as exc:
                    log.warning("scheduled sync of %s failed to start: %s", cluster.name, exc.message)
        return submitted

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due(time.monotonic())
            self._stop.wait(self._tick_s)

    def close(self) -> None:
        """Stop the timer (a running sync finishes as a job)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
