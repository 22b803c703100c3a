"""`aiops serve` for real: a uvicorn process on loopback, its printed first admin key, streaming over the wire, the
CLI refusing to open the index the service owns, and the key and audit commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.cli import main
from tests.api.test_service import sse_events
from tests.served import serve


@pytest.mark.slow
def test_serve_streams_over_loopback_and_owns_the_index(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tls.md").write_text(
        "# TLS\n\n## HTTPS\n\nSet `tls: true` in the chart values to expose a service over HTTPS.\n"
    )
    env = os.environ | {
        "AIOPS_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "AIOPS_INGEST_ROOTS": json.dumps([str(tmp_path)]),
    }
    with serve(env, "acme") as served:
        base, token = served.base, served.admin_token
        headers = {"Authorization": f"Bearer {token}"}
        job = served.ingest(str(docs))
        assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["summary"]["added"] == 1
        # the index belongs to the service: the CLI says so instead of crashing
        refused = subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", str(docs), "--org", "acme"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 5 and "aiops serve" in refused.stderr
        chunks: list[float] = []
        started = time.perf_counter()
        body = ""
        with httpx.stream(
            "POST",
            f"{base}/v1/ask",
            json={"question": "How do I expose a service over HTTPS?", "stream": True},
            headers=headers,
            timeout=60,
        ) as response:
            assert response.status_code == 200
            for text in response.iter_text():
                chunks.append(time.perf_counter() - started)
                body += text
        kinds = [kind for kind, _ in sse_events(body)]
        assert kinds[0] == "retrieval" and kinds[-2:] == ["answer", "done"]
        answer = sse_events(body)[-2][1]
        assert answer["status"] == "answered" and answer["citations"][0]["source_id"] == "tls.md"


def test_keys_and_audit_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("AIOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        main(
            [
                "keys",
                "create",
                "--org",
                "acme",
                "--user",
                "dana",
                "--role",
                "developer",
                "--namespace",
                "shop",
                "--json",
            ]
        )
        created = json.loads(capsys.readouterr().out)
        assert created["token"].startswith("aiops_") and created["roles"] == ["developer"]
        main(["keys", "list", "--org", "acme", "--json"])
        listed = json.loads(capsys.readouterr().out)
        assert (
            [k["id"] for k in listed] == [created["id"]] and "token" not in listed[0] and "secret_hash" not in listed[0]
        )
        main(["keys", "revoke", created["id"]])
        capsys.readouterr()  # the revoke line
        main(["keys", "list", "--org", "acme", "--json"])
        assert json.loads(capsys.readouterr().out) == []
        with pytest.raises(SystemExit) as bad_role:
            main(["keys", "create", "--org", "acme", "--user", "x", "--role", "root"])
        assert bad_role.value.code == 2
        from assistant.audit import AuditLog
        from assistant.database import Database

        db = Database.for_settings(get_settings())
        AuditLog(db).append("acme", "dana", "ask", "answered", question="q")
        db.close()
        main(["audit", "verify", "--json"])
        assert json.loads(capsys.readouterr().out) == {"ok": True, "records": 1, "first_bad_seq": None, "reason": None}
        main(["audit", "export", "--org", "acme"])
        assert json.loads(capsys.readouterr().out)["details"] == {"question": "q"}
    finally:
        get_settings.cache_clear()
