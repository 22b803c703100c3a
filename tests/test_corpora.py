"""The sample corpora and golden sets are well-formed: every expected source exists and holds its expected facts."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals.golden import KIND_TAGS, GoldenCase, load_cases

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
ORGS = ("northwind", "orbital")
PLURAL = {"ingress": "ingresses", "node": "nodes"}

pytestmark = pytest.mark.skipif(not (CORPORA / "evals").is_dir(), reason="golden sets not written yet")


@cache
def cases() -> list[GoldenCase]:
    return load_cases(CORPORA / "evals")


def normalized(text: str) -> str:
    return " ".join(text.lower().split())


@cache
def file_text(path: Path) -> str:
    if path.suffix == ".pdf":
        from pdfminer.high_level import extract_text

        return extract_text(str(path))
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".html", ".htm"):
        return html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def export_record(path: Path, record_id: str) -> dict[str, object] | None:
    data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    records = data["incidents"] if isinstance(data, dict) else data
    return next((r for r in records if str(r.get("id")) == record_id), None)


def cluster_object_text(source_id: str) -> str | None:
    _, context, namespace, kind, name = source_id.split("/", 4)
    folder = CORPORA / "clusters" / context
    listing = folder / ("nodes.json" if kind == "node" else f"{namespace}/{PLURAL.get(kind, kind + 's')}.json")
    if not listing.is_file():
        return None
    found = [item for item in json.loads(listing.read_text())["items"] if item["metadata"]["name"] == name]
    if not found:
        return None
    parts = [json.dumps(found[0])]
    logs = folder / namespace / name
    if logs.is_dir():
        parts += [p.read_text() for p in sorted(logs.glob("*.txt"))]
    events = folder / namespace / "events.json"
    if events.is_file():
        parts += [
            json.dumps(e)
            for e in json.loads(events.read_text())["items"]
            if e.get("involvedObject", {}).get("name") == name
        ]
    return "\n".join(parts)


def source_text(org: str, source_id: str) -> str | None:
    if source_id.startswith("cluster/"):
        return cluster_object_text(source_id)
    path, _, record = source_id.partition("#")
    file = CORPORA / org / path
    if not file.is_file():
        return None
    if record:
        found = export_record(file, record)
        return json.dumps(found) if found else None
    return file_text(file)


def test_golden_sets_are_large_enough_and_ids_unique() -> None:
    ids = [c.id for c in cases()]
    assert len(ids) >= 120
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert {c.org for c in cases()} == set(ORGS)


def test_every_kind_of_question_is_covered() -> None:
    counts = Counter(tag for c in cases() for tag in c.tags)
    for kind in KIND_TAGS:
        assert counts[kind] >= 5, (kind, counts[kind])


@pytest.mark.parametrize("case", cases() if (CORPORA / "evals").is_dir() else [], ids=lambda c: c.id)
def test_expected_sources_exist_and_hold_the_facts(case: GoldenCase) -> None:
    texts = []
    for source_id in case.expected_sources:
        text = source_text(case.org, source_id)
        assert text is not None, f"{case.id}: expected source {source_id} does not exist in corpora/{case.org}"
        texts.append(normalized(text))
    for fact in case.expected_facts:
        assert any(normalized(fact) in t for t in texts), f"{case.id}: fact {fact!r} is in none of its sources"


def test_corpora_have_the_promised_volume() -> None:
    for org in ORGS:
        root = CORPORA / org
        docs = [p for p in (root / "docs").iterdir() if p.is_file()]
        assert len(docs) >= 15 and sum(p.suffix == ".pdf" for p in docs) >= 2
        assert sum(p.suffix == ".html" for p in docs) >= 2
        assert len(list((root / "runbooks").glob("*.md"))) >= 15
        assert len(list((root / "incidents").glob("*.md"))) >= 12
    shared = {p.name for p in (CORPORA / "northwind" / "runbooks").glob("*.md")} & {
        p.name for p in (CORPORA / "orbital" / "runbooks").glob("*.md")
    }
    assert len(shared) >= 3


CLUSTERS = CORPORA / "clusters"
SNAPSHOT_FILES = sorted(CLUSTERS.glob("*/**/*.json"))


class _Response:
    """What the client's deserializer reads: the body of an API response."""

    def __init__(self, data: str) -> None:
        self.data = data


