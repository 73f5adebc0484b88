"""Token buckets shaped like incident.io's: burst to capacity, refill continuously."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Decision:
    """What one take from a bucket says, enough to write headers and a 429 body."""

    allowed: bool
    limit: int
    remaining: int
    used: int
    window_seconds: int
    reset_after: float
    retry_after: float

    def headers(self, now: float | None = None) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers incident.io sends with every API-key response."""
        wall = time.time() if now is None else now
        return {
            "X-RateLimit-Limit": f"{self.limit}, {self.limit};window={self.window_seconds}",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Reset": str(math.ceil(wall + self.reset_after)),
        }


class TokenBucket:
    """Thread-safe bucket; a clock can be injected so tests need not sleep."""

    def __init__(
        self,
        capacity: float,
        refill_per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or refill_per_second <= 0:
            msg = "bucket needs capacity >= 1 and a positive refill rate"
            raise ValueError(msg)
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> Decision:
        """Spend one token if there is one; either way report the bucket's state."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.refill_per_second)
            self._updated = now
            allowed = self._tokens >= 1
            if allowed:
                self._tokens -= 1
            tokens = self._tokens
        remaining = math.floor(tokens)
        limit = math.floor(self.capacity)
        return Decision(
            allowed=allowed,
            limit=limit,
            remaining=remaining,
            used=limit - remaining,
            window_seconds=max(1, round(self.capacity / self.refill_per_second)),
            reset_after=(self.capacity - tokens) / self.refill_per_second,
            retry_after=0.0 if allowed else (1 - tokens) / self.refill_per_second,
        )
