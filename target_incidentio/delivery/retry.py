"""Retrying transient failures: the server's `Retry-After` when it gives one, else jittered backoff.

`backoff`'s decorators call `time.sleep` directly, which tests cannot replace, so the loop is ours
while the wait sequence is `backoff`'s own (`backoff.expo` with `backoff.full_jitter`).
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

import backoff

from target_incidentio.delivery.outcome import Retry

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from target_incidentio.delivery.outcome import Outcome
    from target_incidentio.settings import DeliverySettings

LOG = logging.getLogger(__name__)
T = t.TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; `jitter=None` makes waits deterministic."""

    max_retries: int = 8
    max_wait: float = 60.0
    # Ceiling of the first backoff wait; it doubles each retry up to `max_wait`.
    first_wait: float = 1.0
    jitter: Callable[[float], float] | None = backoff.full_jitter
    # Of those, the most for a call that got no answer (refused, unresolved, reset), and for
    # one that timed out; None: `max_retries`. A question (`--check`) wants its answer now.
    unanswered_retries: int | None = None
    timeout_retries: int | None = None

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        """The policy the user configured."""
        return cls(max_retries=settings.max_retries, max_wait=settings.max_retry_wait)

    def most_retries(self, outcome: Retry) -> int:
        """How many retries an outcome of this kind may have."""
        most = self.max_retries
        if outcome.cause == "timeout" and self.timeout_retries is not None:
            most = min(most, self.timeout_retries)
        elif outcome.cause is not None and self.unanswered_retries is not None:
            most = min(most, self.unanswered_retries)
        return most

    def backoff_waits(self) -> Iterator[float]:
        """Waits for retries the server gave no time for: capped exponential, jittered."""
        waits = backoff.expo(base=2, factor=self.first_wait, max_value=self.max_wait)
        next(waits)  # backoff's generators first yield a priming 0
        for wait in waits:
            capped = min(wait, self.max_wait)
            yield self.jitter(capped) if self.jitter is not None else capped


@dataclass(frozen=True)
class Tried(t.Generic[T]):
    """The last attempt's value and how many attempts it took."""

    last: T
    attempts: int


class Retrier:
    """Runs an attempt until its outcome is not `Retry` or the retries run out."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        redact: Callable[[str], str] = str,
        logger: logging.Logger = LOG,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._redact = redact
        self._log = logger

    def run(
        self,
        attempt: Callable[[], T],
        outcome_of: Callable[[T], Outcome],
        label: str,
        *,
        halted: Callable[[], bool] = lambda: False,
    ) -> Tried[T]:
        """Call `attempt` up to `1 + max_retries` times, fewer once `halted()` says so.

        `label` should be `METHOD /path`: no query string, no headers, nothing secret.
        """
        waits = self.policy.backoff_waits()
        attempts = 0
        retried: dict[str | None, int] = {}
        while True:
            value = attempt()
            attempts += 1
            outcome = outcome_of(value)
            if not isinstance(outcome, Retry) or halted():
                return Tried(value, attempts)
            kind = "timeout" if outcome.cause == "timeout" else outcome.cause and "unanswered"
            retried[kind] = retried.get(kind, 0) + 1
            exhausted = attempts > self.policy.max_retries
            if exhausted or retried[kind] > self.policy.most_retries(outcome):
                return Tried(value, attempts)
            wait = next(waits)
            if outcome.after is not None:
                wait = min(outcome.after, self.policy.max_wait)
            self._log.warning(
                "%s failed: %s; retry %d/%d in %.2f s",
                self._redact(label),
                self._redact(outcome.reason),
                attempts,
                self.policy.most_retries(outcome),
                wait,
            )
            self._sleep(wait)
            if halted():
                return Tried(value, attempts)
