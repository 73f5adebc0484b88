"""Parallel work that keeps order where it matters: jobs sharing a key run one after another.

An alert's `firing` must reach incident.io before its `resolved`, yet unrelated alerts should
not wait on each other. Each key has a chain (a deque); a key is in the ready queue, or running,
at most once, so its jobs can never overlap or overtake one another.
"""

from __future__ import annotations

import collections
import queue
import threading
import typing as t
from concurrent.futures import Future

if t.TYPE_CHECKING:
    from collections.abc import Callable

T = t.TypeVar("T")


class ExecutorClosedError(RuntimeError):
    """`submit` was called after `close()` or `shutdown()`."""


class _Job:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[], t.Any], future: Future[t.Any]) -> None:
        self.fn = fn
        self.future = future


class OrderedExecutor:
    """Runs jobs on `max_workers` threads, in submission order per key, at most `max_pending` held.

    `submit` blocks while `max_pending` jobs are queued or running, which keeps memory flat however
    fast the input arrives. Do not submit from inside a job: with a full queue that would deadlock.
    """

    def __init__(self, max_workers: int, max_pending: int, *, name: str = "delivery") -> None:
        if max_workers < 1 or max_pending < 1:
            msg = "max_workers and max_pending must be at least 1"
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._slots = threading.BoundedSemaphore(max_pending)
        # Keys that are queued or running, each with the jobs still to start.
        self._chains: dict[str, collections.deque[_Job]] = {}
        self._ready: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._unfinished = 0
        self._closed = False
        # Started by the first `submit`: building an executor starts no thread.
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max_workers)
        ]

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished."""
        with self._lock:
            return self._unfinished

    @property
    def active_keys(self) -> int:
        """Keys with queued or running jobs (bookkeeping is dropped when a chain empties)."""
        with self._lock:
            return len(self._chains)

    def submit(self, key: str, fn: Callable[[], T]) -> Future[T]:
        """Queue `fn` behind earlier jobs of `key`; blocks while the executor is full."""
        self._slots.acquire()
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                self._slots.release()
                msg = "the executor no longer accepts jobs"
                raise ExecutorClosedError(msg)
            if not self._threads[0].is_alive() and self._threads[0].ident is None:
                for thread in self._threads:
                    thread.start()
            self._unfinished += 1
            chain = self._chains.get(key)
            if chain is None:
                self._chains[key] = collections.deque([_Job(fn, future)])
                self._ready.put(key)
            else:
                chain.append(_Job(fn, future))
        return future

    def _work(self) -> None:
        while (key := self._ready.get()) is not None:
            with self._lock:
                chain = self._chains[key]
                job = chain.popleft() if chain else None
                if job is None:  # its jobs were cancelled while it waited
                    del self._chains[key]
                    continue
            if job.future.set_running_or_notify_cancel():
                try:
                    job.future.set_result(job.fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the future's owner
                    job.future.set_exception(exc)
            with self._lock:
                if chain:
                    self._ready.put(key)  # back of the line, so busy keys do not starve others
                else:
                    del self._chains[key]
                self._finish(1)

    def _finish(self, count: int) -> None:
        """Release `count` slots; the caller holds the lock."""
        self._unfinished -= count
        for _ in range(count):
            self._slots.release()
        if self._unfinished == 0:
            self._idle.notify_all()

    def cancel_pending(self) -> int:
        """Cancel every job not yet started (running ones finish); return how many."""
        with self._lock:
            jobs = [job for chain in self._chains.values() for job in chain]
            for chain in self._chains.values():
                chain.clear()
        # Outside the lock: cancelling runs the futures' callbacks, which may call back in here.
        cancelled = sum(1 for job in jobs if job.future.cancel())
        with self._lock:
            self._finish(len(jobs))
        return cancelled

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished or been cancelled; False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def close(self) -> None:
        """Stop accepting jobs; queued ones still run unless `cancel_pending()` is called."""
        with self._lock:
            self._closed = True

    def shutdown(self, *, cancel: bool = False) -> None:
        """Close, finish (or cancel) the queue, then stop the threads."""
        self.close()
        if cancel:
            self.cancel_pending()
        self.wait()
        started = [thread for thread in self._threads if thread.ident is not None]
        for _ in started:
            self._ready.put(None)
        for thread in started:
            if thread is not threading.current_thread():
                thread.join()
