"""Run every benchmark once and print one summary of measured figures against expectations.

`python benchmarks/run_all.py` uses the issues' sizes (about 12 minutes on two cores, most of
it waiting on incident.io's 20/s and 120/min); `--quick` scales every run down for a smoke test,
which makes the startup-dominated ratios worse and so is not a verdict (and still waits a minute
for the alert window). Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import typing as t

import alert_resolution
import alert_window
import burst
import catalog_sync
import checkpoints
import concurrency
import hostile
import incident_sync
import memory
import names
import oncall
import overhead
import ratelimit
import shared_key
from _common import Check, print_checks

if t.TYPE_CHECKING:
    from collections.abc import Callable

FULL: list[tuple[str, Callable[[], list[Check]]]] = [
    ("concurrency", concurrency.run),
    ("burst", burst.run),
    ("ratelimit", ratelimit.run),
    ("shared_key", shared_key.run),
    ("alert_window", alert_window.run),
    ("overhead", overhead.run),
    ("memory", memory.run),
    ("checkpoints", checkpoints.run),
    ("alert_resolution", alert_resolution.run),
    ("catalog_sync", catalog_sync.run),
    ("incident_sync", incident_sync.run),
    ("hostile", hostile.run),
    ("names", names.run),
    ("oncall", oncall.run),
]
QUICK: list[tuple[str, Callable[[], list[Check]]]] = [
    ("concurrency", lambda: concurrency.run(400)),
    ("burst", lambda: burst.run(200)),
    ("ratelimit", lambda: ratelimit.run(300)),
    ("shared_key", lambda: shared_key.run(300)),
    ("alert_window", lambda: alert_window.run(121)),
    ("overhead", lambda: overhead.run(4000)),
    ("memory", lambda: memory.run(2000, 20000)),
    ("checkpoints", lambda: checkpoints.run(300, 2)),
    ("alert_resolution", lambda: alert_resolution.run(30, 10)),
    ("catalog_sync", lambda: catalog_sync.run(500)),
    ("incident_sync", lambda: incident_sync.run(500)),
    ("hostile", lambda: hostile.run(50)),
    ("names", lambda: names.run(200, 1)),
    ("oncall", lambda: oncall.run(200, 61)),
]


def main() -> int:
    """Run them in turn (never in parallel: they would share the cores they measure)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, smoke test only")
    parser.add_argument("--only", action="append", help="run just these benchmarks")
    args = parser.parse_args()
    checks: list[Check] = []
    started = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    for name, bench in QUICK if args.quick else FULL:
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        found = bench()
        print_checks(found)
        print(f"({name}: {time.perf_counter() - began:.0f} s)", flush=True)
        checks += found
    print("\n=== summary ===")
    print_checks(checks)
    for check in checks:
        for note in check.notes:
            print(f"  {check.name}: {note}")
    failed = [c.name for c in checks if c.passed is False]
    passed = sum(1 for c in checks if c.passed)
    info = sum(1 for c in checks if c.passed is None)
    total = time.perf_counter() - started
    print(f"\n{passed} pass, {len(failed)} fail ({', '.join(failed) or 'none'}), {info} reported")
    print(f"Total {total:.0f} s; load average at the end {os.getloadavg()[0]:.2f} (timings")
    print("suffer when other work shares the cores; see each module's docstring).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
