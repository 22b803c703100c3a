"""The configuration tool: manifests that follow an organization's documented conventions, validated before they are
shown (they parse, they deserialize into the official client's models, a policy report), never applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from assistant.auth import Principal
from assistant.tools.conventions import Conventions, extract
from assistant.tools.manifests import Workload, render, to_yaml
from assistant.tools.policy import validate
from assistant.tools.sandbox import Sandbox
from core.settings import Settings
from ingest.cluster.config import Clusters

NORTHWIND = Path(__file__).resolve().parents[2] / "corpora" / "northwind"
LABELS = {"nw.io/team": "shop", "nw.io/cost-centre": "CC-4100"}
ALL = ["Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob"]


def northwind_docs() -> list[tuple[str, str]]:
    return [(f"docs/{p.name}", p.read_text()) for p in sorted((NORTHWIND / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def conventions() -> Conventions:
    return extract(northwind_docs())


def loyalty(**extra: object) -> Workload:
    values: dict[str, object] = {
        "name": "loyalty",
        "namespace": "shop",
        "image": "ghcr.io/northwind-groceries/loyalty:sha-3f9c2ab",
        "kinds": ALL,
        "host": "loyalty.northwind-groceries.example",
        "labels": LABELS,
    }
    return Workload.model_validate(values | extra)


def failed(report: dict[str, object]) -> list[str]:
    return [f"{c['rule']}: {c['message']}" for c in report["checks"] if not c["ok"]]  # type: ignore[attr-defined]


def test_conventions_are_read_from_the_docs_with_their_sources(conventions: Conventions) -> None:
    assert conventions.get("resources.requests.cpu") == "250m"
    assert conventions.get("resources.limits.memory") == conventions.get("resources.requests.memory") == "512Mi"
    assert conventions.get("probes.readiness.path") == "/healthz/ready"
    assert conventions.get("pdb.minAvailable") == "50%"
    assert conventions.rules["memory_limit_equals_request"] == "docs/resource-requests-and-quotas.md"
    assert "no_cpu_limit" in conventions.rules
    assert {"labels.nw.io/team", "labels.nw.io/cost-centre"} <= set(conventions.values)
    assert conventions.sources["resources.requests.cpu"] == "docs/deploying-a-service.md"


def test_every_kind_is_generated_valid_and_follows_the_conventions(conventions: Conventions) -> None:
    text = to_yaml(render(loyalty(), conventions))
    report = validate(text, conventions)
    assert report["valid"] and report["errors"] == 0, failed(report)
    documents = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in documents] == ALL
    deployment = documents[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    assert deployment["metadata"]["labels"]["nw.io/service"] == "loyalty"
    assert documents[4]["spec"]["minAvailable"] == "50%"
    assert documents[3]["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_a_missing_org_label_is_reported_with_the_doc_that_requires_it(conventions: Conventions) -> None:
    report = validate(to_yaml(render(loyalty(labels={"nw.io/team": "shop"}), conventions)), conventions)
    missing = [c for c in report["checks"] if not c["ok"]]
    assert not report["valid"] and {c["message"] for c in missing} == {"label nw.io/cost-centre set"}
    assert {c["source"] for c in missing} == {conventions.sources["labels.nw.io/cost-centre"]}


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (("resources:", "resorces:"), "schema: spec.template.spec.containers[0].resorces: unknown field"),
        (("sha-3f9c2ab", "latest"), "image-tag"),
        (("minAvailable: 50%", "minAvailable: 100%"), "pdb"),
        (("0 3 * * *", "every night"), "cron"),
        (("runAsNonRoot: true", "runAsNonRoot: false"), "non-root"),
        (
            ("          limits:\n            memory: 512Mi\n", "          limits:\n            memory: 1Gi\n"),
            "memory-limit",
        ),
    ],
)
def test_a_broken_draft_is_reported_with_the_reason(
    conventions: Conventions, change: tuple[str, str], rule: str
) -> None:
    draft = to_yaml(render(loyalty(), conventions)).replace(*change, 1)
    report = validate(draft, conventions)
    assert not report["valid"] and any(f.startswith(rule) for f in failed(report)), failed(report)


def test_yaml_that_does_not_parse_or_an_unknown_kind_is_an_error_not_a_crash() -> None:
    assert failed(validate("kind: [Deployment,"))[0].startswith("yaml: the YAML does not parse")
    unknown = validate("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    assert "unsupported apiVersion/kind v1/Secret" in " ".join(failed(unknown))
    missing = validate("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {}}\n")
    assert any("selector" in f for f in failed(missing)), failed(missing)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(Settings(data_dir=tmp_path), Clusters(), documents=lambda org, query: northwind_docs())
    yield box
    box.close()


def test_the_tool_runs_for_a_viewer_with_the_orgs_conventions_and_is_never_applied(sandbox: Sandbox) -> None:
    viewer = Principal("v@northwind", "northwind", ("viewer",))
    arguments = loyalty().model_dump() | {"conventions": {"rules": {}, "values": {"resources.requests.cpu": "9"}}}
    result = sandbox.call(viewer, "generate_manifests", arguments)
    assert result.status == "ok", result.error
    assert result.data["report"]["valid"] and result.data["applied"] is False
    assert "cpu: 250m" in result.data["yaml"]  # the org's convention, not the caller's
    assert "conventions" not in result.arguments  # what the service set is not shown as the caller's


def test_a_draft_is_checked_the_same_way(sandbox: Sandbox, conventions: Conventions) -> None:
    viewer = Principal("v@northwind", "northwind", ("viewer",))
    draft = to_yaml(render(loyalty(kinds=["Deployment"]), conventions)).replace("sha-3f9c2ab", "latest")
    result = sandbox.call(viewer, "generate_manifests", loyalty().model_dump() | {"draft": draft})
    assert result.status == "ok" and result.data["generated"] is False and result.data["yaml"] == draft
    assert not result.data["report"]["valid"] and any(f.startswith("image-tag") for f in failed(result.data["report"]))
