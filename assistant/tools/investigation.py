"""Answering with the cluster: for a question about a workload ("why is checkout crashing in prod?") run the
analyzers within the caller's permissions, pick the findings the question is about, describe those objects, and
hand the answer the live evidence plus what to retrieve for it (the alerts whose runbooks apply, the services whose
past incidents may match). Deterministic: the same cluster state and question give the same calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from assistant.auth import Principal
from assistant.intent import is_troubleshooting
from assistant.tools import signals, workloads
from assistant.tools.registry import ToolResult
from assistant.tools.sandbox import Sandbox
from assistant.tools.sources import live_hit
from index.records import SearchHit
from ingest.cluster.kinds import KINDS

_CLUSTER_WORDS = re.compile(  # words asking about the cluster's current state (not what the docs say about it)
    r"\b(pods?|rollouts?|replicas?|restart\w*|crash\w*|pending|evict\w*|oom\w*|probes?|notready|not ready|"
    r"schedul\w*|kubectl|right now|currently|unavailable|stuck|break\w*|broke|passed|pass|running)\b",
    re.IGNORECASE,
)
_SYMPTOMS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"crash|restart|exit|panic|looping|backoff", re.I), ("CrashLoopBackOff", "OOMKilled")),
    (re.compile(r"oom|memory|killed", re.I), ("OOMKilled",)),
    (re.compile(r"image|pull|registry|tag", re.I), ("ImagePullBackOff",)),
    (
        re.compile(r"pending|schedul|never starts|not start", re.I),
        ("FailedScheduling", "PVCPending", "ImagePullBackOff"),
    ),
    (re.compile(r"node|kubelet", re.I), ("NodeNotReady",)),
    (re.compile(r"probe|not ready|readiness|liveness|unhealthy|503", re.I), ("ProbeFailing",)),
    (re.compile(r"volume|pvc|disk|storage|claim", re.I), ("PVCPending",)),
    (re.compile(r"\bjob|backup|cron", re.I), ("JobFailed",)),
    (re.compile(r"rollout|replica|available|deploy", re.I), ("DeploymentUnavailable",)),
)
_GENERIC = re.compile(r"what('s| is) (wrong|broken|failing)|anything (wrong|failing|broken)|health|status", re.I)
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9]")
_HASH_SUFFIX = re.compile(r"(-[a-z0-9]{5,10}){1,2}$|-\d{6,}$")
_MAX_FINDINGS = 3
_SEGMENT_CHARS = 5  # a question word this long may name a part of an object's name
_LIVE_SECTIONS = ("Findings", "Events", "Log of")  # findings carry the state; these add what they lack


@dataclass
class Investigation:
    """What the cluster tools found for one question."""

    calls: list[ToolResult] = field(default_factory=list)
    hits: list[SearchHit] = field(default_factory=list)  # live evidence, cited like any source
    alerts: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # the findings' own words, to search documents with
    cancelled: Callable[[], bool] = field(default=lambda: False, repr=False)

    def search_text(self, limit: int = 600) -> str:
        """The symptom and the evidence in a few hundred characters: what a similar past incident would mention."""
        return " ".join([*dict.fromkeys(self.checks), *self.evidence])[:limit]


class Investigator:
    """Plans and runs the cluster tools for a question, through the sandbox only."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def about_the_cluster(self, who: Principal | None, question: str) -> bool:
        """A troubleshooting, live-state, alert or metric question, from a caller whose organization has a cluster
        (with a Prometheus, for the last two)."""
        if who is None or not self.sandbox.clusters.of(who.org):
            return False
        if is_troubleshooting(question) or _CLUSTER_WORDS.search(question) is not None:
            return True
        metrics = any(c.prometheus_url for c in self.sandbox.clusters.of(who.org))
        return metrics and (signals.wants_alerts(question) or bool(signals.wanted_signals(question)))

    def applies(self, who: Principal | None, question: str) -> bool:
        """A question about the cluster from a caller who may run the cluster tools, or one asking for manifests."""
        if who is not None and workloads.asks_for_manifests(question):
            return who.can("ask")
        allowed = who is not None and (who.can("tools:namespaced") or who.can("tools:all"))
        return allowed and self.about_the_cluster(who, question)

    def check_drafts(self, who: Principal, question: str, answer: str, namespace: str | None) -> list[ToolResult]:
        """A model's YAML drafts in an answer to a manifest question, each checked by the configuration tool."""
        if not workloads.asks_for_manifests(question):
            return []
        arguments, _ = workloads.workload(question, namespace)
        checked = []
        for draft in _YAML_BLOCK.findall(answer)[:3]:
            base = {"name": "draft", "namespace": "default", "image": "draft:0"} | arguments
            checked.append(self.sandbox.call(who, "generate_manifests", base | {"draft": draft}))
        return checked

    def run(
        self,
        who: Principal,
        question: str,
        cluster: str | None = None,
        namespace: str | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generator[ToolResult, None, Investigation]:
        """Analyze, choose the findings the question is about, describe their objects; yields each call's result
        as it completes and returns what was found. Stops between calls once ``cancelled`` says so."""
        found = Investigation(cancelled=cancelled or _never)
        if workloads.asks_for_manifests(question):
            yield from self._manifests(who, question, namespace, found)
            return found
        for config in self.sandbox.clusters.of(who.org):
            if cluster is not None and config.name != cluster:
                continue
            if is_troubleshooting(question) or _CLUSTER_WORDS.search(question):
                yield from self._cluster(who, question, config.name, namespace, found)
            if config.prometheus_url:
                yield from self._metrics(who, question, config.name, config.prometheus_url, found)
        found.alerts = list(dict.fromkeys(found.alerts))
        found.services = list(dict.fromkeys(found.services))
        return found

    def _manifests(
        self, who: Principal, question: str, namespace: str | None, found: Investigation
    ) -> Generator[ToolResult, None, None]:
        arguments, missing = workloads.workload(question, namespace)
        if missing:
            found.notes.append(f"to generate manifests, say the workload's {', '.join(missing)}")
            return
        result = yield from self._call(who, "generate_manifests", arguments, found)
        if result.ok:
            found.hits.extend(_manifest_hits(result))

    def _metrics(
        self, who: Principal, question: str, cluster: str, prometheus: str, found: Investigation
    ) -> Generator[ToolResult, None, None]:
        def call(name: str, arguments: dict[str, Any]) -> Generator[ToolResult, None, ToolResult]:
            return self._call(who, name, arguments, found)

        if signals.wants_alerts(question):
            yield from signals.alerts(call, question, cluster, prometheus, found)
        if signals.wanted_signals(question):
            yield from signals.metrics(call, question, cluster, prometheus, found)

    def _call(
        self, who: Principal, name: str, arguments: dict[str, Any], found: Investigation
    ) -> Generator[ToolResult, None, ToolResult]:
        if found.cancelled():
            return ToolResult(name=name, arguments=arguments, status="error", error="the request was cancelled")
        result = self.sandbox.call(who, name, arguments)
        found.calls.append(result)
        if not result.ok:
            what = "the metrics" if name.startswith("prometheus") else "the cluster"
            found.notes.append(f"could not check {what}: {name} {result.status}: {result.error}")
        yield result
        return result

    def _cluster(
        self, who: Principal, question: str, cluster: str, namespace: str | None, found: Investigation
    ) -> Generator[ToolResult, None, None]:
        arguments: dict[str, Any] = {"cluster": cluster} | ({"namespace": namespace} if namespace else {})
        analysis = yield from self._call(who, "cluster_analyze", arguments, found)
        if not analysis.ok:
            return
        findings = relevant(question, list(analysis.data.get("findings") or []))
        for finding in findings:
            found.checks.append(str(finding["check"]))
            found.alerts.extend(str(a) for a in finding.get("alerts") or [])
            found.services.append(base_name(str(finding["name"])))
            found.hits.append(_finding_hit(cluster, finding, analysis.invocation))
            found.evidence.extend(_signal(finding))
            kind, ns, name = str(finding["kind"]), str(finding["namespace"]), str(finding["name"])
            describe = {"cluster": cluster, "kind": kind, "name": name} | (
                {} if ns == "_cluster" else {"namespace": ns}
            )
            described = yield from self._call(who, "kubernetes_describe", describe, found)
            if described.ok:
                found.hits.extend(_description_hits(described, finding))


_SIGNAL = re.compile(r"panic|fatal|error|exception|denied|refused|failed|killed|not found|invalid|insufficient", re.I)


def _signal(finding: dict[str, Any]) -> list[str]:
    """The finding's summary and the evidence lines that carry an error (log lines, event messages)."""
    lines = [str(e) for e in finding.get("evidence") or [] if _SIGNAL.search(str(e))]
    return [str(finding.get("summary", "")), *lines[-3:]]


_YAML_BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.S)


