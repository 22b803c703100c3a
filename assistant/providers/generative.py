"""Generative providers through llama-index's LLM integrations: Ollama, OpenAI, Anthropic, OpenAI-compatible servers.

One LLM object per provider, built once (its SDK client pools connections). Calls stream tokens; a call that fails
before its first token (connection refused, timeout, HTTP 429/5xx) is retried with exponential backoff; every
failure leaves this module as a ProviderError, so the pipeline can fall back to the next provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from assistant.prompting import Turn
from assistant.providers.base import Delta, GenerationRequest, Provider
from assistant.providers.registry import register
from core.errors import ConfigurationError, ProviderError
from core.settings import Settings

log = logging.getLogger(__name__)

_RETRYABLE_NAMES = ("Timeout", "Connection", "RateLimit", "InternalServer", "ServiceUnavailable", "Overloaded")
_CONTEXT_WINDOW = 8192


def _is_retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    return any(part in type(exc).__name__ for part in _RETRYABLE_NAMES)


def _reason(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"HTTP {status}: {text}" if isinstance(status, int) else f"{type(exc).__name__}: {text}"


def _usage(raw: Any) -> dict[str, int]:
    """Token counts from a raw response of any of the protocols (OpenAI usage, Anthropic usage, Ollama counts)."""
    if raw is None:
        return {}
    data = raw if isinstance(raw, dict) else getattr(raw, "model_dump", lambda: {})()
    if not isinstance(data, dict):
        return {}
    usage = data.get("usage") or {}
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
    else:
        prompt = completion = None
    prompt = data.get("prompt_eval_count", prompt)
    completion = data.get("eval_count", completion)
    counts = {"prompt_tokens": prompt, "completion_tokens": completion}
    return {k: int(v) for k, v in counts.items() if isinstance(v, int)}


class LlamaIndexProvider(Provider):
    """A provider backed by a llama-index LLM; retries and error conversion are the same for every protocol."""

    def __init__(self, name: str, llm: Any, *, max_retries: int, backoff_s: float) -> None:
        super().__init__(name, getattr(llm, "model", None))
        self.llm = llm
        self._max_retries = max_retries
        self._backoff_s = backoff_s

    def _messages(self, turns: Sequence[Turn]) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role=t.role, content=t.content) for t in turns]

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """Stream the model's answer; retry only while nothing has been produced yet."""
        messages = self._messages(request.messages)
        attempt = 0
        while True:
            produced = False
            try:
                for chunk in self.llm.stream_chat(messages):
                    if chunk.delta:
                        produced = True
                        yield Delta(chunk.delta)
                    usage = _usage(getattr(chunk, "raw", None))
                    if usage:
                        yield Delta("", usage)
                return
            except ProviderError:
                raise
            except Exception as exc:  # the SDKs' own errors: converted here, at the one seam
                retry = _is_retryable(exc) and not produced and attempt < self._max_retries
                if not retry:
                    raise ProviderError(self.name, _reason(exc), retryable=_is_retryable(exc)) from exc
                delay = self._backoff_s * 2**attempt
                log.warning("provider %s failed (%s); retry %d in %.1fs", self.name, _reason(exc), attempt + 1, delay)
                time.sleep(delay)
                attempt += 1

    def close(self) -> None:
        """Close the SDK's pooled HTTP client when it exposes one."""
        for attr in ("_client", "client"):
            client = getattr(self.llm, attr, None)
            close = getattr(client, "close", None)
            if callable(close):
                close()
                return


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _ollama(settings: Settings) -> Any:
    from llama_index.llms.ollama import Ollama

    return Ollama(
        model=settings.ollama_model,
        base_url=settings.ollama_url,
        request_timeout=settings.llm_timeout_s,
        temperature=settings.llm_temperature,
        context_window=_CONTEXT_WINDOW,
        additional_kwargs={"num_predict": settings.llm_max_tokens},
    )


def _openai(settings: Settings) -> Any:
    from llama_index.llms.openai import OpenAI

    key = _secret(settings.openai_api_key)
    if not key:
        raise ConfigurationError("AIOPS_OPENAI_API_KEY is not set")
    return OpenAI(
        model=settings.openai_model,
        api_key=key,
        api_base=settings.openai_base_url,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def _anthropic(settings: Settings) -> Any:
    from llama_index.llms.anthropic import Anthropic

    key = _secret(settings.anthropic_api_key)
    if not key:
        raise ConfigurationError("AIOPS_ANTHROPIC_API_KEY is not set")
    return Anthropic(
        model=settings.anthropic_model,
        api_key=key,
        base_url=settings.anthropic_base_url,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def _openai_compatible(settings: Settings) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    if not settings.openai_compatible_url or not settings.openai_compatible_model:
        raise ConfigurationError("AIOPS_OPENAI_COMPATIBLE_URL and AIOPS_OPENAI_COMPATIBLE_MODEL are not both set")
    return OpenAILike(
        model=settings.openai_compatible_model,
        api_base=settings.openai_compatible_url,
        api_key=_secret(settings.openai_compatible_api_key) or "not-needed",
        is_chat_model=True,
        context_window=_CONTEXT_WINDOW,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def _registered(name: str, build: Callable[[Settings], Any]) -> None:
    def factory(settings: Settings) -> Provider:
        return LlamaIndexProvider(
            name, build(settings), max_retries=settings.llm_max_retries, backoff_s=settings.llm_backoff_s
        )

    register(name)(factory)


for _name, _build in (
    ("ollama", _ollama),
    ("openai", _openai),
    ("anthropic", _anthropic),
    ("openai-compatible", _openai_compatible),
):
    _registered(_name, _build)
