"""The `aiops` command line, run as a user runs it: a real process, real settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import Settings
from index.factory import open_index
from tests.conftest import settings_for

Writer = Callable[[dict[str, str | bytes]], Path]

RUNBOOK = "---\nalert: QueueBacklog\n---\n# QueueBacklog\n\n## Mitigation\n\nScale the consumers to 8 replicas.\n"


def aiops(tmp_path: Path, backend: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOPS_")}
    env.update(AIOPS_DATA_DIR=str(tmp_path / "data"), AIOPS_INDEX_BACKEND=backend, HF_HUB_OFFLINE="1")
    if backend == "server":
        env["AIOPS_QDRANT_LOCAL_PATH"] = str(tmp_path / "qdrant-local")
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_ingest_then_search_as_json(tmp_path: Path, backend: str, write_files: Writer) -> None:
    root = write_files({"runbooks/QueueBacklog.md": RUNBOOK, "docs/empty.md": ""})
    done = aiops(tmp_path, backend, "ingest", str(root), "--org", "acme", "--json")
    assert done.returncode == 6, done.stderr  # one file failed
    summary = json.loads(done.stdout)
    assert summary["added"] == 1 and summary["failed"] == [{"source_id": "docs/empty.md", "reason": "empty file"}]
    found = aiops(tmp_path, backend, "search", "too many messages waiting", "--org", "acme", "--k", "3", "--json")
    assert found.returncode == 0, found.stderr
    [hit] = json.loads(found.stdout)
    assert hit["source_id"] == "runbooks/QueueBacklog.md" and hit["section"] == "Mitigation"
    assert set(hit) >= {"source_id", "uri", "title", "section", "score", "text", "line_start", "line_end"}
    assert hit["line_start"] == 8 and "8 replicas" in hit["text"]
    readable = aiops(tmp_path, backend, "search", "consumers", "--org", "acme")
    assert "QueueBacklog > Mitigation" in readable.stdout
    other = aiops(tmp_path, backend, "search", "consumers", "--org", "globex", "--json")
    assert json.loads(other.stdout) == []


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["ingest", "/no/such/folder", "--org", "acme"], 3, "path not found: /no/such/folder"),
        (["ingest", ".", "--org", "Bad Org"], 2, "invalid organization id"),
        (["search", "x", "--org", "../etc"], 2, "invalid organization id"),
        (["search", "x", "--org", "acme", "--mode", "fuzzy"], 2, "Invalid value"),
    ],
)
def test_errors_are_one_clear_line_with_an_exit_code(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    done = aiops(tmp_path, "edge", *args)
    assert done.returncode == code
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_locked_embedded_index_is_reported(tmp_path: Path) -> None:
    settings: Settings = settings_for(tmp_path, "edge")
    with open_index(settings):  # the configured embedder's collection, as the CLI opens it (nothing is embedded)
        done = aiops(tmp_path, "edge", "search", "x", "--org", "acme")
    assert done.returncode == 5
    assert "in use by another process" in done.stderr and "Traceback" not in done.stderr


def test_ask_answers_with_citations_and_continues_a_conversation(tmp_path: Path, write_files: Writer) -> None:
    root = write_files({"runbooks/QueueBacklog.md": RUNBOOK})
    assert aiops(tmp_path, "edge", "ingest", str(root), "--org", "acme").returncode == 0
    done = aiops(tmp_path, "edge", "ask", "the queue backlog keeps growing, what do I do?", "--org", "acme", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {"answer", "status", "citations", "tool_calls", "provider", "timings"} <= set(answer)
    assert answer["status"] == "answered" and answer["provider"] == "extractive"
    assert "8 replicas" in answer["answer"]
    [citation] = answer["citations"]
    assert citation["source_id"] == "runbooks/QueueBacklog.md" and citation["n"] == 1
    assert {"uri", "title", "section", "snippet", "score"} <= set(citation)
    follow = aiops(
        tmp_path,
        "edge",
        "ask",
        "and how many replicas?",
        "--org",
        "acme",
        "--conversation",
        answer["conversation_id"],
    )
    assert follow.returncode == 0 and "8 replicas" in follow.stdout and "[1] QueueBacklog" in follow.stdout
    unknown = aiops(tmp_path, "edge", "ask", "x y z", "--org", "acme", "--conversation", "nope")
    assert unknown.returncode == 3 and "conversation 'nope' not found" in unknown.stderr
    empty = aiops(tmp_path, "edge", "ask", "  ", "--org", "acme")
    assert empty.returncode == 2 and "the question is empty" in empty.stderr
    nothing = aiops(tmp_path, "edge", "ask", "How do I expose a service?", "--org", "globex", "--json")
    assert nothing.returncode == 0 and json.loads(nothing.stdout)["status"] == "no_evidence"
