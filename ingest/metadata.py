"""Type-specific metadata: front matter, runbook alerts, and incident facts (id, date, services, severity, TTD/TTR)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_INCIDENT_ID = re.compile(r"\b([A-Z]{2,}(?:-[A-Z]+)*-?\d{4}-\d{2,4})\b")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_STAT_LINE = re.compile(r"^\s*[-*]\s*([A-Za-z][A-Za-z /]+?)\s*:\s*(.+?)\s*$", re.M)
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)(?![a-z])", re.I
)
_UNIT_MINUTES = {"d": 1440.0, "h": 60.0, "m": 1.0, "s": 1 / 60}


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """The YAML front matter (empty if none or invalid) and the number of lines it takes."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, 0
    if not isinstance(data, dict):
        return {}, 0
    return data, match.group(0).count("\n")


def as_list(value: Any) -> list[str]:
    """A scalar, list or comma-separated string as a list of strings."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def as_date(value: Any) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime or text holding one."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    match = _DATE.search(str(value or ""))
    return match.group(1) if match else None


def duration_minutes(value: Any) -> float | None:
    """Minutes in a duration such as '8 minutes', '1 hour 40 minutes', '1h05m' or a number of minutes."""
    if isinstance(value, int | float):
        return float(value)
    parts = _DURATION_PART.findall(str(value or ""))
    if not parts:
        return None
    return round(sum(float(n) * _UNIT_MINUTES[unit[0].lower()] for n, unit in parts), 1)


def stats_list(text: str) -> dict[str, str]:
    """``- Key: value`` lines (a wiki postmortem's Stats list), keys in snake_case."""
    return {re.sub(r"[ /]+", "_", k.strip().lower()): v for k, v in _STAT_LINE.findall(text)}


def runbook_metadata(front: dict[str, Any], title: str, stem: str) -> dict[str, Any]:
    """A runbook's alert names, severity, team and services."""
    alerts = as_list(front.get("alerts") or front.get("alert"))
    if not alerts:
        alerts = [name for name in (title.strip(), stem) if _ALERT_NAME.fullmatch(name)][:1]
    meta: dict[str, Any] = {"alerts": alerts}
    for key in ("severity", "team"):
        if front.get(key):
            meta[key] = str(front[key]).lower() if key == "severity" else str(front[key])
    if front.get("services"):
        meta["services"] = as_list(front["services"])
    return meta


def incident_metadata(front: dict[str, Any], text: str, stem: str) -> dict[str, Any]:
    """An incident's id, date, services, severity, category, alerts and time to detection and recovery."""
    facts = {**stats_list(text), **{str(k).lower(): v for k, v in front.items()}}
    id_match = _INCIDENT_ID.search(str(facts.get("id") or "")) or _INCIDENT_ID.search(stem)
    meta: dict[str, Any] = {"incident_id": id_match.group(1) if id_match else str(facts.get("id") or stem)}
    day = as_date(facts.get("date")) or as_date(stem) or as_date(text)
    if day:
        meta["date"] = day
    for key in ("services", "alerts"):
        if facts.get(key):
            meta[key] = as_list(facts[key])
    for key in ("severity", "category"):
        if facts.get(key):
            meta[key] = str(facts[key])
    for key in ("time_to_detection", "time_to_recovery"):
        minutes = duration_minutes(facts.get(key))
        if minutes is not None:
            meta[key] = str(facts[key])
            meta[f"{key}_minutes"] = minutes
    return meta
