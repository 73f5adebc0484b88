"""Do runs sharing one API key stay within its bucket together? Their total over the allowance.

Two target processes start together, each with 1,500 catalog entries of its own and default
settings, on one API key of a sandbox that enforces incident.io's real bucket (1,200 requests,
refilling 20/s) with its `X-RateLimit-*` headers and 50 ms latency: the way users scale out, with
several Meltano jobs under one orchestrator. Neither run knows of the other; each sees the other
only through the bucket's `X-RateLimit-Remaining`.

From the sandbox journal: the allowance is what the bucket admits over the span from the first
request to the last accepted one, 1200 + 20/s x span; the figure is both runs' accepted requests
over it. 429s are counted over all requests; records lost are input records minus the catalog
entries the sandbox holds.

Expected: ratio >= 0.9, at most 5% of requests answered 429, no record lost.
"""

from __future__ import annotations

import threading

from _common import (
    Check,
    SandboxProcess,
    TargetRun,
    catalog_config,
    catalog_input,
    command_line,
    print_table,
    run_target,
    timestamp,
)

RUNS = 2
RECORDS = 1500  # per run
CAPACITY = 1200
REFILL = 20
LATENCY_MS = 50
EXPECTED_RATIO = 0.9
MAX_429_SHARE = 0.05
TOO_MANY = 429
PATH = "/v3/catalog_entries"


def run(records: int = RECORDS, runs: int = RUNS) -> list[Check]:
    """`runs` targets at once against one rate-limited sandbox key."""
    sandbox_args = ["--rate-limit", "--bucket-capacity", str(CAPACITY)]
    sandbox_args += ["--refill-per-second", str(REFILL), "--latency-ms", str(LATENCY_MS)]
    results: dict[int, TargetRun] = {}
    with SandboxProcess(*sandbox_args) as sandbox:

        def one(index: int) -> None:
            data = catalog_input(records, prefix=f"run{index}")
            results[index] = run_target(catalog_config(sandbox.url), data)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results.values():
            result.check()
        journal = [e for e in sandbox.journal() if e["path"] == PATH]
        delivered = sandbox.counts()["catalog_entries"]
    arrived = sorted(timestamp(e["received_at"]) for e in journal)
    accepted = sorted(timestamp(e["received_at"]) for e in journal if e["status"] == 201)
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    span = accepted[-1] - arrived[0]
    allowance = CAPACITY + REFILL * span
    ratio = len(accepted) / allowance
    share = throttled / len(journal)
    lost = records * runs - delivered
    rows = [["runs", "records", "requests", "accepted", "429s", "span s", "allowance", "wall s"]]
    rows.append(
        [
            str(runs),
            str(records * runs),
            str(len(journal)),
            str(len(accepted)),
            str(throttled),
            f"{span:.2f}",
            f"{allowance:.0f}",
            " / ".join(f"{r.wall_seconds:.1f}" for r in results.values()),
        ]
    )
    print_table(
        f"Shared key: {runs} runs, bucket {CAPACITY} refilling {REFILL}/s, {LATENCY_MS} ms latency",
        rows,
    )
    return [
        Check(
            "shared key: accepted / allowance",
            ratio,
            "x",
            f">= {EXPECTED_RATIO}",
            ratio >= EXPECTED_RATIO,
            [f"{len(accepted)} accepted of {allowance:.0f} allowed in {span:.1f} s"],
        ),
        Check(
            "shared key: requests answered 429",
            share * 100,
            f"% ({throttled} of {len(journal)})",
            f"<= {MAX_429_SHARE:.0%}",
            share <= MAX_429_SHARE,
        ),
        Check("shared key: records lost", lost, "", "0", lost == 0),
    ]


def main() -> None:
    """Command line: `python benchmarks/shared_key.py [--records N] [--runs N]`."""
    command_line(__doc__, run, records=RECORDS, runs=RUNS)


if __name__ == "__main__":
    main()
