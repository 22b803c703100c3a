"""ragas metrics in a run: the non-LLM ones always; the judged ones against a scripted OpenAI-compatible judge on
127.0.0.1 (real openai SDK, real ragas prompts and parsing), an unreachable judge and one answering nonsense."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from evals.ragas_metrics import JUDGED, NON_LLM
from tests.evals.conftest import Run
from tests.replay import ReplayServer, Reply

# what the judge says, by the output model ragas names in its prompt: one of two statements supported, every
# context useful, one of two reference statements attributed
VERDICTS: dict[str, Any] = {
    "StatementGeneratorOutput": {"statements": ["The answer states a fact.", "The answer states another fact."]},
    "NLIStatementOutput": {
        "statements": [
            {"statement": "The answer states a fact.", "reason": "in the context", "verdict": 1},
            {"statement": "The answer states another fact.", "reason": "not in the context", "verdict": 0},
        ]
    },
    "AnswerRelevanceOutput": {"question": "How do I expose my service over HTTPS?", "noncommittal": 0},
    "ContextPrecisionOutput": {"reason": "useful", "verdict": 1},
    "ContextRecallOutput": {
        "classifications": [
            {"statement": "Annotate the Ingress.", "reason": "in the context", "attributed": 1},
            {"statement": "Something else.", "reason": "not in the context", "attributed": 0},
        ]
    },
}
_TITLE = re.compile(r'"title":\s*"(\w+Output)"')


def _judge(nonsense: bool = False) -> Any:
    def respond(path: str, body: Any) -> Reply | None:
        if path == "/v1/models":
            return Reply.json(200, {"object": "list", "data": [{"id": "judge", "object": "model"}]})
        if path != "/v1/chat/completions":
            return None
        prompt = " ".join(str(m.get("content", "")) for m in body["messages"])
        titles = _TITLE.findall(prompt)
        verdict = "not json at all" if nonsense else json.dumps(VERDICTS[titles[-1]] if titles else {})
        message = {"role": "assistant", "content": verdict}
        return Reply.json(200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    return respond


def _means(report: dict[str, Any]) -> dict[str, float]:
    return dict(report["modes"]["hybrid"]["summary"]["all"]["means"])


def test_the_non_llm_metrics_are_always_computed(run_eval: Run, tmp_path: Path) -> None:
    done = run_eval(tmp_path, draw=False)
    means = _means(done.report)
    assert set(NON_LLM) <= set(means) and not set(JUDGED) & set(means)
    assert means["ragas_id_context_recall"] == 1.0 and means["ragas_nonllm_context_recall"] == 1.0
    assert 0 < means["ragas_id_context_precision"] < 1  # the context holds other sources too
    tls = next(c for c in done.report["modes"]["hybrid"]["cases"] if c["id"] == "acme-tls")["metrics"]
    assert 0.5 < tls["ragas_semantic_similarity"] <= 1.0 and 0 < tls["ragas_string_similarity"] < 1
    assert done.report["run"]["not_computed"] == {}


def test_a_judge_scores_faithfulness_relevancy_and_context(run_eval: Run, tmp_path: Path) -> None:
    with ReplayServer(_judge()) as judge:
        settings = {"openai_compatible_url": f"{judge.url}/v1"}
        done = run_eval(tmp_path, config={"orgs": ("acme",)}, settings=settings, judge="openai-compatible:judge")
        calls = judge.sent("/v1/chat/completions")
    means = _means(done.report)
    assert done.report["run"]["not_computed"] == {}
    assert means["ragas_faithfulness"] == 0.5 and means["ragas_context_recall"] == 0.5
    assert math.isclose(means["ragas_context_precision"], 1.0, abs_tol=1e-6)
    assert 0 < means["ragas_answer_relevancy"] <= 1.0
    assert calls and all(
        c.body["model"] == "judge" and c.body["response_format"] == {"type": "json_object"} for c in calls
    )
    answered = [c for c in done.report["modes"]["hybrid"]["cases"] if c["status"] == "answered"]
    assert all("ragas_faithfulness" in c["metrics"] for c in answered)


def test_an_unreachable_judge_is_reported_not_computed_and_the_run_goes_on(run_eval: Run, tmp_path: Path) -> None:
    started = time.perf_counter()
    settings = {"openai_compatible_url": "http://127.0.0.1:9/v1"}
    done = run_eval(tmp_path, settings=settings, judge="openai-compatible:judge", draw=False)
    not_computed = done.report["run"]["not_computed"]
    assert set(not_computed) == set(JUDGED) and "unreachable" in not_computed["ragas_faithfulness"]
    assert set(NON_LLM) <= set(_means(done.report)) and not set(JUDGED) & set(_means(done.report))
    assert done.report["run"]["cases"] == 6 and time.perf_counter() - started < 60
    assert "Not computed: ragas_faithfulness (judge openai-compatible:judge" in (tmp_path / "report.md").read_text()


def test_a_judge_answering_nonsense_is_given_up_on(run_eval: Run, tmp_path: Path) -> None:
    with ReplayServer(_judge(nonsense=True)) as judge:
        settings = {"openai_compatible_url": f"{judge.url}/v1"}
        done = run_eval(tmp_path, settings=settings, judge="openai-compatible:judge", draw=False)
        sent = len(judge.sent("/v1/chat/completions"))
    assert "gave up" in done.report["run"]["not_computed"]["ragas_faithfulness"]
    assert not set(JUDGED) & set(_means(done.report))
    assert sent <= 3 * 2  # three failed judgements (one re-ask each), then no more requests


@pytest.mark.parametrize("spec", ["judge", "anthropic:claude", "ollama:"])
def test_a_bad_judge_name_is_a_clear_error(run_eval: Run, tmp_path: Path, spec: str) -> None:
    from core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="PROVIDER:MODEL"):
        run_eval(tmp_path, judge=spec, draw=False)
