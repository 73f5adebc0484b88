"""A deadline over a whole HTTP exchange: connect, headers and body, however slowly they come.

`requests`' timeout bounds each socket read, so a server that sends one byte a second keeps
a call alive forever. Here every call runs under a `Call` with a deadline; the connection it
uses registers itself with that call, and one watchdog thread shuts the socket of any call
still running at its deadline, which wakes the blocked read at once.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import typing as t

from requests.adapters import HTTPAdapter
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_current = threading.local()


class Call:
    """One exchange under a deadline; `expired` once the watchdog has cut it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.done = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []

    def attach(self, connection: HTTPConnection) -> None:
        """The connection this call sends on; cut at once if the deadline already passed.

        The connection is marked as this call's: back in the pool, a later call takes it over,
        and this call's deadline must then no longer cut it.
        """
        with self._lock:
            self._connections.append(connection)
            connection._deadline_call = self  # type: ignore[attr-defined]  # noqa: SLF001
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        """The deadline passed: shut every socket of the call, so its reads end now."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            connections = [c for c in self._connections if _owner(c) is self]
        for connection in connections:
            _shut(connection)


def _owner(connection: HTTPConnection) -> Call | None:
    return t.cast("Call | None", getattr(connection, "_deadline_call", None))


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One thread that cuts any call still running at its deadline; started by the first call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Call]] = []
        self._live: set[Call] = set()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextlib.contextmanager
    def watch(self, seconds: float) -> Iterator[Call]:
        """Run the block as one call that is cut after `seconds`."""
        call = Call(self._clock() + seconds)
        with self._cond:
            self._live.add(call)
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        previous = getattr(_current, "call", None)
        _current.call = call
        try:
            yield call
        finally:
            _current.call = previous
            with call._lock:  # noqa: SLF001 - the call's own lock, taken by its owner
                call.done = True
            with self._cond:
                self._live.discard(call)

    def cap(self, seconds: float) -> None:
        """No call may run more than `seconds` from now: the run is being stopped."""
        deadline = self._clock() + seconds
        with self._cond:
            for call in self._live:
                if call.deadline > deadline:
                    call.deadline = deadline
                    heapq.heappush(self._heap, (deadline, next(self._order), call))
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = self._clock()
                while self._heap and (self._heap[0][0] <= now or self._heap[0][2].done):
                    due, _, call = heapq.heappop(self._heap)
                    if not call.done and due <= now and call.deadline <= now:
                        call.expire()
                wait = self._heap[0][0] - now if self._heap else None
                self._cond.wait(wait)


def _attach_to_current_call(connection: HTTPConnection) -> None:
    call: Call | None = getattr(_current, "call", None)
    if call is not None:
        call.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    @override
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _attach_to_current_call(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    @override
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _attach_to_current_call(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections (direct or through a proxy) a `Call` can cut."""

    @override
    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    @override
    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager
