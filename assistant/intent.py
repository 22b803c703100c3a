"""What kind of question it is, and what part of a runbook or postmortem a section is."""

from __future__ import annotations

import re

_TROUBLE = re.compile(
    r"\b(why|fail\w*|error\w*|crash\w*|restart\w*|down|broken|stuck|timeout\w*|timing out|5\d\d|oom\w*|pending|"
    r"firing|fires|alert\w*|fix\w*|mitigat\w*|debug\w*|slow|lag\w*|stale|high|spik\w*|not working|evict\w*|"
    r"unhealthy|notready|backoff|degraded|outage|incident|troubleshoot\w*|diagnos\w*)\b",
    re.IGNORECASE,
)
_ROLES = (
    ("diagnosis", re.compile(r"diagnos|investigat|triage|symptom|check|verify|detect", re.IGNORECASE)),
    ("mitigation", re.compile(r"mitigat|fix|resol|remed|recover|workaround|rollback|action item", re.IGNORECASE)),
    ("cause", re.compile(r"cause|contributing|why", re.IGNORECASE)),
)


def is_troubleshooting(question: str) -> bool:
    """A question from a symptom or an alert rather than a how-to."""
    return _TROUBLE.search(question) is not None


def section_role(section: str) -> str:
    """diagnosis, mitigation, cause or info, from the last heading of a section path."""
    last = section.split(" > ")[-1] if section else ""
    return next((role for role, pattern in _ROLES if pattern.search(last)), "info")
