"""Does an alert source ever get more than 120 events in a minute? The most in any 60-s window.

incident.io allows 120 events per minute per HTTP alert source and documents no burst. 130
firing alerts (distinct deduplication keys, so nothing waits on ordering) go to one alert source
of a sandbox with its rate limit on and 50 ms latency; the target runs with its defaults
(`alert_source_rate_limit_per_minute: 120`, concurrency 4). The first 120 may go at once; the
rest must wait until a minute after the first ones could have arrived, so the run takes just over
60 s.

The window is judged where the server judges it: on the arrival times (`received_at`) of the
accepted events in the sandbox journal, over every window [t, t + 60 s). Before measuring, the
counting is checked on 121 events 0.495 s apart, which it must find.

Expected: at most 120 in any window, every event delivered.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import (
    ALERT_SOURCE_ID,
    BenchmarkError,
    Check,
    SandboxProcess,
    accepted_times,
    alert_config,
    alert_input,
    command_line,
    print_table,
    run_target,
)

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from windows import most_in_window  # the tests' own measure of the window

EVENTS = 130
LIMIT = 120
WINDOW_SECONDS = 60.0
LATENCY_MS = 50
TOO_MANY = 429


def run(events: int = EVENTS) -> list[Check]:
    """One run of `events` alert events to one source; return the window check."""
    if most_in_window([i * 0.495 for i in range(LIMIT + 1)], WINDOW_SECONDS) != LIMIT + 1:
        raise BenchmarkError("the window count misses 121 events in 59.4 s")
    path = f"/v2/alert_events/http/{ALERT_SOURCE_ID}"
    with SandboxProcess("--rate-limit", "--latency-ms", str(LATENCY_MS)) as sandbox:
        result = run_target(alert_config(sandbox.url), alert_input(events)).check()
        journal = [e for e in sandbox.journal() if e["path"] == path]
        delivered = sandbox.counts()["alerts"]  # distinct deduplication keys
    arrivals = accepted_times(journal, path)
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    most = most_in_window(arrivals, WINDOW_SECONDS)
    ordered = sorted(arrivals)
    gap = ordered[LIMIT] - ordered[0] if len(ordered) > LIMIT else float("nan")
    rows = [["events", "requests", "accepted", "429s", "most in 60 s", "1st to 121st s", "wall s"]]
    rows.append(
        [
            str(events),
            str(len(journal)),
            str(len(arrivals)),
            str(throttled),
            str(most),
            f"{gap:.2f}",
            f"{result.wall_seconds:.2f}",
        ]
    )
    print_table(f"Alert source window: {LIMIT}/min, {LATENCY_MS} ms latency, defaults", rows)
    return [
        Check(
            "alert window: most events of one source in any 60 s",
            most,
            "",
            f"<= {LIMIT}",
            most <= LIMIT and delivered == events,
            [f"121st event arrived {gap:.2f} s after the 1st; delivered {delivered} of {events}"],
        )
    ]


def main() -> None:
    """Command line: `python benchmarks/alert_window.py [--events N]`."""
    command_line(__doc__, run, events=EVENTS)


if __name__ == "__main__":
    main()
