"""A small two-organization corpus with a golden set (good cases, a malformed one, one whose source is missing),
ingested once per module into a real Edge index, and a helper running an evaluation over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from evals.runner import RunConfig
from evals.session import Evaluated, evaluate
from index.embedding import SentenceTransformerEmbedder
from index.factory import open_index
from index.knowledge import KnowledgeIndex
from tests.conftest import settings_for

Run = Callable[..., Evaluated]

FILES = {
    "acme/docs/ingress-tls.md": (
        "# Exposing a service with TLS\n\nTo expose a service over HTTPS, annotate its Ingress with "
        "`cert-manager.io/cluster-issuer: acme-prod` and list the host under `tls:`. cert-manager then issues the "
        "certificate, usually within two minutes, and renews it 30 days before it expires.\n"
    ),
    "acme/docs/quotas.md": (
        "# Resource quotas\n\nEvery namespace has a ResourceQuota. The billing namespace may request 24 CPU and "
        "48Gi of memory in total; ask the platform team in #acme-platform to raise a quota.\n"
    ),
    "acme/runbooks/DiskAlmostFull.md": (
        "---\nalert: DiskAlmostFull\n---\n# DiskAlmostFull\n\n## Diagnosis\n\nRun `df -h` on the node and find the "
        "largest folders with `du -sh /var/lib/*`.\n\n## Mitigation\n\nPrune unused images with `crictl rmi --prune`."
        "\n"
    ),
    "globex/docs/backups.md": (
        "# Backups with Velero\n\nVelero backs up every namespace nightly at 02:00 UTC to the bucket "
        "globex-velero-eu and keeps each backup for 30 days. Restore with `velero restore create --from-backup`.\n"
    ),
}

CASES: list[dict[str, Any]] = [
    {
        "id": "acme-tls",
        "org": "acme",
        "question": "How do I expose my service over HTTPS?",
        "answerable": True,
        "expected_sources": ["docs/ingress-tls.md"],
        "expected_facts": ["acme-prod"],
        "reference": "Annotate the Ingress with cert-manager.io/cluster-issuer: acme-prod and list the host under tls.",
        "tags": ["lookup", "doc"],
    },
    {
        "id": "acme-quota",
        "org": "acme",
        "question": "How much memory may the billing namespace request?",
        "answerable": True,
        "expected_sources": ["docs/quotas.md"],
        "expected_facts": ["48Gi"],
        "tags": ["lookup", "doc"],
    },
    {
        "id": "acme-disk",
        "org": "acme",
        "question": "DiskAlmostFull fired on a node, how do I free space?",
        "answerable": True,
        "expected_sources": ["runbooks/DiskAlmostFull.md"],
        "expected_facts": ["crictl rmi --prune"],
        "tags": ["troubleshooting", "runbook"],
    },
    {
        "id": "acme-follow-up",
        "org": "acme",
        "history": ["How do I expose my service over HTTPS?"],
        "question": "And how long does issuing the certificate take?",
        "answerable": True,
        "expected_sources": ["docs/ingress-tls.md"],
        "expected_facts": ["two minutes"],
        "tags": ["multi-turn", "doc"],
    },
    {
        "id": "acme-asks-globex",
        "org": "acme",
        "question": "Which bucket does Velero write the nightly backups to?",
        "answerable": False,
        "tags": ["cross-tenant", "unanswerable"],
    },
    {
        "id": "globex-backups",
        "org": "globex",
        "question": "Which bucket does Velero write the nightly backups to?",
        "answerable": True,
        "expected_sources": ["docs/backups.md"],
        "expected_facts": ["globex-velero-eu"],
        "tags": ["lookup", "doc"],
    },
    {"id": "bad-case", "org": "acme", "question": "Is this malformed?", "answerable": True, "tags": ["lookup"]},
    {
        "id": "acme-missing",
        "org": "acme",
        "question": "Where is the deleted guide?",
        "answerable": True,
        "expected_sources": ["docs/gone.md"],
        "tags": ["lookup", "doc"],
    },
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "evals").mkdir()
    (root / "evals" / "small.yaml").write_text(yaml.safe_dump(CASES, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[KnowledgeIndex]:
    with open_index(_settings(tmp_path_factory.mktemp("state")), embedder) as idx:
        yield idx


def _settings(tmp: Path) -> Settings:
    return settings_for(tmp, "edge", chunk_tokens=120, chunk_overlap=16)


@pytest.fixture(scope="module")
def run_eval(corpus: Path, index: KnowledgeIndex) -> Run:
    """Evaluates the small set: ``config`` entries go to RunConfig, ``settings`` entries override the settings,
    the rest to ``evaluate``."""

    def run(out: Path, **options: Any) -> Evaluated:
        config = RunConfig(set_path=corpus / "evals", **options.pop("config", {}))
        settings = _settings(out).model_copy(update=options.pop("settings", {}))
        return evaluate(config, settings, out, index=index, **options)

    return run
