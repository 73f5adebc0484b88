"""Does the target use the whole rate limit without tripping it? Achieved over allowed rate.

1,200 catalog entries go to a sandbox that enforces incident.io's API-key bucket scaled to
20/s with a burst of 20, sends the `X-RateLimit-*` headers on every answer and a 429 with
`Retry-After` when the bucket is empty; it also adds 50 ms latency per request. The target runs
with its defaults (1200/min client bucket, concurrency 4), as a user would leave it.

The achieved rate is taken from the sandbox journal, not the target's wall time, so that
process startup and the final confirmation are not counted against the limiter: (accepted
requests - 1) / (received_at of the last accepted request - received_at of the first), i.e.
intervals over the time they span. It is divided by the allowed 20/s. The target's whole wall
time is shown too, for context. 429s are counted in the journal; records lost are the input
records minus the catalog entries the sandbox holds.

Expected: ratio >= 0.95, under 1% of requests answered 429, no record lost.
"""

from __future__ import annotations

import argparse

from _common import (
    Check,
    SandboxProcess,
    catalog_config,
    catalog_input,
    print_checks,
    print_table,
    run_target,
    timestamp,
)

RECORDS = 1200
ALLOWED_PER_SECOND = 20
BURST = 20
LATENCY_MS = 50
EXPECTED_RATIO = 0.95
MAX_429_SHARE = 0.01
TOO_MANY = 429


def run(records: int = RECORDS) -> list[Check]:
    """One run at the target's defaults against a rate-limited sandbox."""
    sandbox_args = ["--rate-limit", "--bucket-capacity", str(BURST)]
    sandbox_args += [
        "--refill-per-second",
        str(ALLOWED_PER_SECOND),
        "--latency-ms",
        str(LATENCY_MS),
    ]
    with SandboxProcess(*sandbox_args) as sandbox:
        result = run_target(catalog_config(sandbox.url), catalog_input(records)).check()
        journal = [e for e in sandbox.journal() if e["path"] == "/v3/catalog_entries"]
        delivered = sandbox.counts()["catalog_entries"]
    accepted = sorted(timestamp(e["received_at"]) for e in journal if e["status"] == 201)
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    other = sum(1 for e in journal if e["status"] not in (201, TOO_MANY))
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span
    ratio = rate / ALLOWED_PER_SECOND
    share = throttled / len(journal) if journal else float("nan")
    lost = records - delivered
    rows = [
        ["records", "requests", "accepted", "429s", "other", "send span s", "rate/s", "wall s"],
        [
            str(records),
            str(len(journal)),
            str(len(accepted)),
            str(throttled),
            str(other),
            f"{span:.2f}",
            f"{rate:.2f}",
            f"{result.wall_seconds:.2f}",
        ],
    ]
    print_table(
        f"Rate limit: server bucket {ALLOWED_PER_SECOND}/s burst {BURST}, "
        f"{LATENCY_MS} ms latency, target defaults",
        rows,
    )
    print(f"records / whole target wall time: {records / result.wall_seconds:.2f}/s")
    return [
        Check(
            "ratelimit: achieved / allowed rate",
            ratio,
            "x",
            f">= {EXPECTED_RATIO}",
            ratio >= EXPECTED_RATIO,
            [f"{rate:.2f}/s over a {span:.1f} s sending phase (journal received_at)"],
        ),
        Check(
            "ratelimit: requests answered 429",
            share * 100,
            f"% ({throttled} of {len(journal)})",
            f"< {MAX_429_SHARE:.0%}",
            share < MAX_429_SHARE,
        ),
        Check("ratelimit: records lost", lost, "", "0", lost == 0),
    ]


def main() -> None:
    """Command line: `python benchmarks/ratelimit.py [--records N]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    print_checks(run(parser.parse_args().records))


if __name__ == "__main__":
    main()
