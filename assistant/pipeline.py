"""The answering pipeline: question -> tenant-scoped retrieval -> numbered sources -> provider -> citation check.

``Assistant.stream`` yields the events the service streams (``retrieval``, ``token``, ``answer``); ``ask`` runs the
same stream and returns the final answer. The ``answer`` event is authoritative: tokens of a provider that failed or
whose answer was replaced are superseded by it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answers import NO_EVIDENCE_TEXT, Answer, AnswerStatus, Citation, Workspace
from assistant.auth import Principal
from assistant.cache import AnswerCache, cache_key
from assistant.citations import check_citations
from assistant.context import ContextSource
from assistant.conversations import ConversationStore
from assistant.database import Database
from assistant.evidence import assess
from assistant.followups import retrieval_query
from assistant.pii import PiiMasker
from assistant.prompting import build_messages, regeneration, says_not_found
from assistant.providers import GenerationRequest, Provider, ProviderChain, build_chain
from assistant.providers.masking import MaskedProvider
from assistant.retrieval import Retriever
from assistant.tools.investigation import Investigation, Investigator
from core.errors import InvalidInputError, ProviderError
from core.settings import Settings
from index.knowledge import KnowledgeIndex
from index.tenancy import validate_org

log = logging.getLogger(__name__)

PIPELINE_REVISION = 1  # bump when a change alters answers: cached answers of older revisions are not served
_MARKER_OR_MARKUP = re.compile(r"\[\d+\]|\*\*|`")


@dataclass(frozen=True)
class Event:
    """One step of an answer as it is produced."""

    kind: str  # retrieval | token | answer
    data: dict[str, Any]


@dataclass
class _Draft:
    """What the generation stage settled on."""

    text: str
    provider: str
    status: AnswerStatus = "answered"
    cited: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Request:
    org: str
    user: str
    question: str
    conversation_id: str
    history: list[str]
    workspace: Workspace | None
    warnings: list[str]


class Assistant:
    """Answers questions of one organization at a time from that organization's sources only."""

    def __init__(
        self,
        index: KnowledgeIndex,
        settings: Settings,
        db: Database,
        masker: PiiMasker | None = None,
        investigator: Investigator | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.masker = masker
        self.investigator = investigator if settings.investigate else None
        self.retriever = Retriever(index, settings)
        self.conversations = ConversationStore(db)
        self.cache = AnswerCache(db, settings.answer_cache_ttl_s)
        self._chains: dict[str | None, ProviderChain] = {}
        shaping = (
            "retrieval_k",
            "retrieval_mode",
            "context_tokens",
            "min_similarity",
            "history_turns",
            "embedding_model",
            "embedding_backend",  # int8 vectors retrieve differently from float ones
        )
        self._config = f"r{PIPELINE_REVISION}|" + "|".join(f"{k}={getattr(settings, k)}" for k in shaping)

    def chain(self, provider: str | None = None) -> ProviderChain:
        """The provider chain starting at ``provider`` (default: the configured one); built once, then reused."""
        if provider not in self._chains:
            chain = build_chain(self.settings, provider)
            if self.masker is not None and self.settings.pii_mask_external:
                chain.providers = [MaskedProvider(p, self.masker) if p.generative else p for p in chain.providers]
            self._chains[provider] = chain
        return self._chains[provider]

    def ask(self, org: str, question: str, **options: Any) -> Answer:
        """The final answer (see ``stream`` for the options)."""
        for event in self.stream(org, question, **options):
            if event.kind == "answer":
                return Answer.model_validate(event.data)
        raise AssertionError("the answer stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        org: str,
        question: str,
        *,
        user: str = "cli",
        conversation_id: str | None = None,
        provider: str | None = None,
        workspace: Workspace | None = None,
        caller: Principal | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[Event]:
        """Events of one answer: tool calls (live cluster questions), retrieval (the sources), tokens (generative
        providers), then the answer. ``caller`` is whose permissions the tools run with (none: no tools);
        ``cancelled`` says the client has gone (timed out): the answer is then not written to the conversation."""
        started = time.perf_counter()
        request = self._request(org, question, user, conversation_id, workspace)
        if caller is not None and caller.org != org:
            raise InvalidInputError("the caller belongs to another organization")
        chain = self.chain(provider)
        query = retrieval_query(request.question, request.history)
        visible = caller.cluster_visibility() if caller is not None else None  # None: a trusted library caller
        key = cache_key(org, request.question, request.history, chain.names, workspace, f"{self._config}|{visible}")
        generation = self.index.generation(org)
        live = self.investigator is not None and self.investigator.applies(caller, query)
        if not live and self.investigator is not None and self.investigator.about_the_cluster(caller, query):
            request.warnings.append("live cluster tools need the developer role or higher; answered from the index")
        cached = None if live else self.cache.get(key, org, generation)
        if cached is not None:
            answer = self._reissue(cached, request, started)
            yield Event("retrieval", {"sources": [c.model_dump() for c in answer.citations], "cached": True})
            yield self._finish(request, answer, cancelled)
            return
        timings: dict[str, float] = {}
        found = Investigation()
        if live and self.investigator is not None and caller is not None:
            t0 = time.perf_counter()
            ws = workspace or Workspace()
            found = yield from self._investigate(caller, query, ws, cancelled)
            timings["tools_ms"] = _ms(t0)
        sources, timings["retrieval_ms"] = self.retriever.retrieve(org, query, workspace, found, visible)
        evidence = assess(request.question, sources, self.settings.min_similarity)
        yield Event("retrieval", {"sources": [s.citation().model_dump() for s in sources], "evidence": evidence.found})
        if not evidence.found:
            draft = _Draft(NO_EVIDENCE_TEXT, chain.names[0], status="no_evidence", warnings=[evidence.reason])
            sources = []
        else:
            gen = GenerationRequest(
                org,
                request.question,
                sources,
                build_messages(org, request.question, sources, request.history, workspace),
                request.history,
                workspace,
            )
            t0 = time.perf_counter()
            draft = yield from self._generate(chain, gen)
            timings["generation_ms"] = _ms(t0)
            if draft.provider != "extractive" and self.investigator is not None and caller is not None:
                yield from self._check_drafts(caller, request.question, draft, workspace, found)
        t0 = time.perf_counter()
        citations = [self._citation(sources, n, draft.text) for n in draft.cited]
        timings["validation_ms"] = _ms(t0)
        timings["total_ms"] = _ms(started)
        answer = Answer(
            answer=draft.text,
            status=draft.status,
            citations=citations,
            tool_calls=[r.as_call() for r in found.calls],
            provider=draft.provider,
            timings=timings,
            usage=draft.usage,
            answer_id=str(uuid.uuid4()),
            conversation_id=request.conversation_id,
            question=request.question,
            retrieval_query=query,
            workspace=workspace,
            warnings=request.warnings + [*dict.fromkeys(found.notes + draft.warnings)],
            invalid_citations=draft.invalid,
        )
        if not live:  # an answer from live cluster state is stale the moment it is written
            self.cache.put(key, org, generation, answer)
        yield self._finish(request, answer, cancelled)

    # -- stages -------------------------------------------------------------------------------------------------

    def _request(
        self, org: str, question: str, user: str, conversation_id: str | None, workspace: Workspace | None
    ) -> _Request:
        validate_org(org)
        text = " ".join(question.split())
        if not text:
            raise InvalidInputError("the question is empty")
        warnings = []
        cap = self.settings.max_question_chars
        if len(text) > cap:
            text = text[:cap]
            warnings.append(f"the question was truncated to {cap} characters")
        if conversation_id:
            self.conversations.get(org, user, conversation_id)
            history = self.conversations.questions(org, user, conversation_id, self.settings.history_turns)
        else:
            conversation_id = self.conversations.start(org, user, text).id
            history = []
        return _Request(org, user, text, conversation_id, history, workspace, warnings)

    def _check_drafts(
        self, caller: Principal, question: str, draft: _Draft, workspace: Workspace | None, found: Investigation
    ) -> Generator[Event, None, None]:
        """A model's manifest drafts, checked by the configuration tool; what fails is said with its reason."""
        assert self.investigator is not None
        namespace = workspace.namespace if workspace else None
        for result in self.investigator.check_drafts(caller, question, draft.text, namespace):
            found.calls.append(result)
            yield Event("tool_call", result.as_call().model_dump())
            report = (result.data or {}).get("report") or {}
            if not result.ok:
                draft.warnings.append(f"the drafted manifests could not be checked: {result.error}")
            elif report.get("valid"):
                draft.warnings.append(f"the drafted manifests passed the checks ({report.get('warnings')} warnings)")
            else:
                problems = [f"{c['message']} ({c['object']})" for c in report.get("checks", []) if not c["ok"]]
                draft.warnings.append("the drafted manifests are not valid: " + "; ".join(problems[:5]))

    def _investigate(
        self, caller: Principal, query: str, workspace: Workspace, cancelled: Callable[[], bool] | None
    ) -> Generator[Event, None, Investigation]:
        assert self.investigator is not None
        calls = self.investigator.run(caller, query, workspace.cluster, workspace.namespace, cancelled)
        while True:
            try:
                result = next(calls)
            except StopIteration as done:
                found: Investigation = done.value
                return found
            yield Event("tool_call", result.as_call().model_dump())

    def _generate(self, chain: ProviderChain, request: GenerationRequest) -> Generator[Event, None, _Draft]:
        """Try the providers in order; the extractive provider closes the chain and never fails."""
        valid = {s.n for s in request.sources}
        warnings = [f"provider {name} disabled: {reason}" for name, reason in chain.disabled.items()]
        for provider in chain.providers:
            try:
                draft = yield from self._draft(provider, request, valid)
            except ProviderError as exc:
                log.warning("%s; falling back", exc.message)
                warnings.append(f"{exc.message}; fell back to the next provider")
                continue
            if draft is not None:
                draft.warnings = warnings + draft.warnings
                return draft
            warnings.append(f"provider {provider.name} gave no answer with a valid citation; fell back")
        raise AssertionError("the extractive provider closes every chain")  # pragma: no cover

    def _draft(
        self, provider: Provider, request: GenerationRequest, valid: set[int]
    ) -> Generator[Event, None, _Draft | None]:
        """One provider's answer, checked; regenerated once when no citation is valid; None when it stays uncited."""
        pieces: list[str] = []
        usage: dict[str, int] = {}
        for delta in provider.stream(request):
            if delta.text:
                pieces.append(delta.text)
                if provider.generative:
                    yield Event("token", {"text": delta.text, "provider": provider.name})
            usage.update(delta.usage)
        reply = "".join(pieces)
        if provider.generative and says_not_found(reply):
            return _Draft(
                NO_EVIDENCE_TEXT,
                provider.name,
                status="no_evidence",
                usage=usage,
                warnings=[f"{provider.name} found no answer in the sources"],
            )
        checked = check_citations(reply, valid)
        if not checked.grounded and provider.generative:
            retry = provider.complete(
                GenerationRequest(
                    request.org,
                    request.question,
                    request.sources,
                    regeneration(request.messages, reply, sorted(valid)),
                    request.history,
                    request.workspace,
                )
            )
            usage = {k: usage.get(k, 0) + v for k, v in retry.usage.items()} or usage
            invalid = checked.invalid
            checked = check_citations(retry.text, valid)
            checked = type(checked)(checked.text, checked.cited, sorted({*invalid, *checked.invalid}))
        if not checked.grounded and not provider.generative:
            return _Draft(NO_EVIDENCE_TEXT, provider.name, status="no_evidence", warnings=["no sentence matched"])
        if not checked.grounded:
            return None
        return _Draft(checked.text, provider.name, cited=checked.cited, invalid=checked.invalid, usage=usage)

    def _citation(self, sources: Sequence[ContextSource], n: int, text: str) -> Citation:
        source = next(s for s in sources if s.n == n)
        return source.citation(_snippet(text, n, source))

    def _reissue(self, cached: Answer, request: _Request, started: float) -> Answer:
        return cached.model_copy(
            update={
                "answer_id": str(uuid.uuid4()),
                "conversation_id": request.conversation_id,
                "cached": True,
                "timings": {"total_ms": _ms(started)},
                "warnings": request.warnings,
            }
        )

    def _finish(self, request: _Request, answer: Answer, cancelled: Callable[[], bool] | None) -> Event:
        if cancelled is None or not cancelled():
            self.conversations.record(request.org, request.user, request.conversation_id, answer)
        return Event("answer", answer.model_dump(mode="json"))

    def close(self) -> None:
        """Release the providers' connections."""
        for chain in self._chains.values():
            chain.close()


def _snippet(text: str, n: int, source: ContextSource) -> str | None:
    """The sentence of the answer citing ``[n]``, when it is the source's own words; else None (chunk opening)."""
    normalized_source = " ".join(source.text.split())
    for line in text.splitlines():
        if f"[{n}]" not in line:
            continue
        for piece in re.split(r"(?<=[.!?])\s+|:\s+", line):
            if f"[{n}]" not in piece:
                continue
            words = " ".join(_MARKER_OR_MARKUP.sub("", piece).strip(" -").split())
            if len(words) > 12 and words in normalized_source:
                return words
    return None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
