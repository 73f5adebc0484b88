"""Client-side pacing, so that a run uses all of incident.io's allowance without meeting 429s.

incident.io limits each API key with a token bucket (1200 requests, refilling 20/s) that every
process using the key draws from, and each HTTP alert source to 120 events a minute. Per
`RateScope.kind` we keep:

- `KeyBucket` for a key: the same bucket, mirrored. It bursts to its capacity, then sustains the
  refill rate, and every response's `X-RateLimit-*` headers correct it, since the server's bucket
  is the truth and other runs on the key drain it too.
- `SlidingWindow` for an alert source: at most N events in any 60 s, judged as the server judges
  it, at arrival. incident.io documents no burst there, and a bucket of capacity c refilling r/s
  admits c + 60r in a minute.
- `TokenBucket` for a stream's own lower cap: a plain local bucket, one second's worth.

Dedicated libraries (`limits`, `pyrate-limiter`) count a call when it is admitted, by wall clock;
neither corrects from a server's headers or counts from when a response came back, so this is ours.
"""

from __future__ import annotations

import re
import threading
import time
import typing as t
from dataclasses import dataclass

from target_incidentio.delivery.limits import (
    Clock,
    KeyBucket,
    Limit,
    Sleep,
    SlidingWindow,
    TokenBucket,
)
from target_incidentio.delivery.outcome import header

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_incidentio.payloads.base import RateScope

_LIMIT_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:;.*?\bw(?:indow)?=(\d+(?:\.\d+)?))?")


def acquire_all(
    limits: Sequence[Limit], lock: threading.RLock, sleep: Sleep
) -> tuple[float, list[int]]:
    """Take from every limit at once, sleeping until all admit; return seconds waited and tickets.

    Waits are recomputed after each sleep, so a pause or correction that arrives meanwhile is
    obeyed.
    """
    waited = 0.0
    while True:
        with lock:
            wait = max((limit.wait_time() for limit in limits), default=0.0)
            if wait <= 0:
                return waited, [limit.take() for limit in limits]
        sleep(wait)
        waited += wait


def binding_limit(limit_header: str) -> tuple[float, float] | None:
    """(capacity, rate per second) of the binding limit in `X-RateLimit-Limit`, or None.

    The header is `1200, 1200;window=60`: the quota closest to exhaustion, then each policy with
    its window in seconds. The binding quota's window is the policy with that same quota.
    """
    items = [m for m in (_LIMIT_ITEM.match(item) for item in limit_header.split(",")) if m]
    if not items:
        return None
    quota = float(items[0].group(1))
    window = items[0].group(2) or next(
        (m.group(2) for m in items[1:] if m.group(2) and float(m.group(1)) == quota), None
    )
    if quota <= 0 or window is None or float(window) <= 0:
        return None
    return quota, quota / float(window)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.split(",")[0])
    except ValueError:
        return None
    return number if number == number else None  # noqa: PLR0124 - NaN check


@dataclass(frozen=True)
class Permit:
    """One call's draw on its scopes' limits, held until its response is observed."""

    scopes: tuple[RateScope, ...]
    tickets: tuple[int, ...]
    waited: float


class RateLimiter:
    """Limits by scope name, shared by every thread and stream of a run.

    The engine `take`s a permit before each attempt and hands it back to `answer` with that
    attempt's response (or with no headers when none came): the permit is how a response is
    matched to the tokens it was sent with, for in-flight accounting and freshness.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._limits: dict[str, Limit] = {}

    def limit(self, scope: RateScope) -> Limit:
        """The scope's limit, created on first use; a lower `per_minute` later lowers it."""
        with self._lock:
            found = self._limits.get(scope.name)
            if found is None:
                found = self._limits[scope.name] = self._create(scope)
            else:
                found.lower(scope.per_minute)
            return found

    def _create(self, scope: RateScope) -> Limit:
        if scope.kind == "key":
            return KeyBucket(
                scope.per_minute, clock=self._clock, sleep=self._sleep, lock=self._lock
            )
        if scope.kind == "window":
            return SlidingWindow.per_minute(scope.per_minute, clock=self._clock, lock=self._lock)
        rate = scope.per_minute / 60.0
        return TokenBucket(rate, clock=self._clock, sleep=self._sleep, lock=self._lock)

    def take(self, scopes: Sequence[RateScope]) -> Permit:
        """Block until every scope admits one call; the permit goes back with its response."""
        limits = [self.limit(scope) for scope in scopes]
        waited, tickets = acquire_all(limits, self._lock, self._sleep)
        return Permit(tuple(scopes), tuple(tickets), waited)

    def release(self, permit: Permit) -> None:
        """Hand back the permit's slots: its call is no longer in flight (twice is harmless)."""
        with self._lock:
            for scope, ticket in zip(permit.scopes, permit.tickets, strict=True):
                self._limits[scope.name].answered(ticket)

    def answer(
        self,
        permit: Permit | None,
        scopes: Sequence[RateScope],
        headers: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        """Release the permit's slots and correct the first scope (the credential's) from headers.

        Only a key's bucket reads `X-RateLimit-*`: an alert source's window admits no more than
        its limit whatever the server says is left. `X-RateLimit-Reset` is not used: it says
        when the bucket is full again, not when the next call may go. A 429's wait (even on a
        stale response: the refusal is a fact) pauses the whole limit.
        """
        with self._lock:
            tickets: dict[str, int] = {}
            if permit is not None:
                self.release(permit)
                tickets = dict(zip((s.name for s in permit.scopes), permit.tickets, strict=True))
            if not scopes:
                return
            first = self.limit(scopes[0])
            mine = tickets.get(scopes[0].name)
            refused = retry_after is not None or header(headers, "Retry-After") is not None
            if isinstance(first, KeyBucket):
                stale = first.is_stale(mine)
                limit = header(headers, "X-RateLimit-Limit")
                first.correct(
                    mine,
                    remaining=_number(header(headers, "X-RateLimit-Remaining")),
                    limit=binding_limit(limit) if limit else None,
                    refused=refused,
                )
                if retry_after is not None:
                    first.pause(retry_after, keep_tokens=stale)
                return
            if retry_after is not None:
                first.pause(retry_after)
