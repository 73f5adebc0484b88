"""The three limits a call may draw on: a key's mirrored bucket, a plain bucket, a window.

`RateLimiter` (`ratelimit.py`) keeps one per scope; each `take`s a ticket per call, hears when
it was `answered`, can be `pause`d after a 429 and `lower`ed when a scope asks for less.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
import typing as t
from dataclasses import dataclass

from typing_extensions import override

Clock = t.Callable[[], float]
Sleep = t.Callable[[float], None]

_NEGLIGIBLE = 1e-6  # seconds

# The alert-source window: incident.io counts events per minute.
WINDOW_SECONDS = 60.0
# How often a caller re-checks a window whose oldest slot is still waiting for its response.
WINDOW_POLL = 0.05
# A call unanswered for this long (the engine always reports, so only a bug leaves one) stops
# holding its window slot or counting as in flight, so that no caller can wait forever.
GIVE_UP_AFTER = 600.0
# Others' draw on a key is averaged over about this long (older readings fade exponentially)...
ESTIMATE_SECONDS = 2.0
# ...and over no less than this, so one rounded Remaining early on is not read as a flood.
ESTIMATE_MIN_SPAN = 0.5
# While others draw on the key, keep this many seconds of refill unspent in the server's bucket,
# so that two runs meeting at an empty bucket are absorbed rather than answered 429...
RESERVE_SECONDS = 0.25
# ...at most this share of the capacity, so a small bucket is still usable...
RESERVE_MAX_SHARE = 0.1
# ...once others draw more than this share of the rate (below it is rounding noise).
CONTENTION_SHARE = 0.1
# Our own refill never drops below this share of the rate. What others were seen to draw
# includes their bursts, so it can exceed the rate for a while; this floor bounds the stall
# that follows to (1 + reserve) / (rate / 4), about a second, and up to four runs on a key
# still fit. Past that, corrections from Remaining and the reserve keep the runs in line.
MIN_SHARE = 0.25


class TokenBucket:
    """A continuously refilling local bucket; `acquire_all` takes from it, sleeping as needed.

    By default it starts with one token, not a full bucket, so that a stream cap is never
    exceeded in a run's first second: the first call goes at once and the rest are paced.
    """

    def __init__(  # noqa: PLR0913 - the keyword arguments are test seams and the shape
        self,
        rate_per_second: float,
        capacity: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        lock: threading.RLock | None = None,
        tokens: float = 1.0,
    ) -> None:
        if rate_per_second <= 0:
            msg = f"rate must be positive, got {rate_per_second!r}"
            raise ValueError(msg)
        self._rate = float(rate_per_second)
        self._capacity = max(1.0, float(capacity if capacity is not None else rate_per_second))
        self._clock = clock
        self._sleep = sleep
        self._lock = lock if lock is not None else threading.RLock()
        self._tokens = min(self._capacity, float(tokens))
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

    def _fill_rate(self, at: float) -> float:  # noqa: ARG002 - a `KeyBucket`'s varies
        """Rate our tokens grow at, at time `at` (a `KeyBucket` leaves others their share)."""
        return self._rate

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(
                self._capacity, self._tokens + (now - self._stamp) * self._fill_rate(self._stamp)
            )
            self._stamp = now

    def tokens(self) -> float:
        """Tokens available now (0 while paused; negative while in debt to the server)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            return self._tokens if now >= self._stamp else min(0.0, self._tokens)

    def wait_time(self) -> float:
        """Seconds until a token is available; 0 means one can be taken now."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            start = max(now, self._stamp)
            wait = start - now + max(0.0, 1.0 - self._tokens) / self._fill_rate(start)
            # Float dust must not leave a caller sleeping for 1e-17 s forever.
            return wait if wait > _NEGLIGIBLE else 0.0

    def take(self) -> int:
        """Spend a token; callers check `wait_time()` first, under the same lock."""
        with self._lock:
            self._tokens -= 1.0
            return 0

    def answered(self, ticket: int) -> None:
        """The call holding `ticket` got its response (or gave up); nothing to do for a bucket."""

    def pause(self, seconds: float, *, keep_tokens: bool = False) -> None:
        """Hold all takers for `seconds`; afterwards one call may go, as the server promised.

        `keep_tokens` leaves the count alone, for a refusal older than what set it.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._stamp = max(self._stamp, now + max(0.0, seconds))
            if not keep_tokens:
                self._tokens = 1.0

    def lower(self, per_minute: float) -> None:
        """Slow down to a lower rate (never speeds up); the burst shrinks with it."""
        rate_per_second = per_minute / 60.0
        if rate_per_second <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            if rate_per_second < self._rate:
                self._rate = rate_per_second
                self._capacity = max(1.0, rate_per_second)
                self._tokens = min(self._tokens, self._capacity)