@pytest.mark.parametrize("listing", SNAPSHOT_FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_cluster_snapshots_deserialize_with_the_official_client(listing: Path) -> None:
    from kubernetes.client import ApiClient

    raw = listing.read_text()
    data = json.loads(raw)
    kind = data["kind"]
    model = "CoreV1EventList" if kind == "EventList" else f"V1{kind}"
    parsed = ApiClient().deserialize(_Response(raw), model)
    assert len(parsed.items) == len(data["items"])
    assert all(item.get("kind") != "Secret" for item in data["items"])
    for item, typed in zip(data["items"], parsed.items, strict=True):
        assert typed.metadata.name == item["metadata"]["name"]


def _items(context: str, file: str) -> list[dict[str, Any]]:
    folder = CLUSTERS / context
    listings = [folder / "nodes.json"] if file == "nodes" else sorted(folder.glob(f"*/{file}.json"))
    return [item for listing in listings for item in json.loads(listing.read_text())["items"]]


def _container_states(pod: dict[str, Any]) -> list[dict[str, Any]]:
    statuses = pod["status"].get("containerStatuses", [])
    return [s["state"] for s in statuses] + [s.get("lastState", {}) for s in statuses]


FAILURES: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "CrashLoopBackOff": (
        "pods",
        lambda p: any(s.get("waiting", {}).get("reason") == "CrashLoopBackOff" for s in _container_states(p)),
    ),
    "OOMKilled": (
        "pods",
        lambda p: any(s.get("terminated", {}).get("reason") == "OOMKilled" for s in _container_states(p)),
    ),
    "ImagePullBackOff": (
        "pods",
        lambda p: any(s.get("waiting", {}).get("reason") == "ImagePullBackOff" for s in _container_states(p)),
    ),
    "Pending unschedulable": (
        "pods",
        lambda p: any(c["type"] == "PodScheduled" and c["status"] == "False" for c in p["status"]["conditions"]),
    ),
    "NotReady node": (
        "nodes",
        lambda n: any(c["type"] == "Ready" and c["status"] != "True" for c in n["status"]["conditions"]),
    ),
    "failing readiness probe": (
        "pods",
        lambda p: (
            p["status"]["phase"] == "Running"
            and any("running" in s for s in _container_states(p))
            and any(c["type"] == "Ready" and c["status"] == "False" for c in p["status"]["conditions"])
        ),
    ),
    "Pending PVC": ("persistentvolumeclaims", lambda c: c["status"]["phase"] == "Pending"),
    "failed Job": (
        "jobs",
        lambda j: any(
            c["type"] == "Failed" and c["reason"] == "BackoffLimitExceeded" for c in j["status"]["conditions"]
        ),
    ),
    "Deployment with unavailable replicas": ("deployments", lambda d: d["status"].get("unavailableReplicas", 0) > 0),
}


@pytest.mark.parametrize("context", ["northwind-prod", "orbital-prod"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_each_snapshot_holds_every_planted_failure(context: str, failure: str) -> None:
    file, shows = FAILURES[failure]
    assert any(shows(item) for item in _items(context, file)), f"{context} has no {failure}"
    assert (CLUSTERS / context / "FAILURES.md").is_file()


@pytest.mark.parametrize("context", ["northwind-prod", "orbital-prod"])
def test_crash_looping_pods_have_their_application_error_logged(context: str) -> None:
    crashing = [
        p
        for p in _items(context, "pods")
        if any(s.get("terminated", {}).get("reason") == "Error" for s in _container_states(p))
        and p["status"]["phase"] == "Running"
    ]
    assert crashing
    for pod in crashing:
        folder = CLUSTERS / context / pod["metadata"]["namespace"] / pod["metadata"]["name"]
        previous = next(folder.glob("logs-*-previous.txt")).read_text()
        assert re.search(r"panic|Exception|Traceback|FATAL", previous), previous


def test_snapshots_are_what_the_generator_writes(tmp_path: Path) -> None:
    """The committed snapshots are reproducible: editing the JSON by hand instead of the scenario fails here."""
    script = CORPORA.parent / "scripts" / "make_cluster_snapshots.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CLUSTERS) for p in CLUSTERS.rglob("*") if p.is_file())
    assert written == committed
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (CLUSTERS / relative).read_bytes(), relative
