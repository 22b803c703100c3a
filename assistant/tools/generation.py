"""The configuration tool: manifests for a described workload following the organization's conventions (read from
its docs by the service before the call), or a draft (from a model or a person) checked the same way; either way
the YAML comes back with the validator's report, and is never applied to a cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from assistant.tools.conventions import Conventions, extract
from assistant.tools.manifests import Workload, render, to_yaml
from assistant.tools.policy import validate
from assistant.tools.registry import Preparation, Tool, register

if TYPE_CHECKING:
    from assistant.tools.worker import Call

CONVENTIONS_QUERY = (
    "deploying a new service values.yaml resources requests limits memory cpu probes readiness liveness labels "
    "team cost PodDisruptionBudget autoscaling HPA ingress conventions"
)


class GenerateArgs(Workload):
    """Arguments of generate_manifests."""

    draft: str | None = Field(default=None, max_length=100_000, description="YAML to check instead of generating.")
    conventions: dict[str, Any] = Field(default_factory=dict, description="Set by the service from your docs.")


def prepare(preparation: Preparation) -> dict[str, Any]:
    """The organization's conventions, from its docs (the caller cannot choose them)."""
    return {"conventions": extract(preparation.documents(CONVENTIONS_QUERY)).to_json()}


def run_generate(call: Call) -> Any:
    """Render (or take the draft), then validate; the report says what is missing and which doc requires it."""
    args = GenerateArgs.model_validate(call.arguments)
    conventions = Conventions.from_json(args.conventions)
    workload = Workload.model_validate(args.model_dump(exclude={"draft", "conventions"}))
    text = args.draft if args.draft is not None else to_yaml(render(workload, conventions))
    report = validate(text, conventions)
    return {
        "yaml": text,
        "generated": args.draft is None,
        "report": report,
        "conventions": conventions.to_json(),
        "applied": False,  # never: a person reviews and commits it
    }


register(
    Tool(
        "generate_manifests",
        "config",
        "Kubernetes manifests (Deployment, Service, Ingress, HPA, PDB, CronJob) for a described workload, following "
        "your organization's documented conventions, validated (parses, deserializes into the Kubernetes models, "
        "policy report); or a YAML draft checked the same way. Never applied to a cluster.",
        GenerateArgs,
        "assistant.tools.generation:run_generate",
        permission="ask",
        prepare=prepare,
    )
)
