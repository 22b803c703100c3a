"""The portal in a real browser: Debian's chromium driven headless by Playwright against real ``aiops serve`` processes
on loopback. One service holds northwind's sample corpora, a planted stored-XSS document and the northwind-prod cluster
dump; a second one starts empty, with a small request limit and Ollama (recorded exchanges replayed on loopback) as its
provider, for the empty, streaming, fallback and 429 states. Screenshots of the main states go to
``build/test-artifacts/portal/``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.replay import ReplayServer
from tests.served import Served, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "portal"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# what the machine's closed network needs: no background connections, no first run, no GPU
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

XSS_DOC = """# Status page debug banner

## Showing the debug banner

To show the status page debug banner, set `debug_banner: true` in the status-page chart values and redeploy the chart.
The banner prints its value as given, for example <script>window.__xss = 1</script> or
<img src=x onerror="window.__xss = 2"> appear literally in the status page debug banner.
The format of the status page debug banner is in [the banner format notes](javascript:window.__xss=3) of the chart.
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium from the system package (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run scripts/system-packages")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return os.environ | {"AIOPS_DATA_DIR": str(tmp / "data"), "HF_HUB_OFFLINE": "1"} | extra


@pytest.fixture(scope="session")
def northwind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The service with northwind's knowledge base, a planted XSS document and the northwind-prod cluster."""
    tmp = tmp_path_factory.mktemp("portal-northwind")
    planted = tmp / "planted"
    planted.mkdir()
    (planted / "status-page-banner.md").write_text(XSS_DOC, encoding="utf-8")
    clusters = tmp / "clusters.yaml"
    dump = ROOT / "corpora" / "clusters" / "northwind-prod"
    clusters.write_text(f"clusters:\n  - {{org: northwind, name: northwind-prod, dump: {dump}}}\n", encoding="utf-8")
    env = _env(
        tmp,
        AIOPS_INGEST_ROOTS=json.dumps([str(ROOT / "corpora"), str(planted)]),
        AIOPS_CLUSTERS_FILE=str(clusters),
    )
    with serve(env, "northwind") as served:
        for folder in (ROOT / "corpora" / "northwind", planted):
            job = served.ingest(str(folder))
            assert job["status"] == "succeeded", job
        yield served


@pytest.fixture(scope="session")
def ollama() -> Iterator[ReplayServer]:
    """The Ollama of the empty service: recorded exchanges replayed on loopback; with none queued it answers 404."""
    with ReplayServer() as server:
        yield server


@pytest.fixture(scope="session")
def empty(tmp_path_factory: pytest.TempPathFactory, ollama: ReplayServer) -> Iterator[Served]:
    """A service with nothing indexed, four requests a minute per user and Ollama as its provider."""
    tmp = tmp_path_factory.mktemp("portal-empty")
    env = _env(
        tmp,
        AIOPS_USER_REQUESTS_PER_MINUTE="4",
        AIOPS_PROVIDER="ollama",
        AIOPS_OLLAMA_URL=ollama.url,
        AIOPS_LLM_MAX_RETRIES="0",
    )
    with serve(env, "acme") as served:
        yield served


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (its own session storage) on a laptop-sized screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def problems(page: Any) -> list[str]:
    """Script errors and console errors of the page (a CSP violation is one); refused API calls are the API's answer
    (401, 429) and not counted."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            found.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return found


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    """A screenshot of what the screen shows (or the whole page), kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page: Any, served: Served, token: str | None = None) -> None:
    """Open the portal and sign in with a key (the admin's by default)."""
    page.goto(served.base + "/")
    page.get_by_label("API key").fill(token or served.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Your question").wait_for()