@dataclass
class _Reading:
    """One applied `X-RateLimit-Remaining`: our ticket, when it came back, what it said."""

    ticket: int
    at: float
    remaining: float
    refused: int  # our calls answered 429 so far (they took no token from the server)


class KeyBucket(TokenBucket):
    """incident.io's bucket for one API key, mirrored: bursts to capacity, then the refill rate.

    The server's bucket is shared by every run and process using the key, so its headers are the
    truth and the local model only bridges the time between responses:

    - `X-RateLimit-Remaining` sets the tokens, up or down. It describes the moment the server
      handled that call, so our calls still in flight, which we have taken tokens for but the
      server may not have counted yet, are subtracted again (should the server have counted
      one already, we are a token short until the next response). A response older than one
      already applied (by when its token was taken) is stale and changes nothing.
    - `X-RateLimit-Limit` sets capacity and rate to the binding limit's, never above the
      configured `rate_limit_per_minute`.
    - Between responses the tokens refill at the rate less what others were seen to draw (from
      how Remaining fell beyond our own calls), and while others draw, a quarter second of refill
      is left in the server's bucket, so runs sharing a key meet few 429s.
    - A 429's `Retry-After` pauses every caller.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        lock: threading.RLock | None = None,
    ) -> None:
        capacity = max(1.0, float(per_minute))
        super().__init__(
            per_minute / 60.0, capacity, clock=clock, sleep=sleep, lock=lock, tokens=capacity
        )
        self._ceiling_rate = self._rate
        self._ceiling_capacity = self._capacity
        self._taken = 0  # tickets handed out; a ticket is the count after its take
        self._in_flight: dict[int, float] = {}  # ticket -> when taken, until answered
        self._fresh = -1  # ticket of the newest response applied
        self._last: _Reading | None = None
        # Others' draw on the server's bucket: tokens unexplained by refill and our own calls,
        # and the time they were seen over, both fading with age.
        self._drawn = 0.0
        self._span = 0.0
        self._refused = 0

    def others(self) -> float:
        """Tokens per second others were lately seen to draw from the key's bucket."""
        with self._lock:
            return self._others_at(self._clock())

    def _others_at(self, at: float) -> float:
        # Time since the last reading counts as time in which nobody else drew: evidence fades
        # and, should we hold back long enough to send nothing, our refill recovers until a
        # new reading tells again.
        gap = max(0.0, at - self._last.at) if self._last is not None else 0.0
        fade = math.exp(-gap / ESTIMATE_SECONDS)
        return max(0.0, self._drawn * fade / max(self._span * fade + gap, ESTIMATE_MIN_SPAN))

    def _fill_rate(self, at: float) -> float:
        return max(self._rate - self._others_at(at), self._rate * MIN_SHARE)

    def _reserve(self) -> float:
        if self._others_at(self._clock()) <= self._rate * CONTENTION_SHARE:
            return 0.0
        return min(self._rate * RESERVE_SECONDS, self._capacity * RESERVE_MAX_SHARE)

    def take(self) -> int:
        """Spend a token and return the call's ticket, to pass to `correct` with its response."""
        with self._lock:
            self._tokens -= 1.0
            self._taken += 1
            self._in_flight[self._taken] = self._clock()
            return self._taken

    def answered(self, ticket: int) -> None:
        """The call's response is back (or it gave up): the server's count now includes it."""
        with self._lock:
            self._in_flight.pop(ticket, None)

    def in_flight(self) -> int:
        """Calls we took tokens for whose responses have not come back."""
        with self._lock:
            now = self._clock()
            for ticket, taken_at in list(self._in_flight.items()):
                if now - taken_at >= GIVE_UP_AFTER:
                    del self._in_flight[ticket]
            return len(self._in_flight)

    def is_stale(self, ticket: int | None) -> bool:
        """Whether a response to `ticket` is older than one already applied."""
        with self._lock:
            return ticket is not None and ticket < self._fresh

    @override
    def lower(self, per_minute: float) -> None:
        """A scope asking for a lower `rate_limit_per_minute` lowers rate and capacity for all."""
        with self._lock:
            rate = per_minute / 60.0
            if 0 < rate < self._ceiling_rate:
                self._ceiling_rate = rate
                self._ceiling_capacity = max(1.0, per_minute)
                self._set_shape(self._ceiling_capacity, self._ceiling_rate)

    def correct(
        self,
        ticket: int | None,
        *,
        remaining: float | None,
        limit: tuple[float, float] | None,
        refused: bool = False,
    ) -> None:
        """Apply one response's headers; `ticket` None means it describes the present."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._refused += refused
            if self.is_stale(ticket):
                return
            ticket = self._taken if ticket is None else ticket
            self._fresh = ticket
            if limit is not None:
                capacity, rate = limit
                if self._set_shape(
                    min(capacity, self._ceiling_capacity), min(rate, self._ceiling_rate)
                ):
                    self._last = None  # readings across a change of limit do not compare
            if remaining is None:
                return
            reading = _Reading(ticket, now, min(max(0.0, remaining), self._capacity), self._refused)
            self._measure_others(reading)
            left = reading.remaining - self.in_flight() - self._reserve()
            self._tokens = min(self._capacity, left)

    def _set_shape(self, capacity: float, rate: float) -> bool:
        capacity = max(1.0, capacity)
        if rate <= 0 or (capacity, rate) == (self._capacity, self._rate):
            return False
        self._capacity, self._rate = capacity, rate
        self._tokens = min(self._tokens, capacity)
        return True

    def _measure_others(self, reading: _Reading) -> None:
        """Others' draw: how far Remaining fell below what refill and our own calls explain.

        Rounding and jitter between two readings cancel out over a series of them, since each
        reading's error is added once and taken away once.
        """
        last, self._last = self._last, reading
        if last is None or reading.at < last.at:
            return
        elapsed = reading.at - last.at
        refill = self._rate * elapsed
        if last.remaining + refill >= self._capacity:
            return  # the bucket may have been full meanwhile, wasting refill we cannot see
        ours = (reading.ticket - last.ticket) - (reading.refused - last.refused)
        fade = math.exp(-elapsed / ESTIMATE_SECONDS)
        self._drawn = self._drawn * fade + (last.remaining + refill - ours - reading.remaining)
        self._span = self._span * fade + elapsed


class SlidingWindow:
    """At most `limit` calls in any `window` seconds, judged where the server judges: at arrival.

    A call may reach the server at any moment until its response is back, so its slot is held
    from the take until `window` seconds after the response: the next call to reuse the slot
    then arrives at least `window` after it, however slow the network was.

    A 429 says someone else spends the same allowance (another pipeline on the source): for a
    window after it, calls are also spaced evenly (`window / limit` apart) instead of bursting
    into an allowance that is not there.
    """

    def __init__(
        self,
        limit: float,
        window: float = WINDOW_SECONDS,
        *,
        clock: Clock = time.monotonic,
        lock: threading.RLock | None = None,
    ) -> None:
        if limit < 1 or window <= 0:
            msg = f"a window needs a limit of at least 1 and a positive length, got {limit!r}"
            raise ValueError(msg)
        self._limit = int(limit)
        self._window = float(window)
        self._clock = clock
        self._lock = lock if lock is not None else threading.RLock()
        self._taken = 0
        self._in_flight: dict[int, float] = {}  # ticket -> when it was taken
        self._expiries: list[float] = []  # heap: when each answered slot frees up
        self._paused_until = clock()
        self._contended_until = self._paused_until  # calls are spaced evenly until then
        self._last_take: float | None = None

    @classmethod
    def per_minute(
        cls,
        per_minute: float,
        *,
        clock: Clock = time.monotonic,
        lock: threading.RLock | None = None,
    ) -> SlidingWindow:
        """A window admitting no more than `per_minute` calls in any minute."""
        return cls(*cls._shape(per_minute), clock=clock, lock=lock)

    @staticmethod
    def _shape(per_minute: float) -> tuple[int, float]:
        # Whole calls per minute (90.5 allows 90); below one a minute, one call per longer window.
        if per_minute >= 1:
            return int(per_minute), WINDOW_SECONDS
        return 1, WINDOW_SECONDS / per_minute

    @property
    def limit(self) -> int:
        """Calls allowed in any window."""
        return self._limit

    @property
    def window(self) -> float:
        """The window's length in seconds."""
        return self._window

    def lower(self, per_minute: float) -> None:
        """A scope asking for fewer calls per minute lowers the limit for all."""
        if per_minute <= 0:
            return
        limit, window = self._shape(per_minute)
        with self._lock:
            if limit / window < self._limit / self._window:
                self._limit, self._window = limit, window

    def _expire(self, now: float) -> None:
        while self._expiries and self._expiries[0] <= now:
            heapq.heappop(self._expiries)
        for ticket, taken_at in list(self._in_flight.items()):
            if now - taken_at >= GIVE_UP_AFTER:
                self._free(ticket, taken_at + GIVE_UP_AFTER)

    def _free(self, ticket: int, answered_at: float) -> None:
        if self._in_flight.pop(ticket, None) is not None:
            heapq.heappush(self._expiries, answered_at + self._window)

    def in_flight(self) -> int:
        """Calls taken whose response has not come back."""
        with self._lock:
            self._expire(self._clock())
            return len(self._in_flight)

    def used(self) -> int:
        """Slots held now: calls in flight and those answered less than a window ago."""
        with self._lock:
            self._expire(self._clock())
            return len(self._in_flight) + len(self._expiries)

    def wait_time(self) -> float:
        """Seconds until a slot may be free (a poll interval while only responses can free one)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            wait = max(0.0, self._paused_until - now)
            if len(self._in_flight) + len(self._expiries) >= self._limit:
                wait = max(wait, self._expiries[0] - now if self._expiries else WINDOW_POLL)
            if now < self._contended_until and self._last_take is not None:
                wait = max(wait, self._last_take + self._window / self._limit - now)
            return wait if wait > _NEGLIGIBLE else 0.0

    def take(self) -> int:
        """Hold a slot; callers check `wait_time()` first, under the same lock."""
        with self._lock:
            self._taken += 1
            self._last_take = self._clock()
            self._in_flight[self._taken] = self._last_take
            return self._taken

    def answered(self, ticket: int) -> None:
        """The call's response is back: its slot frees one window from now."""
        with self._lock:
            self._free(ticket, self._clock())

    def pause(self, seconds: float) -> None:
        """Hold all takers for `seconds` (a 429's `Retry-After`), then space them for a window."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
            self._contended_until = self._paused_until + self._window


Limit = TokenBucket | SlidingWindow
