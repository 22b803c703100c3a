"""The one error hierarchy of the product.

Every error a user can meet is an ``AssistantError``; each class carries the HTTP status and the CLI exit code that the
single handler at each boundary maps it to::

    AssistantError                  500 / exit 1
    +-- InvalidInputError           422 / exit 2   bad question, path, option or file
    |   +-- InvalidOrgError         422 / exit 2   organization id that is not a valid tenant id
    +-- NotFoundError               404 / exit 3   path, source or resource that does not exist
    +-- ConfigurationError          500 / exit 4   settings that cannot work (unknown backend, missing model)
    +-- IndexUnavailableError       503 / exit 5   the index cannot be opened or answered
    |   +-- IndexLockedError        503 / exit 5   another process owns the embedded index
    +-- ProviderError               502 / exit 7   a generative provider failed (down, timeout, 5xx, bad output)
    +-- AuthenticationError         401 / exit 8   missing, unknown, revoked or expired credential
    +-- PermissionDeniedError       403 / exit 8   the caller's roles do not allow the action
    +-- QuotaExceededError          429 / exit 9   request rate, daily token budget or concurrency exceeded
    +-- PayloadTooLargeError        413 / exit 2   a request body or upload over its cap
    +-- ClusterError                502 / exit 10  a cluster's API failed (unreachable, hung, 5xx, refused)

Third-party exceptions are converted to these at the seam where they arise (``raise ... from exc``).
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the product reports to a user."""

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(AssistantError):
    """The request, option or input file is not acceptable."""

    http_status = 422
    exit_code = 2


class InvalidOrgError(InvalidInputError):
    """An organization id that is not a valid tenant id."""


class NotFoundError(AssistantError):
    """A path, source or resource that does not exist (or is not visible to the caller)."""

    http_status = 404
    exit_code = 3


class ConfigurationError(AssistantError):
    """Settings that cannot work."""

    exit_code = 4


class IndexUnavailableError(AssistantError):
    """The index cannot be opened or does not answer."""

    http_status = 503
    exit_code = 5


class IndexLockedError(IndexUnavailableError):
    """Another process owns the embedded index folder."""


class ProviderError(AssistantError):
    """A generative provider failed; the answering pipeline falls back to the next provider."""

    http_status = 502
    exit_code = 7

    def __init__(self, provider: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"provider {provider}: {message}")
        self.provider = provider
        self.retryable = retryable


class AuthenticationError(AssistantError):
    """No valid credential: missing, unknown, revoked, expired or malformed."""

    http_status = 401
    exit_code = 8


class PermissionDeniedError(AssistantError):
    """A valid caller whose roles do not allow the action."""

    http_status = 403
    exit_code = 8


class QuotaExceededError(AssistantError):
    """Too many requests or tokens; ``retry_after`` seconds until the next attempt can succeed."""

    http_status = 429
    exit_code = 9

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class PayloadTooLargeError(AssistantError):
    """A request body or upload over its cap."""

    http_status = 413
    exit_code = 2


class ClusterError(AssistantError):
    """A cluster's API failed or refused: unreachable, timed out, an error status, or a response that is not JSON."""

    http_status = 502
    exit_code = 10
