"""Credential redaction for everything read from a cluster: object fields, descriptions, logs, tool output.

Secrets are never read, but credentials still leak into plain env values, container args, annotations and log lines;
whatever looks like one is replaced by ``[REDACTED]`` before it is indexed, shown or handed to a model.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"
_SENSITIVE_NAME = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth|cookie|session[_-]?key"
    r"|signing[_-]?key|client[_-]?secret|dsn|conn(ection)?[_-]?string)",
    re.IGNORECASE,
)
_KEY_WORDS = (
    r"(pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|client[_-]?secret)"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM blocks first: they span lines
    (
        re.compile(
            r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----.*?-----END [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----", re.S
        ),
        REDACTED,
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),  # JWT
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),  # AWS access key id
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), REDACTED),  # GitHub token
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),  # Slack token
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), REDACTED),  # GitLab token
    (re.compile(r"\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{16,}"), REDACTED),  # Stripe-style keys
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), REDACTED),  # OpenAI-style keys
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{12,}"), rf"\1 {REDACTED}"),
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(?!(?:\w+\s+)?\[REDACTED\])(\w+\s+)?\S+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^\s:/@]+):([^\s@/]+)@"), rf"\1:{REDACTED}@"),  # URL credentials
    # key=value, key: value, "key": "value" and --key value, with a sensitive key name ("tokenizer" is not one)
    (
        re.compile(
            rf"""(?ix)(?P<key>\b[\w.-]*{_KEY_WORDS}s?(?![a-z])[\w.-]*)
            (?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"',;&]+)"""
        ),
        rf"\g<key>\g<sep>{REDACTED}",
    ),
    (
        re.compile(rf"(?i)(?P<key>--[\w.-]*{_KEY_WORDS}s?(?![a-z])[\w-]*)\s+(?P<value>[^\s-][^\s]*)"),
        rf"\g<key> {REDACTED}",
    ),
)
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)  # a full copy of the spec, env included


def redact_text(text: str) -> str:
    """The text with anything that looks like a credential replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def sensitive_name(name: str) -> bool:
    """True for an env or field name that holds a credential (DATABASE_PASSWORD, API_TOKEN ...)."""
    return bool(_SENSITIVE_NAME.search(name))


def redact_data(data: Any) -> Any:
    """Every string in a JSON value redacted (tool output, at the sandbox's boundary)."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, list):
        return [redact_data(item) for item in data]
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    return data


def redact_object(obj: Any) -> Any:
    """A copy of an API object with credential-looking env values, args, annotations and strings redacted."""
    if isinstance(obj, list):
        return [redact_object(item) for item in obj]
    if not isinstance(obj, dict):
        return redact_text(obj) if isinstance(obj, str) else obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "annotations" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _DROPPED_ANNOTATIONS}
        if key == "env" and isinstance(value, list):
            out[key] = [_redact_env(e) for e in value]
            continue
        out[key] = redact_object(value)
    return out


def _redact_env(entry: Any) -> Any:
    if isinstance(entry, dict) and "value" in entry and sensitive_name(str(entry.get("name", ""))):
        return {**entry, "value": REDACTED}
    return redact_object(entry)
