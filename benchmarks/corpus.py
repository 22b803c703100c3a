"""A generated corpus of realistic operations text, reproducible from a seed (for benchmarks only)."""

from __future__ import annotations

import random
from pathlib import Path

SERVICES = [
    "checkout",
    "cart",
    "catalog",
    "payments",
    "search",
    "orders",
    "billing",
    "dispatch",
    "tracking",
    "routing",
    "inventory",
    "pricing",
    "notifications",
    "identity",
    "reporting",
    "gateway",
]
NAMESPACES = ["shop", "payments", "platform", "fleet", "routing", "billing", "data", "edge"]
ALERTS = [
    "PodCrashLooping",
    "HighErrorRate",
    "LatencyHigh",
    "DiskFilling",
    "ReplicasMismatch",
    "CertExpiring",
    "QueueBacklog",
    "NodeNotReady",
    "OOMKilled",
    "ProbeFailing",
]
VERBS = ["check", "inspect", "restart", "scale", "roll back", "drain", "cordon", "describe", "tail", "compare"]
OBJECTS = [
    "the deployment",
    "the pod logs",
    "the readiness probe",
    "the connection pool",
    "the ingress rules",
    "the node conditions",
    "the persistent volume",
    "the HPA targets",
    "the recent events",
    "the config map",
]
CAUSES = [
    "a bad configuration push",
    "an expired certificate",
    "memory pressure on the node",
    "a slow database query",
    "a noisy neighbour",
    "a failed image pull",
    "DNS resolution timeouts",
    "an exhausted connection pool",
    "a quota limit",
    "a network policy that blocked egress",
]
SECTIONS = [
    "Overview",
    "Meaning",
    "Impact",
    "Diagnosis",
    "Mitigation",
    "Prerequisites",
    "Steps",
    "Verification",
    "Rollback",
    "Escalation",
    "Timeline",
    "Root cause",
    "Action items",
]


def _sentence(rng: random.Random) -> str:
    svc, ns = rng.choice(SERVICES), rng.choice(NAMESPACES)
    templates = [
        f"When {svc} in {ns} shows {rng.choice(ALERTS)}, {rng.choice(VERBS)} {rng.choice(OBJECTS)} first.",
        f"Run `kubectl -n {ns} {rng.choice(['get', 'describe', 'logs'])} deploy/{svc}` and {rng.choice(VERBS)} "
        f"{rng.choice(OBJECTS)}.",
        f"The usual cause is {rng.choice(CAUSES)}, which the on-call engineer confirms within "
        f"{rng.randint(5, 45)} minutes.",
        f"Keep requests of {svc} at {rng.choice([128, 256, 512, 1024])}Mi memory and {rng.choice([100, 250, 500])}m "
        f"CPU, with a limit of twice the request.",
        f"If the error rate stays above {rng.randint(1, 9)} percent for {rng.randint(5, 30)} minutes, page the "
        f"{svc} owners and open an incident.",
        f"Dashboards for {svc} live in the {ns} folder; the p99 latency panel is the one to watch.",
    ]
    return rng.choice(templates)


def _section(rng: random.Random) -> str:
    paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(1, 3))]
    return "\n\n".join(paragraphs)


def write_corpus(root: Path, documents: int, seed: int = 7) -> None:
    """``documents`` markdown files under ``root`` (about 5 chunks each with the default budget)."""
    rng = random.Random(seed)
    for n in range(documents):
        folder = root / rng.choice(["docs", "runbooks", "incidents"])
        folder.mkdir(parents=True, exist_ok=True)
        svc = rng.choice(SERVICES)
        title = f"{svc.title()} {rng.choice(ALERTS)} guide {n}"
        body = [f"# {title}", ""]
        for name in rng.sample(SECTIONS, rng.randint(3, 6)):
            body += [f"## {name}", "", _section(rng), ""]
        (folder / f"doc-{n:05d}.md").write_text("\n".join(body))


def queries(count: int, seed: int = 11) -> list[str]:
    """Questions in the style of the corpus."""
    rng = random.Random(seed)
    forms = [
        "why is {svc} showing {alert}",
        "how do I {verb} {obj} for {svc}",
        "{svc} {alert} in {ns}",
        "what usually causes {alert}",
        "memory requests for {svc}",
        "who to page when {svc} errors rise",
    ]
    return [
        rng.choice(forms).format(
            svc=rng.choice(SERVICES),
            alert=rng.choice(ALERTS),
            verb=rng.choice(VERBS),
            obj=rng.choice(OBJECTS),
            ns=rng.choice(NAMESPACES),
        )
        for _ in range(count)
    ]


CHUNKS_PER_DOCUMENT = 6.9  # measured: 1,460 generated documents chunk into 10,053 chunks with the default budget


def documents_for(chunks: int) -> int:
    """How many generated documents make about ``chunks`` chunks."""
    return max(1, round(chunks / CHUNKS_PER_DOCUMENT))


def change(root: Path, share: float, seed: int = 5) -> list[Path]:
    """Edit ``share`` of the corpus's files in place (one sentence appended to one section each); returns them."""
    rng = random.Random(seed)
    files = sorted(root.rglob("*.md"))
    edited = rng.sample(files, max(1, round(share * len(files))))
    for path in edited:
        parts = path.read_text().split("\n## ")
        n = rng.randrange(1, len(parts)) if len(parts) > 1 else 0
        parts[n] = parts[n].rstrip("\n") + " " + _sentence(rng) + "\n"
        path.write_text("\n## ".join(parts))
    return edited
