"""Does one run use the key's whole allowance without tripping it? Accepted over allowed calls.

3,000 catalog entries go to a sandbox that enforces incident.io's real API-key bucket (1,200
requests, refilling 20/s), sends the `X-RateLimit-*` headers on every answer and a 429 with
`Retry-After` when the bucket is empty, and adds 50 ms latency per request. The target runs with
its defaults (1200/min, concurrency 4), as a user would leave it: it should burst the 1,200, then
keep to 20/s.

The allowance is what the bucket admits from the first request's arrival to the last accepted
one's (sandbox journal `received_at`): 1200 + 20/s x that span. The figure is accepted requests
over it, so process startup and the final confirmation are not counted against the limiter.
The target's whole wall time is shown too, for context. 429s are counted in the journal; records
lost are the input records minus the catalog entries the sandbox holds.

Expected: ratio >= 0.95, under 1% of requests answered 429, no record lost.
"""

from __future__ import annotations

from _common import (
    Check,
    SandboxProcess,
    catalog_config,
    catalog_input,
    command_line,
    print_table,
    run_target,
    timestamp,
)

RECORDS = 3000
ALLOWED_PER_SECOND = 20
BURST = 1200
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
    arrived = min(timestamp(e["received_at"]) for e in journal)
    accepted = sorted(timestamp(e["received_at"]) for e in journal if e["status"] == 201)
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    other = sum(1 for e in journal if e["status"] not in (201, TOO_MANY))
    span = accepted[-1] - arrived
    allowance = BURST + ALLOWED_PER_SECOND * span
    ratio = len(accepted) / allowance
    share = throttled / len(journal) if journal else float("nan")
    lost = records - delivered
    rows = [
        ["records", "requests", "accepted", "429s", "other", "send span s", "allowance", "wall s"],
        [
            str(records),
            str(len(journal)),
            str(len(accepted)),
            str(throttled),
            str(other),
            f"{span:.2f}",
            f"{allowance:.0f}",
            f"{result.wall_seconds:.2f}",
        ],
    ]
    print_table(
        f"Rate limit: server bucket {BURST} refilling {ALLOWED_PER_SECOND}/s, "
        f"{LATENCY_MS} ms latency, target defaults",
        rows,
    )
    print(f"records / whole target wall time: {records / result.wall_seconds:.2f}/s")
    return [
        Check(
            "ratelimit: accepted / allowance",
            ratio,
            "x",
            f">= {EXPECTED_RATIO}",
            ratio >= EXPECTED_RATIO,
            [f"{len(accepted)} accepted of {allowance:.0f} allowed in {span:.1f} s of sending"],
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
    command_line(__doc__, run, records=RECORDS)


if __name__ == "__main__":
    main()
