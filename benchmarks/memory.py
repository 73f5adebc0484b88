"""Does memory stay flat as a run grows? Peak RSS at 100,000 records over peak RSS at 10,000.

The target runs with `dry_run: true` (operation `catalog_entry`): every request is built,
queued, "delivered" and accounted for, so anything kept per record shows up, while no sandbox
journal or HTTP buffers blur the figure. Each run is its own subprocess and its peak RSS is that
process's `ru_maxrss`, read by a small wrapper process (see `_common.run_target` for why a
wrapper), so one run's peak cannot leak into the next. The input is written to the pipe from
this process, so it is not in the target's memory unless the target keeps it. The SDK-only
discard target (see overhead.py) is measured the same way for context.

Expected: target peak RSS ratio (100k / 10k) < 1.3.
"""

from __future__ import annotations

from _common import Check, catalog_config, catalog_input, command_line, print_table, run_target
from overhead import DISCARD_COMMAND

SMALL, LARGE = 10_000, 100_000
EXPECTED_MAX_RATIO = 1.3


def run(small: int = SMALL, large: int = LARGE) -> list[Check]:
    """Peak RSS of the target and of the discard target at both sizes."""
    config = catalog_config("http://127.0.0.1:9", dry_run=True)
    peaks: dict[tuple[str, int], tuple[int, float]] = {}
    for label, command in (
        ("target-incidentio dry_run", None),
        ("discard target", DISCARD_COMMAND),
    ):
        for records in (small, large):
            result = run_target(
                config if command is None else {},
                catalog_input(records),
                command=command,
                measure_rss=True,
            ).check()
            peaks[label, records] = (result.max_rss_kib or 0, result.wall_seconds)
    rows = [["target", "records", "peak RSS MiB", "wall s"]]
    for (label, records), (kib, wall) in peaks.items():
        rows.append([label, str(records), f"{kib / 1024:.1f}", f"{wall:.1f}"])
    print_table("Memory: peak RSS per run (ru_maxrss of the target process)", rows)
    ratio = (
        peaks["target-incidentio dry_run", large][0] / peaks["target-incidentio dry_run", small][0]
    )
    sdk = peaks["discard target", large][0] / peaks["discard target", small][0]
    return [
        Check(
            f"memory: peak RSS {large // 1000}k / {small // 1000}k",
            ratio,
            f"x (SDK-only discard target: {sdk:.3f} x)",
            f"< {EXPECTED_MAX_RATIO}",
            ratio < EXPECTED_MAX_RATIO,
        )
    ]


def main() -> None:
    """Command line: `python benchmarks/memory.py [--small N] [--large N]`."""
    command_line(__doc__, run, small=SMALL, large=LARGE)


if __name__ == "__main__":
    main()
