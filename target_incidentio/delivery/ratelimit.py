"""Client-side pacing, so that a steady run keeps under incident.io's limits rather than meet 429s.

incident.io's limits are token buckets that refill continuously (1200/min per key, 120/min per
alert source). We mirror them locally, one bucket per `RateScope`, and correct our buckets from
the `X-RateLimit-*` headers each response carries.
"""

from __future__ import annotations

import re
import threading
import time
import typing as t

from target_incidentio.delivery.outcome import header

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_incidentio.payloads.base import RateScope

Clock = t.Callable[[], float]
Sleep = t.Callable[[float], None]

_NEGLIGIBLE = 1e-6  # seconds
_LIMIT_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:;.*?\bw(?:indow)?=(\d+(?:\.\d+)?))?")


class TokenBucket:
    """A continuously refilling bucket; `acquire` blocks (through the injected sleep) for a token.

    It starts with one token, not a full bucket, so that a run's first second cannot exceed the
    rate: the first call goes at once and the rest are paced.
    """

    def __init__(
        self,
        rate_per_second: float,
        capacity: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        lock: threading.RLock | None = None,
    ) -> None:
        if rate_per_second <= 0:
            msg = f"rate must be positive, got {rate_per_second!r}"
            raise ValueError(msg)
        self._rate = float(rate_per_second)
        self._capacity = max(1.0, float(capacity if capacity is not None else rate_per_second))
        self._clock = clock
        self._sleep = sleep
        self._lock = lock if lock is not None else threading.RLock()
        self._tokens = 1.0
        # Time up to which `_tokens` is accounted; in the future while the bucket is paused.
        self._stamp = clock()

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self._rate

    @property
    def capacity(self) -> float:
        """Most tokens the bucket holds, i.e. the largest burst."""
        return self._capacity

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now

    def tokens(self) -> float:
        """Tokens available now (0 while paused)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            return self._tokens if now >= self._stamp else 0.0

    def wait_time(self) -> float:
        """Seconds until a token is available; 0 means one can be taken now."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait = max(0.0, self._stamp - now) + max(0.0, 1.0 - self._tokens) / self._rate
            # Float dust must not leave a caller sleeping for 1e-17 s forever.
            return wait if wait > _NEGLIGIBLE else 0.0

    def take(self) -> None:
        """Spend a token; callers check `wait_time()` first, under the same lock."""
        with self._lock:
            self._tokens -= 1.0

    def acquire(self) -> float:
        """Block until a token is taken; return the seconds waited."""
        return acquire_all([self], self._lock, self._sleep)

    def clamp(self, tokens: float) -> None:
        """Never believe in more tokens than the server says remain."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, max(0.0, tokens))

    def pause(self, seconds: float) -> None:
        """Hold all takers for `seconds`; afterwards one call may go, as the server promised."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._stamp = max(self._stamp, now + max(0.0, seconds))
            self._tokens = 1.0

    def limit_rate(self, rate_per_second: float) -> None:
        """Slow down to a lower rate (never speeds up); the burst shrinks with it."""
        if rate_per_second <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            if rate_per_second < self._rate:
                self._rate = rate_per_second
                self._capacity = max(1.0, rate_per_second)
                self._tokens = min(self._tokens, self._capacity)


def acquire_all(buckets: Sequence[TokenBucket], lock: threading.RLock, sleep: Sleep) -> float:
    """Take one token from every bucket at once, sleeping until all have one; return seconds waited.

    Waits are recomputed after each sleep, so a pause or clamp that arrives meanwhile is obeyed.
    """
    waited = 0.0
    while True:
        with lock:
            wait = max((bucket.wait_time() for bucket in buckets), default=0.0)
            if wait <= 0:
                for bucket in buckets:
                    bucket.take()
                return waited
        sleep(wait)
        waited += wait


def server_rate(limit_header: str) -> float | None:
    """Lowest sustainable rate (per second) among the limits in `X-RateLimit-Limit`.

    The header is `1200, 1200;window=60, 60;window=60`: the binding quota, then every limit that
    applied with its window in seconds. All of them apply, so the slowest one is what we must keep.
    """
    rates = []
    for item in limit_header.split(","):
        match = _LIMIT_ITEM.match(item)
        if match and match.group(2):
            limit, window = float(match.group(1)), float(match.group(2))
            if limit > 0 and window > 0:
                rates.append(limit / window)
    return min(rates) if rates else None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.split(",")[0])
    except ValueError:
        return None
    return number if number == number else None  # noqa: PLR0124 - NaN check


class RateLimiter:
    """Buckets by scope name, shared by every thread and stream of a run."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, scope: RateScope) -> TokenBucket:
        """The scope's bucket, created at `per_minute / 60` per second on first use."""
        rate = scope.per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(scope.name)
            if bucket is None:
                bucket = TokenBucket(rate, clock=self._clock, sleep=self._sleep, lock=self._lock)
                self._buckets[scope.name] = bucket
            else:
                bucket.limit_rate(rate)
            return bucket

    def acquire(self, scopes: Sequence[RateScope]) -> float:
        """Take one token from each scope's bucket; return the seconds waited."""
        buckets = [self.bucket(scope) for scope in scopes]
        return acquire_all(buckets, self._lock, self._sleep)

    def observe(
        self,
        scopes: Sequence[RateScope],
        headers: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        """Correct the first scope's bucket (the credential's own) from a response's headers.

        `X-RateLimit-Reset` is when the server's bucket is full again, not when the next call
        may go, so it is not used: Remaining 0 empties our bucket, which then waits one refill.
        """
        if not scopes:
            return
        bucket = self.bucket(scopes[0])
        limit = header(headers, "X-RateLimit-Limit")
        rate = server_rate(limit) if limit else None
        if rate is not None:
            bucket.limit_rate(rate)
        remaining = _number(header(headers, "X-RateLimit-Remaining"))
        if remaining is not None:
            bucket.clamp(remaining)
        if retry_after is not None:
            bucket.pause(retry_after)
