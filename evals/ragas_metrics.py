"""ragas metrics of each case, offline: the non-LLM ones always, the LLM-judged ones when a judge is named.

Non-LLM (ragas 0.4.3): ID-based context precision and recall (the retrieved source ids against the expected ones, as
sets), non-LLM context recall (the evidence chunks of the expected sources, those holding an expected fact, found
among the retrieved texts by string similarity), string similarity (Levenshtein) and semantic similarity (cosine with
the local embedding model) of the answer to the case's reference answer.

Judged (``--judge PROVIDER:MODEL``, any OpenAI-compatible endpoint: ``ollama``, ``openai``, ``openai-compatible``):
faithfulness, answer relevancy, context precision and context recall against the reference. The judge is checked
once before the first case (``GET /models``); unreachable, its metrics are reported as not computed and the run goes
on; a judgement that fails later leaves that case's metric out (logged), and after three in a row the judge is given
up on (reported as not computed).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import warnings
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx
import numpy as np

from core.errors import ConfigurationError
from core.settings import Settings
from evals.golden import GoldenCase
from evals.runner import CaseResult
from index.knowledge import KnowledgeIndex

log = logging.getLogger(__name__)

NON_LLM = (
    "ragas_id_context_precision",
    "ragas_id_context_recall",
    "ragas_nonllm_context_recall",
    "ragas_string_similarity",
    "ragas_semantic_similarity",
)
JUDGED = ("ragas_faithfulness", "ragas_answer_relevancy", "ragas_context_precision", "ragas_context_recall")
JUDGE_PROVIDERS = ("ollama", "openai", "openai-compatible")
_GIVE_UP_AFTER = 3  # judgements failing in a row: the judge is gone, stop asking it


class RagasScorer:
    """Scores one case at a time (a ``scorers`` entry of the runner); ``close`` when the run is over."""

    def __init__(self, settings: Settings, judge: str | None = None) -> None:
        self.settings = settings
        self.not_computed: dict[str, str] = {}
        self._judge_spec = _parse_judge(judge, settings) if judge else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._judge: dict[str, Any] | None = None
        self._failing = 0
        self._metrics: _NonLlm | None = None
        try:
            self._metrics = _NonLlm()
        except ImportError as exc:
            reason = f"ragas is not installed ({exc.name}): pip install 'aiops-assistant[evals]'"
            self.not_computed |= dict.fromkeys(NON_LLM + (JUDGED if judge else ()), reason)

    def __call__(self, case: GoldenCase, result: CaseResult, index: KnowledgeIndex) -> dict[str, float | None]:
        if self._metrics is None or result.status == "error":
            return {}
        embed = index.embedder.encode
        contexts = [r.text for r in result.retrieved]
        values: dict[str, float | None] = {}
        if case.answerable and case.expected_sources and result.retrieved:
            evidence = _evidence(index, case)
            retrieved: list[str | int] = [r.source_id for r in result.retrieved]
            values |= self._metrics.context(retrieved, list(case.expected_sources), contexts, evidence)
        if case.reference:
            values |= self._metrics.similarity(result.answer, case.reference, embed)
        if self._judge_spec is not None and result.status == "answered":
            values |= self._judged(case, result.answer, contexts, embed)
        return values

    # -- the judge ----------------------------------------------------------------------------------------------

    def _judged(
        self, case: GoldenCase, answer: str, contexts: list[str], embed: Callable[[Sequence[str]], np.ndarray]
    ) -> dict[str, float | None]:
        if self._judge is None and not self._open_judge(embed):
            return {}
        assert self._judge is not None and self._loop is not None
        jobs: dict[str, Coroutine[Any, Any, Any]] = {
            "ragas_faithfulness": self._judge["faithfulness"].ascore(
                user_input=case.question, response=answer, retrieved_contexts=contexts
            ),
            "ragas_answer_relevancy": self._judge["relevancy"].ascore(user_input=case.question, response=answer),
        }
        if case.reference:
            jobs["ragas_context_precision"] = self._judge["precision"].ascore(
                user_input=case.question, reference=case.reference, retrieved_contexts=contexts
            )
            jobs["ragas_context_recall"] = self._judge["recall"].ascore(
                user_input=case.question, reference=case.reference, retrieved_contexts=contexts
            )
        values: dict[str, float | None] = {}
        for name, job in jobs.items():
            if self._failing >= _GIVE_UP_AFTER:
                job.close()
                continue
            try:
                found = self._loop.run_until_complete(asyncio.wait_for(job, self.settings.llm_timeout_s))
                values[name] = _value(found.value)
                self._failing = 0
            except Exception as exc:  # a judgement that fails is left out (and logged); the run goes on
                self._failing += 1
                log.warning("judge failed on %s %s: %s", case.id, name, exc)
                if self._failing >= _GIVE_UP_AFTER:
                    reason = f"the judge failed {_GIVE_UP_AFTER} times in a row ({exc.__class__.__name__}); gave up"
                    self.not_computed |= dict.fromkeys(JUDGED, reason)
        return values

    def _open_judge(self, embed: Callable[[Sequence[str]], np.ndarray]) -> bool:
        """Check the judge once and build the metrics; False (and the reason recorded) when it is unusable."""
        if any(m in self.not_computed for m in JUDGED):  # unreachable, or given up on
            return False
        assert self._judge_spec is not None
        provider, model, base_url, api_key = self._judge_spec
        try:
            reply = httpx.get(
                f"{base_url.rstrip('/')}/models",
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=httpx.Timeout(5.0, connect=2.0),
            )
            if reply.status_code >= 400:
                raise httpx.HTTPStatusError(f"HTTP {reply.status_code}", request=reply.request, response=reply)
        except httpx.HTTPError as exc:
            reason = f"judge {provider}:{model} at {base_url} is unreachable ({exc.__class__.__name__}: {exc})"
            self.not_computed |= dict.fromkeys(JUDGED, reason[:300])
            return False
        from openai import AsyncOpenAI
        from ragas.llms import llm_factory
        from ragas.metrics.collections import (
            AnswerRelevancy,
            ContextPrecisionWithReference,
            ContextRecall,
            Faithfulness,
        )

        self._loop = asyncio.new_event_loop()
        timeout = httpx.Timeout(self.settings.llm_timeout_s, connect=2.0)
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        llm = llm_factory(model, client=self._client, max_retries=1)
        self._judge = {
            "faithfulness": Faithfulness(llm=llm),
            "relevancy": AnswerRelevancy(llm=llm, embeddings=_embeddings(embed), strictness=3),
            "precision": ContextPrecisionWithReference(llm=llm),
            "recall": ContextRecall(llm=llm),
        }
        return True

    def close(self) -> None:
        """Close the judge's client inside its loop, then the loop."""
        if self._loop is None:
            return
        if self._client is not None:
            self._loop.run_until_complete(self._client.close())
        self._loop.close()
        self._loop = None


