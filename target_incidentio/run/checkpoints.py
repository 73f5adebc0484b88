"""Checkpoints: a STATE reaches stdout once every record read before it is confirmed.

The SDK writes STATE only when sinks drain (end of input, or minutes apart), so a run killed
in between replays everything since the previous run. Here every record gets a sequence
number when it is read; a STATE message is remembered with the last number read before it;
once every record up to that number is settled (delivered, or reported failed under
`on_error: continue`), the state may go out. The newest such state goes out at most once per
`interval` seconds, from a thread of its own so that a tap that is slow to send its next
message does not hold it back, and always at the end of the run.
"""

from __future__ import annotations

import collections
import heapq
import threading
import time
import typing as t

from singer_sdk.singerlib.json import serialize_json

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

JSON = t.Any


class Checkpoints:
    """Orders states behind confirmations; thread-safe. Never emits out of order or ahead."""

    def __init__(
        self,
        interval: float,
        write: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._write = write
        self._clock = clock
        self._lock = threading.Condition()
        self._admitted = 0  # sequence number of the last record read
        self._open: list[int] = []  # heap of admitted numbers, some already settled
        self._settled: set[int] = set()  # settled numbers still in `_open`
        self._offered: collections.deque[tuple[int, JSON]] = collections.deque()
        self._ready: JSON = None  # newest state whose records are all settled
        self._has_ready = False
        self._last_written: str | None = None
        self._last_write_at: float | None = None
        self._started_at = clock()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- the main thread -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (at the start of the run, never when built)."""
        self._started_at = self._clock()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)
        self._thread.start()

    def admit(self, count: int = 1) -> tuple[int, ...]:
        """Number `count` records just read; each must later be `settle`d to pass a state."""
        with self._lock:
            first = self._admitted + 1
            self._admitted += count
            numbers = tuple(range(first, self._admitted + 1))
            for number in numbers:
                heapq.heappush(self._open, number)
            return numbers

    @property
    def admitted(self) -> int:
        """Records numbered so far: how many the run has read."""
        with self._lock:
            return self._admitted

    def offer(self, state: JSON) -> None:
        """A STATE message: it covers every record admitted so far."""
        with self._lock:
            self._offered.append((self._admitted, state))
            self._advance()

    # -- any thread ----------------------------------------------------------------------------

    def settle(self, numbers: Iterable[int]) -> None:
        """These records are confirmed: delivered, or reported failed and not fatal."""
        with self._lock:
            self._settled.update(numbers)
            self._advance()

    def overdue(self) -> bool:
        """A state has waited a whole interval for records that may be held back (batches)."""
        with self._lock:
            if not self._offered:
                return False
            since = self._last_write_at if self._last_write_at is not None else self._started_at
            return self._clock() - since >= self._interval

    @property
    def settled_through(self) -> int:
        """Every record up to this number is settled."""
        with self._lock:
            return self._through()

    def finish(self) -> None:
        """End of run: write the newest confirmed state now, whatever the interval; stop."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._emit()

    def abandon(self) -> None:
        """A failed run: stop the writer; what was written stays, nothing more is."""
        with self._lock:
            self._closed = True
            self._has_ready = False
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()

    # -- internals (hold the lock) -------------------------------------------------------------

    def _through(self) -> int:
        while self._open and self._open[0] in self._settled:
            self._settled.discard(heapq.heappop(self._open))
        return self._open[0] - 1 if self._open else self._admitted

    def _advance(self) -> None:
        through = self._through()
        while self._offered and self._offered[0][0] <= through:
            self._ready = self._offered.popleft()[1]
            self._has_ready = True
            self._lock.notify_all()

    def _due(self) -> float:
        """Seconds until a ready state may be written (0: now)."""
        if self._last_write_at is None:
            return 0.0
        return max(0.0, self._last_write_at + self._interval - self._clock())

    def _emit(self) -> None:
        if not self._has_ready:
            return
        line = serialize_json(self._ready)
        self._has_ready = False
        if line == self._last_written:
            return
        self._write(line)
        self._last_written = line
        self._last_write_at = self._clock()

    def _run(self) -> None:
        with self._lock:
            while not self._closed:
                if not self._has_ready:
                    self._lock.wait()
                    continue
                due = self._due()
                if due > 0:
                    self._lock.wait(due)
                    continue
                self._emit()
