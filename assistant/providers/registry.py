"""The provider registry and the fallback chain built from the settings."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.providers.base import Provider
from core.errors import ConfigurationError
from core.settings import Settings

log = logging.getLogger(__name__)

ProviderFactory = Callable[[Settings], Provider]
PROVIDERS: dict[str, ProviderFactory] = {}
_BUILTIN_MODULES = ("assistant.providers.extractive", "assistant.providers.generative")
LAST_RESORT = "extractive"


def register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Register a provider factory under a name (built-ins use this too)."""

    def add(factory: ProviderFactory) -> ProviderFactory:
        PROVIDERS[name] = factory
        return factory

    return add


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


@dataclass
class ProviderChain:
    """Providers in the order they are tried; the extractive provider always closes the chain."""

    providers: list[Provider]
    disabled: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Names of the usable providers, in order."""
        return [p.name for p in self.providers]

    def model(self, provider: str) -> str | None:
        """The model behind a provider of the chain (None for the extractive one)."""
        return next((p.model for p in self.providers if p.name == provider), None)

    def close(self) -> None:
        """Release every provider's connections."""
        for provider in self.providers:
            provider.close()


def build_chain(settings: Settings, first: str | None = None) -> ProviderChain:
    """The chain [first or settings.provider, *fallbacks, extractive]; a misconfigured provider is disabled with a
    warning that says why, and the next one is used."""
    _load_builtins()
    names = list(dict.fromkeys([first or settings.provider, *settings.fallback_providers, LAST_RESORT]))
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise ConfigurationError(f"unknown provider {unknown[0]!r}; use one of {sorted(PROVIDERS)}")
    chain = ProviderChain([])
    for name in names:
        try:
            chain.providers.append(PROVIDERS[name](settings))
        except ConfigurationError as exc:
            chain.disabled[name] = exc.message
            log.warning("provider %s disabled: %s", name, exc.message)
    return chain