class _NonLlm:
    """The non-LLM metrics, imported once (ragas is an optional dependency)."""

    def __init__(self) -> None:
        os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # before ragas is first used: no usage events sent
        import ragas._analytics
        from ragas.dataset_schema import SingleTurnSample
        from ragas.metrics._context_precision import IDBasedContextPrecision
        from ragas.metrics._context_recall import IDBasedContextRecall, NonLLMContextRecall
        from ragas.metrics.collections import DistanceMeasure, NonLLMStringSimilarity

        with warnings.catch_warnings():  # ragas reads its user-id file without closing it (once: the id is cached)
            warnings.simplefilter("ignore", ResourceWarning)
            ragas._analytics.get_userid()
        self.sample = SingleTurnSample
        self.id_precision = IDBasedContextPrecision()
        self.id_recall = IDBasedContextRecall()
        self.text_recall = NonLLMContextRecall()
        self.string = NonLLMStringSimilarity(distance_measure=DistanceMeasure.LEVENSHTEIN)
        self._semantic: Any = None
        self._semantic_embed: Callable[[Sequence[str]], np.ndarray] | None = None

    def context(
        self, retrieved_ids: list[str | int], expected_ids: list[str | int], contexts: list[str], evidence: list[str]
    ) -> dict[str, float | None]:
        sample = self.sample(
            retrieved_context_ids=retrieved_ids,
            reference_context_ids=expected_ids,
            retrieved_contexts=contexts,
            reference_contexts=evidence,
        )
        return {
            "ragas_id_context_precision": _value(self.id_precision.single_turn_score(sample)),
            "ragas_id_context_recall": _value(self.id_recall.single_turn_score(sample)),
            "ragas_nonllm_context_recall": _value(self.text_recall.single_turn_score(sample)) if evidence else None,
        }

    def similarity(
        self, answer: str, reference: str, embed: Callable[[Sequence[str]], np.ndarray]
    ) -> dict[str, float | None]:
        if self._semantic is None or embed != self._semantic_embed:  # one per embedding model, not one per case
            from ragas.metrics.collections import SemanticSimilarity

            self._semantic, self._semantic_embed = SemanticSimilarity(embeddings=_embeddings(embed)), embed
        semantic = self._semantic
        return {
            "ragas_string_similarity": _value(self.string.score(reference=reference, response=answer).value),
            "ragas_semantic_similarity": _value(semantic.score(reference=reference, response=answer).value),
        }