def _manifest_hits(result: ToolResult) -> list[SearchHit]:
    """The generated YAML and its report, as two citable live sources."""
    data = result.data or {}
    report = data.get("report") or {}
    name = str(result.arguments.get("name"))
    verdict = "valid" if report.get("valid") else f"not valid: {report.get('errors')} errors"
    lines = [f"Generated for {name}: {verdict}, {report.get('warnings', 0)} warnings; never applied to a cluster."]
    lines += [
        f"- {c['severity']}: {c['message']} ({c['object']})"
        + (f", required by {c['source']}" if c.get("source") else "")
        for c in report.get("checks", [])
        if not c["ok"]
    ][:12]
    sources = sorted(set((data.get("conventions") or {}).get("sources", {}).values()))
    if sources:
        lines.append("- conventions from " + ", ".join(sources))
    title = f"Manifests for {name} (generated, validated)"
    return [
        live_hit(f"generated/{name}", title, section, text, result.invocation, uri=None, source_type="generated")
        for section, text in (("Manifests", str(data.get("yaml", ""))), ("Policy report", "\n".join(lines)))
    ]


def _never() -> bool:
    return False


def base_name(name: str) -> str:
    """A pod's or job's workload name: ``checkout-7c9d8f6b5-x2k4p`` -> ``checkout``."""
    return _HASH_SUFFIX.sub("", name) or name


