"""Answer providers, registered by name; the setting ``provider`` chooses one, ``fallback_providers`` back it up.

Built-in providers register exactly as a third-party one would: ``@register("name")`` on a factory that builds the
provider from the settings (raising ConfigurationError when it cannot work with them).
"""

from assistant.providers.base import Delta, Generation, GenerationRequest, Provider
from assistant.providers.registry import PROVIDERS, ProviderChain, build_chain, register

__all__ = [
    "PROVIDERS",
    "Delta",
    "Generation",
    "GenerationRequest",
    "Provider",
    "ProviderChain",
    "build_chain",
    "register",
]