def _embeddings(embed: Callable[[Sequence[str]], np.ndarray]) -> Any:
    """The run's own embedding model as a ragas embedding (no second copy of the model is loaded)."""
    from ragas.embeddings import BaseRagasEmbedding

    class Local(BaseRagasEmbedding):
        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return [float(x) for x in embed([text])[0]]

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return [[float(x) for x in row] for row in embed(texts)]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    return Local()


def _evidence(index: KnowledgeIndex, case: GoldenCase) -> list[str]:
    """The chunks of the expected sources that hold an expected fact (each source's first chunk when none does)."""
    facts = [" ".join(f.split()).casefold() for f in case.expected_facts]
    found: list[str] = []
    for source_id in case.expected_sources:
        texts = [str(p.payload.get("text", "")) for p in index.chunks(case.org, source_id)]
        holding = [t for t in texts if any(f in " ".join(t.split()).casefold() for f in facts)]
        found += holding or texts[:1]
    return found


def _value(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else round(number, 4)


def _parse_judge(spec: str, settings: Settings) -> tuple[str, str, str, str]:
    """(provider, model, OpenAI-compatible base URL, API key) of ``PROVIDER:MODEL``, URLs and keys from the settings."""
    provider, _, model = spec.partition(":")
    if provider not in JUDGE_PROVIDERS or not model:
        raise ConfigurationError(f"--judge wants PROVIDER:MODEL with a provider of {', '.join(JUDGE_PROVIDERS)}")
    if provider == "ollama":  # Ollama's OpenAI-compatible API
        return provider, model, settings.ollama_url.rstrip("/") + "/v1", "ollama"
    if provider == "openai":
        if settings.openai_api_key is None:
            raise ConfigurationError("--judge openai:MODEL needs AIOPS_OPENAI_API_KEY")
        url = settings.openai_base_url or "https://api.openai.com/v1"
        return provider, model, url, settings.openai_api_key.get_secret_value()
    if not settings.openai_compatible_url:
        raise ConfigurationError("--judge openai-compatible:MODEL needs AIOPS_OPENAI_COMPATIBLE_URL")
    key = settings.openai_compatible_api_key
    return provider, model, settings.openai_compatible_url, key.get_secret_value() if key else "none"
