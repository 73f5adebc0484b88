"""STATE as calls are confirmed: a SIGKILL replays little, and never re-fires a resolved alert."""

from __future__ import annotations

import collections
import json
import signal
import threading
import time
from datetime import datetime

import pytest
from reliability_helpers import (
    ALERT_TOKEN,
    SOURCE,
    LiveRun,
    base_config,
    position,
    settled,
    tap,
    wait_until,
)
from support import record, schema, state

pytestmark = pytest.mark.slow

ALERTS, TICKETS = "checks", "tickets"
ALERT_SCHEMA = {
    "check_id": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "string"},
}
TICKET_SCHEMA = {"ticket_id": {"type": "integer"}, "name": {"type": "string"}}


def _config(sandbox, tmp_path, name, **changes):
    config = base_config(
        sandbox,
        tmp_path,
        on_error="fail",
        streams={
            ALERTS: {"operation": "alert_event", "alert_source_token": ALERT_TOKEN},
            TICKETS: {"operation": "incident"},
        },
        **changes,
    )
    path = tmp_path / f"config-{name}.json"
    path.write_text(json.dumps(config))
    return path


def _event(k, status):
    return record(ALERTS, {"check_id": f"c{k}", "title": f"check {k}", "status": status})


def _ticket(k):
    return record(TICKETS, {"ticket_id": k, "name": f"ticket-{k}"})


def _schemas():
    return [
        schema(ALERTS, ALERT_SCHEMA, ["check_id"]),
        schema(TICKETS, TICKET_SCHEMA, ["ticket_id"]),
    ]


def _events_by_key(sandbox):
    events = collections.defaultdict(list)
    for event in sandbox.state()["alert_events"]:
        if event["alert_source_config_id"] == SOURCE:
            events[event["payload"]["deduplication_key"]].append(event["payload"]["status"])
    return events


def test_sigkill_then_rerun_from_the_last_state_refires_nothing(sandbox, tmp_path, outputs):
    """Resolved alerts stay resolved and no incident is opened twice across a kill and rerun.

    The first run resolves 20 alerts and the tap checkpoints; then 10 more fire and the target
    is killed before their resolution arrives. Before checkpoints, the rerun started from the
    previous run's state and fired the 20 resolved alerts again.
    """
    sandbox.set_faults(latency_ms=20)
    printed = threading.Event()
    release = threading.Event()

    def first_input():
        yield from _schemas()
        for k in range(20):
            yield _event(k, "firing")
            yield _ticket(k)
            yield _event(k, "resolved")
        yield state({"position": 1})
        printed.wait(30)
        for k in range(20, 30):
            yield _event(k, "firing")
            yield _ticket(k)
        yield state({"position": 2})
        release.wait(30)  # the tap is still working when the target is killed

    first = LiveRun(
        _config(sandbox, tmp_path, "first", state_interval=0),
        first_input(),
        on_state=lambda value: printed.set() if value == {"position": 1} else None,
    )
    try:
        assert printed.wait(30), first.stderr
        wait_until(lambda: len(settled(sandbox)) >= 70)  # some of the second chunk is in
        first.signal(signal.SIGKILL)
        assert first.wait(timeout=20) == -signal.SIGKILL
    finally:
        release.set()
        outputs.add(first.stderr, *first.stdout_lines)
    last = first.states[-1]
    assert last in ({"position": 1}, {"position": 2})

    # Meltano hands the last state to the tap: it resends what came after it.
    def rerun_input():
        yield from _schemas()
        if last == {"position": 1}:
            for k in range(20, 30):
                yield _event(k, "firing")
                yield _ticket(k)
        for k in range(20, 30):
            yield _event(k, "resolved")
        yield state({"position": 3})

    sandbox.set_faults(latency_ms=0)
    second = LiveRun(_config(sandbox, tmp_path, "second"), rerun_input())
    assert second.wait() == 0, second.stderr[-2000:]
    outputs.add(second.stderr, *second.stdout_lines)
    assert second.states[-1] == {"position": 3}

    events = _events_by_key(sandbox)
    assert len(events) == 30
    for key, statuses in events.items():
        resolved_at = statuses.index("resolved")
        assert "firing" not in statuses[resolved_at:], f"{key} fired again after it was resolved"
    current = sandbox.state()
    assert current["counts"]["alerts_firing"] == 0
    names = collections.Counter(i["name"] for i in current["incidents"])
    assert names == {f"ticket-{k}": 1 for k in range(30)}, "an incident was opened twice"


def _received_at(entry):
    return datetime.fromisoformat(entry["received_at"].replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("interval", [0.25, 1.0])
def test_the_last_state_trails_confirmation_by_at_most_an_interval(
    sandbox, tmp_path, outputs, interval
):
    """A kill replays at most `state_interval` seconds of calls plus one state's worth."""
    every, concurrency = 5, 4
    sandbox.set_faults(latency_ms=25)
    states_at: list[tuple[float, int]] = []  # (when the line was read, its position)

    path = tmp_path / "config.json"
    config = base_config(
        sandbox,
        tmp_path,
        on_error="fail",
        state_interval=interval,
        max_concurrency=concurrency,
    )
    path.write_text(json.dumps(config))
    run = LiveRun(
        path,
        tap(range(2000), every=every),
        on_state=lambda value: states_at.append((time.time(), position(value))),
    )
    try:
        wait_until(lambda: len(sandbox.journal()) >= 300, timeout=60)
        run.signal(signal.SIGKILL)
        run.wait(timeout=20)
    finally:
        outputs.add(run.stderr, *run.stdout_lines)
    journal = [e for e in settled(sandbox) if e["status"] == 200]
    delivered = {e["body"]["name"] for e in journal}
    assert states_at, "no state was emitted before the kill"
    last = states_at[-1][1]
    covered = {f"ticket-{i}" for i in range(last + 1)}
    assert covered <= delivered, "a state ran ahead of confirmation"

    replayed = delivered - covered
    times = sorted(_received_at(e) for e in journal)
    rate = (len(times) - 1) / (times[-1] - times[0])
    # Calls confirmed in the last interval (and those that were in flight), plus what one
    # state holds: the records read after the tap's last STATE.
    bound = rate * interval + every + concurrency
    assert len(replayed) <= bound, (len(replayed), rate, interval)
    # States went out during the run, not only at the end, and never backwards.
    positions = [p for _, p in states_at]
    assert len(positions) >= 2
    assert positions == sorted(positions)
