"""Everything one service process holds, built once from the settings: the index (which it owns), the state database,
the answering pipeline, keys, audit, quotas, ingestion jobs, PII masking and metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from assistant.audit import AuditLog
from assistant.auth import JwtVerifier, KeyStore
from assistant.database import Database
from assistant.jobs import ClusterSchedule, IngestJobs
from assistant.metrics import Metrics
from assistant.pii import PiiMasker
from assistant.pipeline import Assistant
from assistant.quotas import Quotas
from assistant.tools.investigation import Investigator
from assistant.tools.sandbox import Sandbox, documents_from, open_sandbox
from core.settings import Settings
from index.factory import open_index
from index.knowledge import KnowledgeIndex

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The service's components; ``close`` releases them in reverse order."""

    settings: Settings
    index: KnowledgeIndex
    db: Database
    assistant: Assistant
    keys: KeyStore
    jwt: JwtVerifier
    audit: AuditLog
    quotas: Quotas
    jobs: IngestJobs
    masker: PiiMasker
    metrics: Metrics
    sandbox: Sandbox
    schedule: ClusterSchedule

    @classmethod
    def open(cls, settings: Settings, index: KnowledgeIndex | None = None) -> Runtime:
        """Open the index (unless given) and the database, and wire the components."""
        index = index or open_index(settings)
        db = Database.for_settings(settings)
        masker = PiiMasker(settings.pii_entities)
        audit = AuditLog(db, masker.redact)
        metrics = Metrics()
        sandbox = open_sandbox(settings, audit, metrics, documents_from(index))
        jobs = IngestJobs(db, index, settings)
        schedule = ClusterSchedule(jobs, sandbox.clusters.all)
        schedule.start()
        return cls(
            settings=settings,
            index=index,
            db=db,
            assistant=Assistant(index, settings, db, masker=masker, investigator=Investigator(sandbox)),
            keys=KeyStore(db),
            jwt=JwtVerifier(settings),
            audit=audit,
            quotas=Quotas(db, settings),
            jobs=jobs,
            masker=masker,
            metrics=metrics,
            sandbox=sandbox,
            schedule=schedule,
        )

    def readiness(self) -> dict[str, Any]:
        """Index, database and provider status, each with a reason when not usable."""
        checks: dict[str, Any] = {}
        try:
            self.index.count("healthcheck")
            checks["index"] = {"ok": True, "backend": self.settings.index_backend}
        except Exception as exc:  # any failure means "not ready", with its reason (the backend's own, when known)
            cause = exc.__cause__ or exc
            checks["index"] = {"ok": False, "reason": f"{cause.__class__.__name__}: {cause}"[:300]}
        try:
            self.db.ping()
            checks["database"] = {"ok": True, "dialect": self.db.engine.dialect.name}
        except Exception as exc:
            checks["database"] = {"ok": False, "reason": f"{exc.__class__.__name__}"}
        clusters = self.sandbox.clusters.all
        checks["tools"] = {"ok": True, "clusters": len(clusters), "workers": self.settings.tool_workers}
        chain = self.assistant.chain()
        checks["providers"] = {
            "ok": True,  # the extractive provider closes every chain, so answering always works
            "chain": chain.names,
            "disabled": dict(chain.disabled),
        }
        return checks

    def close(self) -> None:
        """Stop the jobs, then release the providers, the database and the index."""
        self.schedule.close()
        self.jobs.close()
        self.sandbox.close()
        self.assistant.close()
        self.db.close()
        self.index.close()