def _names(finding: dict[str, Any]) -> set[str]:
    names = {str(finding["name"]), base_name(str(finding["name"]))}
    for ref in finding.get("related") or []:
        name = str(ref).rsplit("/", 1)[-1]
        names |= {name, base_name(name)}
    return names


def relevant(question: str, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings the question is about: those naming what it names, then those matching its symptom; for a
    general "what is wrong" question, the critical ones."""
    words = set(_WORD.findall(question.lower()))
    symptoms = {check for pattern, checks in _SYMPTOMS if pattern.search(question) for check in checks}
    scored = []
    long_words = {w for w in words if len(w) >= _SEGMENT_CHARS}
    for i, f in enumerate(findings):
        names = _names(f)
        segments = {part for name in names for part in name.split("-") if len(part) >= _SEGMENT_CHARS}
        named = bool(words & names or long_words & segments)  # "backup" names pg-backup-verify
        score = (2 if named else 0) + (1 if f.get("check") in symptoms else 0)
        scored.append((score, named, i, f))
    if any(named for _, named, _, _ in scored):
        scored = [s for s in scored if s[1]]  # a named object narrows to it; the symptom then orders its findings
    if not any(named for _, named, _, _ in scored) and not is_troubleshooting(question):
        scored = []  # "which storage class does X use?" is a lookup: a symptom word alone picks no failure
    best = max((s[0] for s in scored), default=0)
    if best > 0:
        chosen = [f for score, _, _, f in sorted(scored, key=lambda s: (-s[0], s[2])) if score == best]
    elif _GENERIC.search(question):
        chosen = [f for f in findings if f.get("severity") == "critical"]
    else:
        chosen = []
    return chosen[:_MAX_FINDINGS]


def _finding_hit(cluster: str, finding: dict[str, Any], invocation: str) -> SearchHit:
    ns, kind, name = finding["namespace"], finding["kind"], finding["name"]
    evidence = "\n".join(f"- {line}" for line in finding.get("evidence") or [])
    text = f"{finding['summary']}\n\n{evidence}".strip()
    return _hit(cluster, ns, kind, name, "Findings", text, invocation, f"finding:{finding['check']}")


def _description_hits(result: ToolResult, finding: dict[str, Any]) -> list[SearchHit]:
    """The sections of a description a troubleshooting answer needs (state, events, log), each citable."""
    data = result.data or {}
    cluster, ns, kind, name = result.cluster or "", finding["namespace"], finding["kind"], finding["name"]
    hits = []
    for heading, body in _sections(str(data.get("text", ""))):
        if heading.startswith(_LIVE_SECTIONS) and heading != "Findings":
            hits.append(_hit(cluster, ns, kind, name, heading, body, result.invocation, heading))
    return hits


def _sections(markdown: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for part in re.split(r"^## ", markdown, flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        if body.strip():
            found.append((heading.strip(), body.strip()))
    return found


def _hit(cluster: str, ns: str, kind: str, name: str, section: str, text: str, invocation: str, key: str) -> SearchHit:
    title = f"{KINDS[kind].title} {name if ns == '_cluster' else f'{ns}/{name}'} (live)"
    return live_hit(
        f"cluster/{cluster}/{ns}/{kind}/{name}",
        title,
        section,
        text,
        invocation,
        uri=f"k8s://{cluster}/{ns}/{kind}/{name}",
        cluster=cluster,
        namespace=ns,
        kind=kind,
        name=name,
    )
