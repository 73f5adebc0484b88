"""Does `max_concurrency` pay off? Wall time at concurrency 1 over wall time at the default (4).

2,000 catalog entries go to a sandbox that adds 50 ms to every request. The sandbox is a
ThreadingHTTPServer (one thread per keep-alive connection) and sleeps the latency on that
request's own thread, so four connections wait their 50 ms side by side, as at incident.io.
The sandbox enforces no rate limit and the target's own limiter is lifted to
`rate_limit_per_minute: 60000` (1000/s, far above the ~80/s four workers can reach at 50 ms), so
only concurrency is measured. Wall time is the target subprocess from spawn to exit: startup,
reading stdin, building, sending, confirming and the final STATE are all in it.

Expected: ratio >= 3.5. `--records N` scales the run down (the default is the issue's 2,000;
~2 minutes in all).
"""

from __future__ import annotations

from _common import (
    Check,
    SandboxProcess,
    TargetRun,
    catalog_config,
    catalog_input,
    command_line,
    print_table,
    run_target,
)

RECORDS = 2000
LATENCY_MS = 50
DEFAULT_CONCURRENCY = 4
EXPECTED_RATIO = 3.5
NO_CLIENT_LIMIT = 60000  # per minute; keeps the client-side limiter out of the way


def run(records: int = RECORDS) -> list[Check]:
    """Run the target at concurrency 1 and 4 against one sandbox; return the ratio check."""
    data = catalog_input(records)
    runs: dict[int, TargetRun] = {}
    delivered: dict[int, int] = {}
    with SandboxProcess("--latency-ms", str(LATENCY_MS)) as sandbox:
        for concurrency in (1, DEFAULT_CONCURRENCY):
            sandbox.reset()
            config = catalog_config(
                sandbox.url, max_concurrency=concurrency, rate_limit_per_minute=NO_CLIENT_LIMIT
            )
            if concurrency == DEFAULT_CONCURRENCY:
                del config["max_concurrency"]  # the default, as a user would leave it
            runs[concurrency] = run_target(config, data).check()
            delivered[concurrency] = sandbox.counts()["catalog_entries"]
    rows = [["max_concurrency", "records", "delivered", "wall s", "records/s"]]
    for concurrency, result in runs.items():
        rows.append(
            [
                f"{concurrency}{' (default)' if concurrency == DEFAULT_CONCURRENCY else ''}",
                str(records),
                str(delivered[concurrency]),
                f"{result.wall_seconds:.2f}",
                f"{records / result.wall_seconds:.1f}",
            ]
        )
    print_table(f"Concurrency: {records} records, {LATENCY_MS} ms server latency", rows)
    ratio = runs[1].wall_seconds / runs[DEFAULT_CONCURRENCY].wall_seconds
    ideal = records * LATENCY_MS / 1000
    check = Check(
        "concurrency: wall(1) / wall(4)",
        ratio,
        "x",
        f">= {EXPECTED_RATIO}",
        ratio >= EXPECTED_RATIO and all(n == records for n in delivered.values()),
        [f"latency floor at concurrency 1: {ideal:.0f} s; delivered {delivered}"],
    )
    return [check]


def main() -> None:
    """Command line: `python benchmarks/concurrency.py [--records N]`."""
    command_line(__doc__, run, records=RECORDS)


if __name__ == "__main__":
    main()
