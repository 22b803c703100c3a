"""Who is calling: API keys (stored hashed) and optional gateway JWTs resolve to a Principal; roles grant permissions.

The organization, user, roles and namespaces of a request come from its credential only, never from its body.
An API key is ``aiops_<key id>_<secret>``: the key id finds the row, the secret is compared with its SHA-256 (a key
has 256 bits of entropy, so a slow password hash would add latency and no protection).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update

from assistant.database import Database, api_keys
from core.errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.settings import Settings
from index.records import Visibility
from index.tenancy import validate_org

Role = Literal["viewer", "developer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "developer", "operator", "admin")
ALL_NAMESPACES = "*"

# what each role may do, on top of the roles below it
_GRANTS: dict[str, set[str]] = {
    "viewer": {"ask", "search", "conversations", "feedback", "sources", "usage"},
    "developer": {"tools:namespaced"},
    "operator": {"tools:all"},
    "admin": {"keys", "ingest", "audit"},
}
_KEY_PREFIX = "aiops_"
_TOUCH_EVERY_S = 60.0


def permissions(roles: tuple[str, ...]) -> frozenset[str]:
    """Everything the highest of ``roles`` grants, including what the roles below it grant."""
    top = max((ROLES.index(r) for r in roles if r in ROLES), default=-1)
    return frozenset(p for role in ROLES[: top + 1] for p in _GRANTS[role])


@dataclass(frozen=True)
class Principal:
    """The resolved caller."""

    user: str
    org: str
    roles: tuple[str, ...]
    namespaces: tuple[str, ...] = ()
    key_id: str | None = None
    via: str = "api-key"
    granted: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "granted", permissions(self.roles))

    def can(self, permission: str) -> bool:
        """True when one of the caller's roles grants ``permission``."""
        return permission in self.granted

    def require(self, permission: str) -> None:
        """PermissionDeniedError unless the caller may ``permission``."""
        if not self.can(permission):
            raise PermissionDeniedError(f"role {'/'.join(self.roles) or 'none'} may not {permission}")

    def cluster_visibility(self) -> Visibility:
        """The cluster sources the caller may read in the index: the same as its cluster tools may (operators and
        admins every namespace and the nodes, developers their key's namespaces, viewers none)."""
        if self.can("tools:all"):
            return Visibility()
        if not self.can("tools:namespaced"):
            return Visibility((), nodes=False)
        if ALL_NAMESPACES in self.namespaces:
            return Visibility(None, nodes=False)
        return Visibility(tuple(sorted(self.namespaces)), nodes=False)


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed (never with its secret)."""

    id: str
    org_id: str
    user_id: str
    name: str
    roles: list[str]
    namespaces: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The listing row."""
        return self.__dict__.copy()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise InvalidInputError(f"roles must be among {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")
    return sorted(set(roles), key=ROLES.index)


