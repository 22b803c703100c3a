"""Live: a real generative endpoint answers with valid citations. Runs when AIOPS_LIVE_PROVIDER names a provider
whose endpoint and key are configured in the usual AIOPS_* settings (e.g. AIOPS_LIVE_PROVIDER=ollama with
AIOPS_OLLAMA_URL=http://localhost:11434); skipped otherwise (no model can run on the CI machines)."""

from __future__ import annotations

import os

import pytest

from core.settings import Settings
from tests.assistant.conftest import AssistantFactory

LIVE = os.environ.get("AIOPS_LIVE_PROVIDER")
pytestmark = [pytest.mark.live, pytest.mark.skipif(not LIVE, reason="AIOPS_LIVE_PROVIDER is not set")]


def test_a_live_provider_answers_with_valid_citations(make_assistant: AssistantFactory) -> None:
    configured = Settings().model_dump(exclude={"data_dir", "index_backend", "qdrant_local_path"})
    assistant = make_assistant(**{**configured, "provider": LIVE, "fallback_providers": [], "answer_cache_ttl_s": 0})
    answer = assistant.ask("acme", "How do I expose my service over HTTPS with a certificate?")
    assert answer.provider == LIVE, answer.warnings
    assert answer.status == "answered" and answer.citations and not answer.invalid_citations
