"""The `aiops` command line: a thin layer over the library (progress on stderr, `--json` on stdout)."""

from __future__ import annotations

import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from typer.exceptions import TyperException

from assistant.console import err, out, progress_bar
from core.errors import AssistantError
from core.settings import Settings, get_settings
from evals.cli import eval_app
from index.records import SOURCE_TYPES, SearchFilters, SearchMode, SourceType
from ingest.summary import IngestSummary

app = typer.Typer(add_completion=False, no_args_is_help=True, help="AIOps knowledge assistant.")

SourceTypeChoice = Enum("SourceTypeChoice", {t: t for t in SOURCE_TYPES}, type=str)  # type: ignore[misc]
ModeChoice = Enum("ModeChoice", {m: m for m in ("hybrid", "dense", "bm25")}, type=str)  # type: ignore[misc]
HYBRID = ModeChoice("hybrid")
EXIT_PARTIAL = 6  # the run finished, but some inputs failed (listed in the summary)

OrgOption = Annotated[str, typer.Option("--org", help="Organization (tenant) id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def _settings() -> Settings:
    return get_settings()


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="File or folder of docs, runbooks or incident postmortems; or `cluster`.")
    ],
    org: OrgOption,
    source_type: Annotated[
        SourceTypeChoice | None,
        typer.Option("--type", help="Source type of every file (default: from folder names)."),
    ] = None,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="aiops ingest cluster: read this kubeconfig's cluster.")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context (default: current).")] = None,
    dump: Annotated[
        Path | None, typer.Option("--dump", help="aiops ingest cluster: a `kubectl cluster-info dump` folder.")
    ] = None,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", help="Only these namespaces of the cluster (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest a file or folder for an organization (incremental: unchanged files are skipped); `aiops ingest
    cluster --kubeconfig F [--context C]` or `--dump DIR` describes a cluster's objects instead."""
    from index.factory import open_index
    from index.tenancy import validate_org
    from ingest.sync import ingest_path

    validate_org(org)
    settings = _settings()
    cluster = kubeconfig is not None or dump is not None
    if cluster and path != Path("cluster"):
        raise typer.BadParameter("--kubeconfig and --dump go with `aiops ingest cluster`", param_hint="PATH")
    if path == Path("cluster") and not cluster and not path.exists():
        raise typer.BadParameter("`aiops ingest cluster` needs --kubeconfig FILE or --dump DIR", param_hint="PATH")
    with open_index(settings) as index, progress_bar() as bar:
        task = bar.add_task("ingesting", total=None)

        def advance(source_id: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=source_id[-40:])

        if cluster:
            summary = _ingest_cluster(index, settings, org, kubeconfig, context, dump, namespace, advance)
        else:
            kind = cast(SourceType | None, source_type.value if source_type else None)
            summary = ingest_path(index, settings, org, path, kind, advance)
    if as_json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        _print_summary(summary)
    if not summary.ok:
        raise typer.Exit(EXIT_PARTIAL)


def _ingest_cluster(
    index: Any,
    settings: Settings,
    org: str,
    kubeconfig: Path | None,
    context: str | None,
    dump: Path | None,
    namespaces: list[str] | None,
    progress: Any,
) -> IngestSummary:
    from ingest.cluster.ingestion import ingest_cluster
    from ingest.cluster.kinds import validate_label
    from ingest.cluster.readers import open_reader

    wanted = [validate_label(ns) for ns in namespaces] if namespaces else None
    reader = open_reader(dump=dump, kubeconfig=kubeconfig, context=context, timeout_s=settings.tool_timeout_s)
    try:
        return ingest_cluster(index, settings, org, reader, wanted, progress)
    finally:
        reader.close()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    org: OrgOption,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Number of hits.")] = 5,
    source_type: Annotated[
        list[SourceTypeChoice] | None, typer.Option("--type", help="Only these source types (repeatable).")
    ] = None,
    mode: Annotated[ModeChoice, typer.Option("--mode", help="Retrieval: hybrid, dense or bm25.")] = HYBRID,
    as_json: JsonOption = False,
) -> None:
    """Search an organization's knowledge (hybrid dense + BM25, fused by reciprocal rank)."""
    from index.factory import open_index

    if not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")
    with open_index(_settings()) as index:
        filters = SearchFilters.model_validate({"source_types": [t.value for t in source_type or []]})
        hits = index.search(org, query, k=k, filters=filters, mode=cast(SearchMode, mode.value))
    if as_json:
        print(json.dumps([h.to_json() for h in hits], indent=2))
        return
    if not hits:
        out.print(f"no results in organization {org!r}")
        return
    for n, hit in enumerate(hits, start=1):
        data = hit.to_json()
        where = f"lines {data['line_start']}-{data['line_end']}" if data["line_start"] else f"page {data['page']}"
        section = f" > {data['section']}" if data["section"] else ""
        out.print(
            f"[bold]{n}. {data['title']}{section}[/]  [dim]{data['source_type']} {data['source_id']} "
            f"({where}) similarity {hit.similarity:.2f}[/]",
            highlight=False,
        )
        out.print("   " + " ".join(str(data["text"]).split())[:300], highlight=False, markup=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in your own words.")],
    org: OrgOption,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Continue this conversation (id printed by an earlier ask).")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="extractive, ollama, openai, anthropic or openai-compatible.")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Workspace namespace (narrows retrieval).")
    ] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="Workspace cluster (narrows retrieval).")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Workspace project (narrows retrieval).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the organization's knowledge, citing the sources."""
    from assistant.answers import Workspace
    from assistant.audit import AuditLog
    from assistant.auth import Principal
    from assistant.database import Database
    from assistant.pii import PiiMasker
    from assistant.pipeline import Assistant
    from assistant.tools.investigation import Investigator
    from assistant.tools.sandbox import documents_from, open_sandbox
    from index.factory import open_index
    from index.tenancy import validate_org

    settings = _settings()
    workspace = Workspace(cluster=cluster, namespace=namespace, project=project)
    caller = Principal(user="cli", org=validate_org(org), roles=("operator",), via="cli")  # the local operator
    with open_index(settings) as index:
        db = Database.for_settings(settings)
        sandbox = open_sandbox(
            settings, AuditLog(db, PiiMasker(settings.pii_entities).redact), None, documents_from(index)
        )
        assistant = Assistant(index, settings, db, investigator=Investigator(sandbox))
        try:
            answer = assistant.ask(
                org,
                question,
                conversation_id=conversation,
                provider=provider,
                workspace=None if workspace.empty else workspace,
                caller=caller,
            )
        finally:
            assistant.close()
            sandbox.close()
            db.close()
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    for warning in answer.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if answer.tool_calls:
        out.print("[bold]Tool calls[/]")
    for call in answer.tool_calls:
        mark = "[green]ok[/]" if call.status == "ok" else f"[red]{call.status}[/]"
        out.print(f"  {mark} {call.invocation}  [dim]{call.duration_ms:.0f} ms: {call.summary}[/]", highlight=False)
    if answer.tool_calls:
        out.print()
    out.print(answer.answer, highlight=False, markup=False)
    if answer.citations:
        out.print("\n[bold]Sources[/]")
    for c in answer.citations:
        where = f"lines {c.line_start}-{c.line_end}" if c.line_start else (f"page {c.page}" if c.page else "")
        section = f" > {c.section}" if c.section else ""
        out.print(f"  [{c.n}] {c.title}{section}  [dim]{c.source_id} {where} ({c.score:.2f})[/]", highlight=False)
    out.print(
        f"\n[dim]{answer.status} by {answer.provider}"
        f"{' (cached)' if answer.cached else ''} in {answer.timings.get('total_ms', 0):.0f} ms; "
        f"conversation {answer.conversation_id}[/]",
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Listen address (default AIOPS_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default AIOPS_PORT, 8000).")] = None,
    admin_org: Annotated[
        str | None,
        typer.Option("--admin-org", help="With no active key yet, create and print an admin key of this org."),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) on the embedded default; this process owns the index."""
    import uvicorn

    from assistant.api.app import create_app
    from assistant.auth import KeyStore
    from assistant.database import Database

    settings = _settings()
    db = Database.for_settings(settings)
    try:
        keys = KeyStore(db)
        if admin_org and not keys.keys(admin_org):
            key, token = keys.create(admin_org, "admin", ["admin"], name="first admin key (aiops serve)")
            err.print(f"[bold]first admin key of {admin_org}[/] (shown once): {token}", highlight=False, soft_wrap=True)
    finally:
        db.close()
    bind_host, bind_port = host or settings.host, port or settings.port
    err.print(f"serving on http://{bind_host}:{bind_port} (API docs at /docs)", highlight=False)
    uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_level="warning", access_log=False)


keys_app = typer.Typer(no_args_is_help=True, help="API keys: create, list, revoke.")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    org: OrgOption,
    user: Annotated[str, typer.Option("--user", help="Who the key belongs to.")],
    role: Annotated[list[str], typer.Option("--role", help="viewer, developer, operator or admin (repeatable).")],
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", help="Namespace the key may inspect (repeatable; * for all).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a key; its token is printed once and cannot be shown again."""
    from assistant.auth import KeyStore
    from assistant.database import Database

    db = Database.for_settings(_settings())
    try:
        key, token = KeyStore(db).create(org, user, role, namespace or [], name)
    finally:
        db.close()
    if as_json:
        print(json.dumps(key.to_json() | {"token": token}, indent=2))
        return
    out.print(f"key {key.id} for {key.user_id} of {key.org_id} ({', '.join(key.roles)})", highlight=False)
    out.print(token, highlight=False, markup=False)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's keys.")] = None,
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List keys (never their secrets)."""
    from assistant.auth import KeyStore
    from assistant.database import Database

    db = Database.for_settings(_settings())
    try:
        found = KeyStore(db).keys(org, include_revoked=revoked)
    finally:
        db.close()
    if as_json:
        print(json.dumps([k.to_json() for k in found], indent=2))
        return
    for k in found:
        state = f"revoked {k.revoked_at}" if k.revoked_at else f"last used {k.last_used_at or 'never'}"
        out.print(f"{k.id}  {k.org_id}  {k.user_id}  {','.join(k.roles)}  {k.name}  [dim]{state}[/]", highlight=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (from keys list).")]) -> None:
    """Revoke a key; it stops working at once."""
    from assistant.auth import KeyStore
    from assistant.database import Database

    db = Database.for_settings(_settings())
    try:
        key = KeyStore(db).revoke(key_id)
    finally:
        db.close()
    out.print(f"revoked {key.id} ({key.user_id} of {key.org_id})", highlight=False)


audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log: verify, export.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 and name the first bad record when something was altered."""
    from assistant.audit import AuditLog
    from assistant.database import Database

    db = Database.for_settings(_settings())
    try:
        result = AuditLog(db).verify()
    finally:
        db.close()
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        out.print(f"audit log intact: {result.records} records", highlight=False)
    else:
        out.print(f"[red]audit log tampered[/]: record {result.first_bad_seq}: {result.reason}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's records.")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    action: Annotated[str | None, typer.Option("--action", help="ask, search, feedback, ingest, denied, ...")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time, exclusive.")] = None,
) -> None:
    """Print records as JSON lines (PII already masked)."""
    from assistant.audit import AuditLog
    from assistant.database import Database

    db = Database.for_settings(_settings())
    try:
        for record in AuditLog(db).records(org, user=user, action=action, since=since, until=until):
            print(json.dumps(record, ensure_ascii=False))
    finally:
        db.close()


def _print_summary(summary: IngestSummary) -> None:
    s = summary
    out.print(
        f"[bold]{s.org}[/] {s.root}: {s.added} added, {s.updated} updated, {s.unchanged} unchanged, "
        f"{s.deleted} deleted, {len(s.failed)} failed, {len(s.skipped)} skipped; {s.chunks} chunks "
        f"({s.embedded} embedded, {s.reused} reused) in {s.seconds:.1f}s"
    )
    for problem in s.failed:
        out.print(f"  [red]failed[/]  {problem.source_id}: {problem.reason}")
    for problem in s.skipped:
        out.print(f"  [yellow]skipped[/] {problem.source_id}: {problem.reason}")


app.add_typer(eval_app, name="eval")


def main(argv: list[str] | None = None) -> Any:
    """Entry point: errors are shown once, as one line, with their own exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = app(args=argv, standalone_mode=False)
    except AssistantError as exc:
        err.print(f"[red]error:[/] {exc.message}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except TyperException as exc:  # usage errors (bad option values, missing arguments)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(int(getattr(exc, "exit_code", 2)))
    if isinstance(result, int) and result:  # typer.Exit(code) comes back as the code
        sys.exit(result)
    return result
