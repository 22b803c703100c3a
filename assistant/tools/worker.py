"""The sandbox's worker process: runs one tool call at a time, away from the service process.

Started by the sandbox with a clean environment (no provider keys, no database URL) and resource limits it sets on
itself before reading anything; requests and answers are JSON lines on stdin/stdout. A tool's failure is an answer
(``status: error``), never a crash; the process only exits when its stdin closes (or the sandbox kills it).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.tools.registry import tools
from core.errors import AssistantError, PermissionDeniedError
from ingest.cluster.readers import ClusterReader
from ingest.cluster.redaction import redact_data

_MEMORY_BYTES = 1024 * 1024 * 1024
_FILE_BYTES = 4 * 1024 * 1024  # certificate files the kubernetes client writes from kubeconfig data, and no more


@dataclass
class Call:
    """One tool call as the worker sees it: validated arguments, the cluster it is about (its reader opened on first
    use), and the namespaces the sandbox resolved for the caller (the only ones a tool may read)."""

    arguments: dict[str, Any]
    cluster: dict[str, Any]
    namespaces: list[str] | None  # None: every namespace of the cluster
    cluster_scoped: bool
    limits: dict[str, int] = field(default_factory=dict)
    _reader: ClusterReader | None = None

    @property
    def reader(self) -> ClusterReader:
        """The cluster's reader."""
        if self._reader is None:
            self._reader = _reader(self.cluster, float(self.limits.get("timeout_s", 10)))
        return self._reader

    def namespaces_for(self, namespace: str | None) -> list[str]:
        """``[namespace]`` when it is allowed, else every allowed namespace; PermissionDeniedError otherwise."""
        if self.namespaces is None:
            return [namespace] if namespace is not None else self.reader.namespaces()
        if namespace is None:
            return list(self.namespaces)
        if namespace not in self.namespaces:
            raise PermissionDeniedError(f"namespace {namespace} is not one you may read")
        return [namespace]

    def close(self) -> None:
        """Close the reader, if one was opened."""
        if self._reader is not None:
            self._reader.close()


def limit_resources(memory_bytes: int = _MEMORY_BYTES) -> None:
    """Caps on memory, written files, open files and core dumps (best effort where the OS refuses one)."""
    for which, value in (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_FSIZE, _FILE_BYTES),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            soft, hard = resource.getrlimit(which)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (cap, hard))
        except (ValueError, OSError):
            continue


def _reader(cluster: dict[str, Any], timeout_s: float) -> ClusterReader:
    from ingest.cluster.readers import open_reader

    dump = Path(cluster["dump"]) if cluster.get("dump") else None
    kubeconfig = Path(cluster["kubeconfig"]) if cluster.get("kubeconfig") else None
    context, name = cluster.get("context"), cluster.get("name")
    return open_reader(dump=dump, kubeconfig=kubeconfig, context=context, timeout_s=timeout_s, name=name)


def cap(data: Any, limit: int) -> tuple[Any, bool]:
    """Data whose JSON fits in ``limit`` bytes: long strings keep their end (the newest log lines), long lists their
    head, dicts shrink their biggest fields first; truncation is reported, never silent."""
    if _size(data) <= limit:
        return data, False
    for _ in range(20):  # each round shrinks the biggest part; a handful of rounds fits any tool's output
        data = _shrink(data, limit)
        if _size(data) <= limit:
            return data, True
    return {"truncated": f"the output did not fit in {limit} bytes"}, True


def _size(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False).encode())


def _shrink(data: Any, limit: int) -> Any:
    if isinstance(data, str):
        keep = max(0, limit - 100)
        while True:  # escaping makes the JSON longer than the text: shrink until it fits
            cut = f"[... {len(data) - keep} characters cut ...]\n" + data[len(data) - keep :]
            size = _size(cut)
            if size <= limit or keep == 0:
                return cut
            keep = max(0, int(keep * limit / size) - 16)
    if isinstance(data, list):
        kept: list[Any] = []
        for item in data:
            if _size([*kept, item]) > limit - 100:
                break
            kept.append(item)
        return kept
    if isinstance(data, dict) and data:
        sizes = {k: _size(v) for k, v in data.items()}
        biggest = max(sizes, key=lambda k: sizes[k])
        room = max(64, limit - (_size(data) - sizes[biggest]) - 100)
        return {**data, biggest: _shrink(data[biggest], room)}
    return data


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Run one call; every failure becomes an answer."""
    limits = dict(request.get("limits") or {})
    allowed = request.get("namespaces")
    call = Call(
        dict(request.get("arguments") or {}),
        dict(request.get("cluster") or {}),
        None if allowed is None else list(allowed),
        bool(request.get("cluster_scoped")),
        limits,
    )
    try:
        tool = tools().get(str(request.get("tool")))
        if tool is None:  # the worker runs registered tools only, found by name, never a path it is handed
            raise PermissionDeniedError(f"no tool named {request.get('tool')!r}")
        module, _, function = tool.runner.partition(":")
        data = redact_data(getattr(importlib.import_module(module), function)(call))
        data, truncated = cap(data, int(limits.get("output_bytes", 65536)))
        return {"status": "ok", "data": data, "truncated": truncated}
    except AssistantError as exc:
        return {"status": "error", "error": exc.message, "error_type": type(exc).__name__}
    except Exception as exc:  # a tool's own bug: contained, reported, the worker lives on
        traceback.print_exc(file=sys.stderr)
        return {"status": "error", "error": f"the tool failed: {type(exc).__name__}: {exc}"[:500]}
    finally:
        call.close()


def main() -> None:
    """Serve requests until stdin closes."""
    limit_resources()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            answer = handle(request)
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"status": "error", "error": f"bad request to the worker: {exc}"}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
