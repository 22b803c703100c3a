"""Tenant isolation, in one place.

Every read, write and delete of the index goes through a ``Scope``: it cannot exist without a valid organization, and
each backend turns it into a native filter that begins with ``org_id == scope.org``. Callers only add narrowing
conditions (typed filters), never the organization's condition itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import InvalidOrgError
from index.records import SearchFilters, Visibility

CLUSTER_NAMESPACE = "_cluster"  # the namespace of cluster-scoped objects (nodes) in payloads and source ids

ORG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ORG_FIELD = "org_id"


def validate_org(org: object) -> str:
    """The organization id, or InvalidOrgError."""
    if not isinstance(org, str) or not ORG_PATTERN.fullmatch(org):
        raise InvalidOrgError(
            f"invalid organization id {org!r}: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter "
            "or digit"
        )
    return org


@dataclass(frozen=True)
class MatchAny:
    """The payload field equals one of the values."""

    key: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class DateRange:
    """The payload date lies in [gte, lte] (ISO dates, either end open)."""

    key: str
    gte: str | None = None
    lte: str | None = None


@dataclass(frozen=True)
class Within:
    """Points whose ``key`` equals ``value`` must (``inside``) or must not have ``field`` among ``values``; other
    points pass (how a caller's cluster namespaces narrow cluster sources without touching documents)."""

    key: str
    value: str
    field: str
    values: tuple[str, ...]
    inside: bool = True

    def __post_init__(self) -> None:
        if not self.inside and not self.values:
            raise ValueError("a Within that excludes must name the values it excludes")


Condition = MatchAny | DateRange | Within


@dataclass(frozen=True)
class Scope:
    """The organization and the narrowing conditions of one index operation."""

    org: str
    conditions: tuple[Condition, ...] = field(default=())

    def __post_init__(self) -> None:
        validate_org(self.org)
        if any(c.key == ORG_FIELD for c in self.conditions):
            raise InvalidOrgError("the organization is set by the index, never by a filter")


_LIST_FILTERS = {
    "source_types": "source_type",
    "source_ids": "source_id",
    "alerts": "alerts",
    "services": "services",
    "severities": "severity",
    "namespaces": "namespace",
    "clusters": "cluster",
}


def scope(
    org: str,
    filters: SearchFilters | None = None,
    *,
    source_ids: list[str] | None = None,
    sync_root: str | None = None,
    positions: list[int] | None = None,
    visible: Visibility | None = None,
) -> Scope:
    """The scope of an operation on ``org``'s points, narrowed by typed filters and the caller's visibility."""
    conditions: list[Condition] = []
    if visible is not None and not visible.everything:
        nodes = (CLUSTER_NAMESPACE,)
        if visible.namespaces is None:
            conditions.append(Within("source_type", "cluster", "namespace", nodes, inside=False))
        else:
            allowed = tuple(visible.namespaces) + (nodes if visible.nodes else ())
            conditions.append(Within("source_type", "cluster", "namespace", allowed))
    if filters is not None:
        for name, key in _LIST_FILTERS.items():
            values = getattr(filters, name)
            if values:
                conditions.append(MatchAny(key, tuple(values)))
        if filters.date_from or filters.date_to:
            conditions.append(
                DateRange(
                    "date",
                    filters.date_from.isoformat() if filters.date_from else None,
                    filters.date_to.isoformat() if filters.date_to else None,
                )
            )
    if source_ids is not None:
        conditions.append(MatchAny("source_id", tuple(source_ids)))
    if sync_root is not None:
        conditions.append(MatchAny("sync_root", (sync_root,)))
    if positions is not None:
        conditions.append(MatchAny("position", tuple(positions)))
    return Scope(validate_org(org), tuple(conditions))
