"""Checkpoints: never ahead of confirmation, never out of order, at most once per interval."""

from __future__ import annotations

import json
import threading

from target_incidentio.run.checkpoints import Checkpoints


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(interval: float = 5.0) -> tuple[Checkpoints, list[dict], Clock]:
    written: list[dict] = []
    clock = Clock()
    checkpoints = Checkpoints(interval, lambda line: written.append(json.loads(line)), clock=clock)
    return checkpoints, written, clock


def test_a_state_waits_for_every_record_before_it():
    checkpoints, written, _ = make()
    first, second = checkpoints.admit(2)
    checkpoints.offer({"at": 2})
    checkpoints.settle([second])  # out of order: the first is still open
    checkpoints.finish()
    assert written == []
    checkpoints, written, _ = make()
    first, second = checkpoints.admit(2)
    checkpoints.offer({"at": 2})
    checkpoints.settle([second, first])
    checkpoints.finish()
    assert written == [{"at": 2}]


def test_the_newest_confirmed_state_wins_and_none_goes_backwards():
    checkpoints, written, _ = make()
    for n in range(1, 6):
        (seq,) = checkpoints.admit()
        checkpoints.offer({"at": n})
        if n <= 3:
            checkpoints.settle([seq])
    checkpoints.finish()  # 4 and 5 are open: the newest confirmed is 3
    assert written == [{"at": 3}]


def test_a_state_with_nothing_before_it_is_ready_at_once():
    checkpoints, written, _ = make()
    checkpoints.offer({"at": 0})
    assert checkpoints.settled_through == 0
    checkpoints.finish()
    assert written == [{"at": 0}]


def test_at_most_once_per_interval_then_always_at_the_end():
    checkpoints, written, clock = make(interval=5)
    lines = threading.Semaphore(0)
    real_write = checkpoints._write

    def write(line: str) -> None:
        real_write(line)
        lines.release()

    checkpoints._write = write
    checkpoints.start()
    checkpoints.offer({"at": 0})
    assert lines.acquire(timeout=5)  # the first one goes at once
    clock.now += 1
    checkpoints.offer({"at": 1})
    checkpoints.offer({"at": 2})
    assert not lines.acquire(timeout=0.3)  # inside the interval: held back
    checkpoints.finish()  # the end writes the newest at once
    assert written == [{"at": 0}, {"at": 2}]


def test_an_abandoned_run_writes_nothing_more():
    checkpoints, written, _ = make()
    checkpoints.offer({"at": 1})
    checkpoints.abandon()
    assert written == []


def test_the_same_state_twice_is_written_once():
    checkpoints, written, clock = make(interval=0)
    checkpoints.offer({"at": 1})
    checkpoints.finish()
    checkpoints.offer({"at": 1})
    clock.now += 10
    checkpoints.finish()
    assert written == [{"at": 1}]


def test_overdue_only_after_a_whole_interval():
    checkpoints, _, clock = make(interval=5)
    checkpoints.admit()
    assert not checkpoints.overdue()  # nothing offered
    checkpoints.offer({"at": 1})
    assert not checkpoints.overdue()
    clock.now += 5
    assert checkpoints.overdue()