class KeyStore:
    """API keys: create (the secret is shown once), list, revoke, authenticate."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._touched: dict[str, float] = {}

    def create(
        self, org: str, user: str, roles: list[str], namespaces: list[str] | None = None, name: str = ""
    ) -> tuple[ApiKey, str]:
        """A new key and its token (``aiops_<id>_<secret>``), which is not stored and cannot be shown again."""
        validate_org(org)
        if not user.strip() or len(user) > 128:
            raise InvalidInputError("a key needs a user id of 1 to 128 characters")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = {
            "id": key_id,
            "org_id": org,
            "user_id": user.strip(),
            "name": name.strip()[:200] or f"{user} key",
            "roles": _validate_roles(roles),
            "namespaces": sorted(set(namespaces or [])),
            "secret_hash": _hash(secret),
            "created_at": _now(),
        }
        with self._db.transaction() as db:
            db.execute(insert(api_keys).values(**row))
        return self.get(key_id), f"{_KEY_PREFIX}{key_id}_{secret}"

    def get(self, key_id: str, org: str | None = None) -> ApiKey:
        """One key (of ``org`` when given); NotFoundError otherwise."""
        t = api_keys.c
        query = select(api_keys).where(t.id == key_id)
        if org is not None:
            query = query.where(t.org_id == org)
        rows = self._db.query(query)
        if not rows:
            raise NotFoundError(f"API key {key_id!r} not found")
        data = rows[0]._asdict()
        data.pop("secret_hash")
        return ApiKey(**data)

    def keys(self, org: str | None = None, *, include_revoked: bool = False) -> list[ApiKey]:
        """Keys (of one org when given), oldest first."""
        t = api_keys.c
        query = select(t.id).order_by(t.created_at, t.id)
        if org is not None:
            query = query.where(t.org_id == org)
        if not include_revoked:
            query = query.where(t.revoked_at.is_(None))
        return [self.get(r.id) for r in self._db.query(query)]

    def revoke(self, key_id: str, org: str | None = None) -> ApiKey:
        """Revoke a key (of ``org`` when given); it stops working at once."""
        self.get(key_id, org)
        with self._db.transaction() as db:
            db.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        return self.get(key_id)

    def authenticate(self, token: str) -> Principal:
        """The caller of a token; AuthenticationError for anything else (the reason is never more specific)."""
        key_id, secret = _split(token)
        t = api_keys.c
        rows = self._db.query(select(api_keys).where(t.id == key_id))
        row = rows[0] if rows else None
        expected = row.secret_hash if row is not None else _hash("")
        if row is None or not hmac.compare_digest(expected, _hash(secret)) or row.revoked_at is not None:
            raise AuthenticationError("invalid or revoked API key")
        self._touch(key_id)
        return Principal(
            user=row.user_id, org=row.org_id, roles=tuple(row.roles), namespaces=tuple(row.namespaces), key_id=key_id
        )

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, -_TOUCH_EVERY_S) < _TOUCH_EVERY_S:
            return
        self._touched[key_id] = now
        with self._db.transaction() as db:
            db.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=_now()))


def _split(token: str) -> tuple[str, str]:
    if not token.startswith(_KEY_PREFIX):
        raise AuthenticationError("invalid or revoked API key")
    key_id, _, secret = token[len(_KEY_PREFIX) :].partition("_")
    if len(key_id) != 12 or not secret:
        raise AuthenticationError("invalid or revoked API key")
    return key_id, secret


class JwtVerifier:
    """Bearer JWTs of the platform's gateway: signature, issuer, audience and expiry checked; claims ``sub``,
    ``org``, ``roles`` and optional ``namespaces`` give the principal."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.jwt_key.get_secret_value() if settings.jwt_key else None
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._algorithms = settings.jwt_algorithms

    @property
    def enabled(self) -> bool:
        """True when a key, issuer and audience are configured."""
        return bool(self._key and self._issuer and self._audience)

    def verify(self, token: str) -> Principal:
        """The caller of a JWT; AuthenticationError when it does not verify."""
        import jwt

        if not self.enabled or self._key is None:
            raise AuthenticationError("bearer tokens are not accepted here; use an API key")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid bearer token: {exc}") from exc
        try:
            org = validate_org(str(claims.get("org", "")))
            roles = _validate_roles(_strings(claims, "roles"))
        except InvalidInputError as exc:
            raise AuthenticationError(f"invalid bearer token: {exc.message}") from exc
        namespaces = tuple(_strings(claims, "namespaces"))
        user = str(claims["sub"]).strip()
        if not user or len(user) > 128:
            raise AuthenticationError("invalid bearer token: the sub claim must be a user id of 1 to 128 characters")
        return Principal(user=user, org=org, roles=tuple(roles), namespaces=namespaces, via="jwt")


def _strings(claims: dict[str, Any], name: str) -> list[str]:
    """A list-of-strings claim; anything else is refused (a bare string would otherwise become its characters)."""
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuthenticationError(f"invalid bearer token: the {name} claim must be a list of strings")
    return value
