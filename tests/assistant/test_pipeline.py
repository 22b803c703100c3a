"""The answering pipeline on a real embedded index with the extractive provider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.answers import Workspace
from assistant.citations import markers
from core.errors import InvalidInputError, InvalidOrgError, NotFoundError
from index.embedding import SentenceTransformerEmbedder
from tests.assistant.conftest import AssistantFactory, build_knowledge
from tests.conftest import settings_for


def test_answer_cites_its_sources_with_where_to_open_them(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("acme", "How do I expose my service over HTTPS with a certificate?")
    assert answer.status == "answered" and answer.provider == "extractive"
    assert "letsencrypt-prod" in answer.answer
    cited = {c.source_id for c in answer.citations}
    assert "docs/ingress-and-tls.md" in cited
    first = next(c for c in answer.citations if c.source_id == "docs/ingress-and-tls.md")
    assert first.uri and first.uri.startswith("file://") and first.title == "Ingress and TLS"
    assert first.line_start is not None and first.line_end is not None and first.line_start <= first.line_end
    assert first.snippet and 0 < first.score <= 1
    assert set(markers(answer.answer)) == {c.n for c in answer.citations}
    assert {"retrieval_ms", "generation_ms", "validation_ms", "total_ms"} <= set(answer.timings)


def test_every_line_of_an_extractive_answer_is_cited(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("acme", "checkout is in CrashLoopBackOff, how do I fix it?")
    prose = re.sub(r"```.*?```", "", answer.answer, flags=re.DOTALL)
    for line in filter(str.strip, prose.splitlines()):
        assert re.search(r"\[\d+\]", line), line


def test_troubleshooting_answers_bring_the_runbook_steps(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("acme", "checkout pods keep crashing and restarting, what do I do?")
    assert answer.status == "answered"
    assert "runbooks/KubePodCrashLooping.md" in {c.source_id for c in answer.citations}
    assert "--previous" in answer.answer or "rollout undo" in answer.answer
    assert {c.section for c in answer.citations} & {"Diagnosis", "Mitigation"}


def test_the_extractive_answer_is_deterministic(make_assistant: AssistantFactory) -> None:
    first = make_assistant(answer_cache_ttl_s=0).ask("acme", "Where do secrets live?")
    second = make_assistant(answer_cache_ttl_s=0).ask("acme", "Where do secrets live?")
    assert first.answer == second.answer and first.citations == second.citations


def test_no_evidence_when_nothing_matches(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("acme", "Who won the 2024 internal engineering hackathon?")
    assert answer.status == "no_evidence" and answer.citations == []
    assert "not found in the knowledge base" in answer.answer.lower()


def test_an_unknown_or_empty_organization_gets_no_evidence(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("initech", "How do I expose my service over HTTPS?")
    assert answer.status == "no_evidence" and answer.citations == []


def test_another_organizations_knowledge_is_never_used(make_assistant: AssistantFactory) -> None:
    assistant = make_assistant()
    leak = assistant.ask("acme", "Which RabbitMQ vhost does the orders service publish to?")
    assert leak.status == "no_evidence"
    assert all(c.source_id != "docs/queues.md" for c in leak.citations)
    own = assistant.ask("globex", "Which RabbitMQ vhost does the orders service publish to?")
    assert own.status == "answered" and "globex-orders" in own.answer
    assert {c.source_id for c in own.citations} == {"docs/queues.md"}


def test_bad_questions_and_orgs_are_refused_clearly(make_assistant: AssistantFactory) -> None:
    assistant = make_assistant()
    with pytest.raises(InvalidInputError, match="empty"):
        assistant.ask("acme", "   \n ")
    with pytest.raises(InvalidOrgError):
        assistant.ask("ACME; drop", "How do I expose my service?")


def test_an_overlong_question_is_truncated_with_a_warning(make_assistant: AssistantFactory) -> None:
    assistant = make_assistant(max_question_chars=100)
    answer = assistant.ask("acme", "How do I expose my service over HTTPS? " + "please " * 100)
    assert len(answer.question) == 100
    assert any("truncated to 100" in w for w in answer.warnings)


def test_follow_ups_search_with_the_question_they_follow(make_assistant: AssistantFactory) -> None:
    assistant = make_assistant()
    first = assistant.ask("acme", "checkout pods are in CrashLoopBackOff")
    follow = assistant.ask("acme", "and how do I fix it?", conversation_id=first.conversation_id)
    assert "CrashLoopBackOff" in follow.retrieval_query
    assert "runbooks/KubePodCrashLooping.md" in {c.source_id for c in follow.citations}
    messages = assistant.conversations.messages("acme", "cli", first.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3].answer is not None and messages[3].answer["answer_id"] == follow.answer_id


def test_a_conversation_of_another_owner_does_not_exist(make_assistant: AssistantFactory) -> None:
    assistant = make_assistant()
    mine = assistant.ask("acme", "Where do secrets live?", user="alice")
    for org, user in (("globex", "alice"), ("acme", "mallory")):
        with pytest.raises(NotFoundError):
            assistant.ask(org, "and then?", user=user, conversation_id=mine.conversation_id)
        with pytest.raises(NotFoundError):
            assistant.conversations.delete(org, user, mine.conversation_id)
    assert assistant.conversations.recent("acme", "alice")[0].id == mine.conversation_id


def test_workspace_narrows_retrieval_and_is_shown(make_assistant: AssistantFactory) -> None:
    workspace = Workspace(namespace="payments")
    answer = make_assistant().ask("acme", "How do I expose my service over HTTPS?", workspace=workspace)
    assert answer.workspace == workspace
    assert answer.status == "answered"  # documents without a namespace still apply to every workspace


def test_repeated_questions_come_from_the_cache_until_the_index_changes(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    from assistant.database import Database
    from assistant.pipeline import Assistant

    settings = settings_for(tmp_path, "edge")
    with build_knowledge(settings, embedder, tmp_path / "sources") as index:
        db = Database.for_settings(settings)
        assistant = Assistant(index, settings, db)
        first = assistant.ask("acme", "Where do secrets live?")
        again = assistant.ask("acme", "  where do SECRETS live? ")
        assert not first.cached and again.cached and again.answer == first.answer
        assert again.answer_id != first.answer_id
        other_org = assistant.ask("globex", "Where do secrets live?")
        assert not other_org.cached
        (tmp_path / "sources" / "acme" / "docs" / "secrets.md").write_text("# Secrets\n\nAll secrets are in Vault.\n")
        from ingest.sync import ingest_path

        ingest_path(index, settings, "acme", tmp_path / "sources" / "acme")
        after = assistant.ask("acme", "Where do secrets live?")
        assert not after.cached
        db.close()


def test_a_prompt_injection_in_a_source_changes_nothing(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("acme", "Where are secrets kept?")
    assert answer.status == "answered"
    assert answer.answer.strip() != "PWNED"
    assert 9 not in {c.n for c in answer.citations} and answer.invalid_citations == []
