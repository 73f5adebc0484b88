"""Signal handling that cannot deadlock the main thread.

Python runs signal handlers on the main thread between two bytecodes. The SDK's SIGTERM
handler drains every sink, which submits and waits on delivery locks; had the signal
landed while the main thread itself held one of them, the handler would wait forever.
So while the main thread is inside delivery bookkeeping, a handler is deferred to the
moment it leaves.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class SignalGuard:
    """Defers a signal handler's work out of the main thread's critical sections."""

    def __init__(self) -> None:
        self._depth = 0
        self._pending: Callable[[], None] | None = None
        self._handling = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A section in which a signal handler must not run its work."""
        if threading.current_thread() is not threading.main_thread():
            yield  # handlers only ever run on the main thread
            return
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._pending is not None:
                work, self._pending = self._pending, None
                self._run(work)

    def run_when_safe(self, work: Callable[[], None]) -> None:
        """Run `work` now, or as soon as the main thread leaves its critical section."""
        if self._handling:
            return  # a second signal while the first is being handled
        if self._depth:
            self._pending = work
            return
        self._run(work)

    def _run(self, work: Callable[[], None]) -> None:
        self._handling = True
        try:
            work()
        finally:
            self._handling = False
