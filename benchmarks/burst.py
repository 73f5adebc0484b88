"""Does the target use incident.io's documented burst? Wall time at concurrency 1 over the default.

incident.io's API-key bucket holds 1,200 requests and refills 20/s, "so you can burst up to the
full bucket". 600 catalog entries fit in that burst, so a target that uses it is bound only by
latency and concurrency: one call at a time at 50 ms needs about 30 s, four at a time about 8 s.
A target that never sends faster than 20/s needs 30 s whatever its concurrency.

Both runs go to one sandbox enforcing that bucket (capacity 1200, refill 20/s, `X-RateLimit-*`
headers, 429s) with 50 ms latency, reset between them so each starts with a full bucket. Nothing
is lifted: the target runs with its defaults, once with `max_concurrency: 1`. Wall time is the
target subprocess from spawn to exit, startup included.

Expected: ratio >= 3.5, no record lost, no 429.
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

RECORDS = 600
LATENCY_MS = 50
CAPACITY = 1200
REFILL = 20
DEFAULT_CONCURRENCY = 4
EXPECTED_RATIO = 3.5
TOO_MANY = 429


def run(records: int = RECORDS) -> list[Check]:
    """One run at `max_concurrency: 1`, one at the defaults; return the ratio check."""
    data = catalog_input(records)
    sandbox_args = ["--rate-limit", "--bucket-capacity", str(CAPACITY)]
    sandbox_args += ["--refill-per-second", str(REFILL), "--latency-ms", str(LATENCY_MS)]
    runs: dict[int, TargetRun] = {}
    delivered: dict[int, int] = {}
    throttled: dict[int, int] = {}
    with SandboxProcess(*sandbox_args) as sandbox:
        for concurrency in (1, DEFAULT_CONCURRENCY):
            sandbox.reset()
            config = catalog_config(sandbox.url)
            if concurrency != DEFAULT_CONCURRENCY:
                config["max_concurrency"] = concurrency
            runs[concurrency] = run_target(config, data).check()
            delivered[concurrency] = sandbox.counts()["catalog_entries"]
            throttled[concurrency] = sum(1 for e in sandbox.journal() if e["status"] == TOO_MANY)
    rows = [["max_concurrency", "records", "delivered", "429s", "wall s", "records/s"]]
    for concurrency, result in runs.items():
        rows.append(
            [
                f"{concurrency}{' (default)' if concurrency == DEFAULT_CONCURRENCY else ''}",
                str(records),
                str(delivered[concurrency]),
                str(throttled[concurrency]),
                f"{result.wall_seconds:.2f}",
                f"{records / result.wall_seconds:.1f}",
            ]
        )
    print_table(
        f"Burst: {records} records, bucket {CAPACITY} refilling {REFILL}/s, "
        f"{LATENCY_MS} ms latency",
        rows,
    )
    ratio = runs[1].wall_seconds / runs[DEFAULT_CONCURRENCY].wall_seconds
    intact = all(n == records for n in delivered.values()) and not any(throttled.values())
    return [
        Check(
            "burst: wall(1) / wall(4)",
            ratio,
            "x",
            f">= {EXPECTED_RATIO}",
            ratio >= EXPECTED_RATIO and intact,
            [
                f"20/s would need {records / REFILL:.0f} s at any concurrency",
                f"delivered {delivered}, 429s {throttled}",
            ],
        )
    ]


def main() -> None:
    """Command line: `python benchmarks/burst.py [--records N]`."""
    command_line(__doc__, run, records=RECORDS)


if __name__ == "__main__":
    main()
