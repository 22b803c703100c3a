"""Parsing keeps titles, sections and exact line spans; metadata is read from front matter and text."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.metadata import duration_minutes, incident_metadata, runbook_metadata, split_front_matter
from ingest.parsing import parse
from ingest.reading import UnreadableSource, read_source
from tests.pdf import make_pdf

RUNBOOK = """---
alert: CheckoutLatencyHigh
severity: critical
services: [checkout]
---
# CheckoutLatencyHigh

## Meaning

p99 latency of checkout is above 800 ms for 10 minutes.

## Diagnosis

- Look at the dashboard `checkout-latency`.
- Run `kubectl -n shop top pods -l app=checkout`.

```bash
kubectl -n shop logs deploy/checkout --since=15m | grep -i timeout
```

## Mitigation

Scale out with `kubectl -n shop scale deploy/checkout --replicas=6`.
"""


def parse_file(tmp_path: Path, name: str, content: str | bytes) -> list:  # type: ignore[type-arg]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return parse(read_source(path, 10_000_000), path.stem)


def test_markdown_blocks_keep_sections_and_exact_line_spans(tmp_path: Path) -> None:
    [doc] = parse_file(tmp_path, "CheckoutLatencyHigh.md", RUNBOOK)
    lines = RUNBOOK.splitlines()
    assert doc.title == "CheckoutLatencyHigh"
    assert doc.front["alert"] == "CheckoutLatencyHigh"
    sections = [b.headings for b in doc.blocks]
    assert sections[0] == ("Meaning",) and sections[-1] == ("Mitigation",)
    for block in doc.blocks:
        assert block.line_start is not None and block.line_end is not None
        assert block.text == "\n".join(lines[block.line_start - 1 : block.line_end]).strip()
    code = next(b for b in doc.blocks if "grep -i timeout" in b.text)
    assert lines[code.line_start - 1].startswith("kubectl") or lines[code.line_start - 1].startswith("```")
    assert code.headings == ("Diagnosis",)


def test_html_keeps_headings(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Ingress</title></head><body>\n<h1>Ingress and TLS</h1>\n"
        "<h2>Certificates</h2>\n<p>Annotate the Ingress with the cluster issuer.</p>\n"
        "<h2>Redirects</h2>\n<p>HTTP is redirected to HTTPS by default.</p>\n</body></html>\n"
    )
    [doc] = parse_file(tmp_path, "ingress.html", html)
    assert doc.title == "Ingress and TLS"
    assert [(b.headings, b.text) for b in doc.blocks] == [
        (("Certificates",), "Annotate the Ingress with the cluster issuer."),
        (("Redirects",), "HTTP is redirected to HTTPS by default."),
    ]
    assert doc.blocks[0].line_start == 4


def test_pdf_text_path_gives_pages(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            ["Cost Guide", "Every namespace carries a cost-center label."],
            ["Showback", "Reports are sent on the first Monday of the month."],
        ]
    )
    [doc] = parse_file(tmp_path, "cost.pdf", pdf)
    text = " ".join(b.text for b in doc.blocks)
    assert "cost-center label" in text and "first Monday" in text
    assert {b.page for b in doc.blocks} == {1, 2}


@pytest.mark.parametrize(
    "suffix,content",
    [
        (
            ".json",
            '{"incidents": [{"id": "INC-1", "title": "Disk full", "date": "2024-01-02", "services": ["db"], '
            '"summary": "The data disk filled up.", "time_to_recovery": "1h05m"}, '
            '{"id": "INC-2", "title": "DNS", "summary": "CoreDNS crashed."}]}',
        ),
        (
            ".yaml",
            "incidents:\n- id: INC-1\n  title: Disk full\n  date: 2024-01-02\n  services: [db]\n"
            "  summary: The data disk filled up.\n  time_to_recovery: 1h05m\n- id: INC-2\n  title: DNS\n"
            "  summary: CoreDNS crashed.\n",
        ),
    ],
)
def test_incident_exports_become_one_document_per_record(tmp_path: Path, suffix: str, content: str) -> None:
    docs = parse_file(tmp_path, "export" + suffix, content)
    assert [d.key for d in docs] == ["INC-1", "INC-2"]
    assert docs[0].title == "Disk full"
    assert "The data disk filled up." in " ".join(b.text for b in docs[0].blocks)
    meta = incident_metadata(docs[0].front, docs[0].text, "INC-1")
    assert meta["incident_id"] == "INC-1" and meta["date"] == "2024-01-02"
    assert meta["time_to_recovery_minutes"] == 65.0 and meta["services"] == ["db"]


def test_records_that_are_not_incidents_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableSource, match="not an incident export"):
        parse_file(tmp_path, "x.json", '{"items": [1, 2]}')


def test_runbook_metadata_from_front_matter_or_title() -> None:
    front, lines = split_front_matter(RUNBOOK)
    assert lines == 5
    assert runbook_metadata(front, "CheckoutLatencyHigh", "x")["alerts"] == ["CheckoutLatencyHigh"]
    assert runbook_metadata({}, "KubePodCrashLooping", "whatever")["alerts"] == ["KubePodCrashLooping"]
    assert runbook_metadata({}, "How to restart things", "restart-things")["alerts"] == []
    assert runbook_metadata({"alerts": "A, B"}, "t", "s")["alerts"] == ["A", "B"]


def test_wiki_postmortem_stats_are_read() -> None:
    text = (
        "# Ingress outage\n\n## Timeline\n\n| 2021-06-22 08:21 | change |\n\n## Stats\n\n"
        "- Category: Kubernetes\n- Time to detection: 8 minutes\n- Time to recovery: 1 hour 40 minutes\n"
    )
    meta = incident_metadata({}, text, "PM2021-005 - Ingress outage")
    assert meta == {
        "incident_id": "PM2021-005",
        "date": "2021-06-22",
        "category": "Kubernetes",
        "time_to_detection": "8 minutes",
        "time_to_detection_minutes": 8.0,
        "time_to_recovery": "1 hour 40 minutes",
        "time_to_recovery_minutes": 100.0,
    }


@pytest.mark.parametrize("text,minutes", [("8 minutes", 8.0), ("1h05m", 65.0), ("2 days", 2880.0), ("n/a", None)])
def test_durations(text: str, minutes: float | None) -> None:
    assert duration_minutes(text) == minutes
