"""Quotas and usage: request rate per minute (org and user), daily generative-token budgets, answers in flight per org.

Rates are counted in a sliding one-minute window in this process; daily usage (requests, tokens) is stored in the state
database, so ``GET /v1/usage`` and the token budgets survive restarts. A refusal is a QuotaExceededError carrying the
seconds until a retry can succeed (the service sends it as ``Retry-After``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from assistant.auth import Principal
from assistant.database import Database, usage
from core.errors import QuotaExceededError
from core.settings import Settings

_WINDOW_S = 60.0


class _Window:
    """Timestamps of the last minute's requests of one caller."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def retry_after(self, now: float, limit: int) -> int | None:
        while self.times and now - self.times[0] >= _WINDOW_S:
            self.times.popleft()
        if limit and len(self.times) >= limit:
            return math.ceil(_WINDOW_S - (now - self.times[0]))
        return None


class Quotas:
    """Admission (rate, daily tokens, concurrency) and accounting of usage."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str | None], _Window] = {}
        self._in_flight: dict[str, int] = {}

    def admit(self, who: Principal) -> None:
        """Count a request, or refuse it when the org's or the user's rate or daily token budget is exhausted."""
        s = self._settings
        now = self._clock()
        spent_org, spent_user = self._tokens_today(who)
        for spent, budget, whose in (
            (spent_org, s.org_tokens_per_day, "organization"),
            (spent_user, s.user_tokens_per_day, "user"),
        ):
            if budget and spent >= budget:
                raise QuotaExceededError(f"the {whose}'s daily token budget ({budget}) is used up", _to_midnight(now))
        with self._lock:
            org_window = self._windows.setdefault((who.org, None), _Window())
            user_window = self._windows.setdefault((who.org, who.user), _Window())
            for window, limit, whose in (
                (org_window, s.org_requests_per_minute, "organization"),
                (user_window, s.user_requests_per_minute, "user"),
            ):
                wait = window.retry_after(now, limit)
                if wait is not None:
                    raise QuotaExceededError(f"the {whose}'s request rate ({limit} per minute) is exceeded", wait)
            org_window.times.append(now)
            user_window.times.append(now)
        self._add(who, requests=1, tokens=0)

    def charge(self, who: Principal, tokens: int) -> None:
        """Add the generative tokens of an answer to today's usage."""
        if tokens > 0:
            self._add(who, requests=0, tokens=tokens)

    def acquire(self, org: str) -> Callable[[], None]:
        """Take one of the org's answer slots (refused when all are taken); call the result to give it back."""
        limit = self._settings.org_concurrent_requests
        with self._lock:
            if limit and self._in_flight.get(org, 0) >= limit:
                raise QuotaExceededError(f"the organization already has {limit} answers in progress", 1)
            self._in_flight[org] = self._in_flight.get(org, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._in_flight[org] -= 1

        return release

    def usage(self, who: Principal) -> dict[str, object]:
        """Today's usage of the caller and of their organization, with the limits."""
        s = self._settings
        t = usage.c
        day = _day(self._clock())
        org_row = self._db.query(
            select(func.coalesce(func.sum(t.requests), 0), func.coalesce(func.sum(t.tokens), 0)).where(
                t.day == day, t.org_id == who.org
            )
        )[0]
        user_row = self._db.query(
            select(t.requests, t.tokens).where(t.day == day, t.org_id == who.org, t.user_id == who.user)
        )
        org_requests, org_tokens = int(org_row[0]), int(org_row[1])  # type: ignore[misc]
        user_requests, user_tokens = (user_row[0].requests, user_row[0].tokens) if user_row else (0, 0)
        return {
            "day": day,
            "user": {"id": who.user, "requests": user_requests, "tokens": user_tokens},
            "organization": {"id": who.org, "requests": org_requests, "tokens": org_tokens},
            "limits": {
                "org_requests_per_minute": s.org_requests_per_minute,
                "user_requests_per_minute": s.user_requests_per_minute,
                "org_tokens_per_day": s.org_tokens_per_day,
                "user_tokens_per_day": s.user_tokens_per_day,
                "org_concurrent_requests": s.org_concurrent_requests,
            },
        }

    def _tokens_today(self, who: Principal) -> tuple[int, int]:
        t = usage.c
        rows = self._db.query(select(t.user_id, t.tokens).where(t.day == _day(self._clock()), t.org_id == who.org))
        return sum(r.tokens for r in rows), sum(r.tokens for r in rows if r.user_id == who.user)

    def _add(self, who: Principal, *, requests: int, tokens: int) -> None:
        t = usage.c
        key = (t.day == _day(self._clock()), t.org_id == who.org, t.user_id == who.user)
        for _ in range(3):
            with self._db.transaction() as db:
                changed = db.execute(
                    update(usage).where(*key).values(requests=t.requests + requests, tokens=t.tokens + tokens)
                ).rowcount
                if changed:
                    return
            try:
                with self._db.transaction() as db:
                    db.execute(
                        insert(usage).values(
                            day=_day(self._clock()), org_id=who.org, user_id=who.user, requests=requests, tokens=tokens
                        )
                    )
                return
            except IntegrityError:  # inserted concurrently: update it on the next round
                continue


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def _to_midnight(now: float) -> int:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - moment).total_seconds())
