"""Shared base of every package: the one settings object and the one error hierarchy."""

from core.errors import (
    AssistantError,
    ConfigurationError,
    IndexLockedError,
    IndexUnavailableError,
    InvalidInputError,
    InvalidOrgError,
    NotFoundError,
)
from core.settings import Settings, get_settings

__all__ = [
    "AssistantError",
    "ConfigurationError",
    "IndexLockedError",
    "IndexUnavailableError",
    "InvalidInputError",
    "InvalidOrgError",
    "NotFoundError",
    "Settings",
    "get_settings",
]
