from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

import pytest

from target_incidentio.delivery.ordering import ExecutorClosedError, OrderedExecutor


def test_same_key_jobs_keep_submission_order_under_parallel_workers() -> None:
    rng = random.Random(42)
    seen: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    executor = OrderedExecutor(max_workers=4, max_pending=64)

    def job(key: str, seq: int, delay: float) -> None:
        time.sleep(delay)
        with lock:
            seen[key].append(seq)

    # Interleave firing (0), resolved (1), re-fired (2) of 60 alerts; early events sleep longest,
    # so without per-key chains the later events would overtake them.
    events = [(f"alert-{i}", seq) for i in range(60) for seq in range(3)]
    rng.shuffle(events)
    next_seq: dict[str, int] = defaultdict(int)
    for key, _ in events:
        seq = next_seq[key]
        next_seq[key] += 1
        delay = rng.uniform(0, 0.004) * (3 - seq)
        executor.submit(key, lambda k=key, s=seq, d=delay: job(k, s, d))
    executor.wait()
    executor.shutdown()
    assert len(seen) == 60
    assert all(order == [0, 1, 2] for order in seen.values())


def test_unrelated_keys_reach_max_workers() -> None:
    barrier = threading.Barrier(4, timeout=5)
    executor = OrderedExecutor(max_workers=4, max_pending=8)
    futures = [executor.submit(f"k{i}", barrier.wait) for i in range(4)]
    # Only if all four run at once does the barrier open; otherwise it breaks after 5 s.
    assert sorted(f.result(timeout=10) for f in futures) == [0, 1, 2, 3]
    executor.shutdown()


def test_same_key_never_runs_concurrently() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1

    executor = OrderedExecutor(max_workers=4, max_pending=32)
    for _ in range(20):
        executor.submit("same", job)
    executor.shutdown()
    assert peak == 1


def test_submit_blocks_when_full_and_resumes_when_a_job_ends() -> None:
    release = threading.Event()
    executor = OrderedExecutor(max_workers=1, max_pending=2)
    executor.submit("a", lambda: release.wait(5))
    executor.submit("b", lambda: None)
    third_submitted = threading.Event()

    def submit_third() -> None:
        executor.submit("c", lambda: None)
        third_submitted.set()

    thread = threading.Thread(target=submit_third)
    thread.start()
    assert not third_submitted.wait(0.2)  # backpressure: two jobs held, a third must wait
    assert executor.pending == 2
    release.set()
    assert third_submitted.wait(5)
    thread.join()
    executor.shutdown()
    assert executor.pending == 0


def test_cancel_pending_cancels_only_jobs_not_started() -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def blocker() -> str:
        started.set()
        release.wait(5)
        ran.append("blocker")
        return "done"

    executor = OrderedExecutor(max_workers=1, max_pending=16)
    running = executor.submit("a", blocker)
    started.wait(5)
    queued = [executor.submit(key, lambda k=key: ran.append(k)) for key in ("a", "b", "c", "b")]
    assert executor.cancel_pending() == 4
    assert all(f.cancelled() for f in queued)
    release.set()
    assert running.result(timeout=5) == "done"
    executor.wait()
    assert ran == ["blocker"]
    assert executor.pending == 0
    # The executor still works afterwards, in order.
    later = [executor.submit("a", lambda i=i: i) for i in range(3)]
    assert [f.result(timeout=5) for f in later] == [0, 1, 2]
    executor.shutdown()
    assert executor.active_keys == 0


def test_job_exceptions_reach_the_future_and_the_chain_goes_on() -> None:
    def boom() -> None:
        msg = "boom"
        raise RuntimeError(msg)

    executor = OrderedExecutor(max_workers=2, max_pending=4)
    failed = executor.submit("k", boom)
    after = executor.submit("k", lambda: "after")
    with pytest.raises(RuntimeError, match="boom"):
        failed.result(timeout=5)
    assert after.result(timeout=5) == "after"
    executor.shutdown()


@pytest.mark.slow
def test_bookkeeping_is_dropped_when_chains_empty() -> None:
    executor = OrderedExecutor(max_workers=4, max_pending=32)
    for i in range(100_000):
        executor.submit(f"alert-{i}", lambda: None)
    executor.wait()
    assert executor.active_keys == 0
    assert executor.pending == 0
    executor.shutdown()


def test_closed_executor_refuses_jobs() -> None:
    executor = OrderedExecutor(max_workers=1, max_pending=1)
    executor.shutdown()
    with pytest.raises(ExecutorClosedError):
        executor.submit("k", lambda: None)
    with pytest.raises(ValueError, match="at least 1"):
        OrderedExecutor(max_workers=0, max_pending=1)


def test_shutdown_with_cancel_drops_the_queue() -> None:
    release = threading.Event()
    started = threading.Event()
    executor = OrderedExecutor(max_workers=1, max_pending=8)
    executor.submit("a", lambda: (started.set(), release.wait(5)))
    started.wait(5)
    queued = executor.submit("b", lambda: None)
    threading.Timer(0.05, release.set).start()
    executor.shutdown(cancel=True)
    assert queued.cancelled()
