"""The target's own cost: its records/s over that of a target that discards every record.

The discard target below is built on the same singer-sdk with a `BatchSink` whose
`process_batch` does nothing, so its records/s is the framework's own ceiling (reading stdin,
parsing, schema validation, batching, state). Both read the same 20,000 records from stdin as
subprocesses. target-incidentio runs the `http` operation (one POST per record, default
concurrency 4) twice: with `dry_run: true`, which builds every request but sends nothing (its
CPU cost alone), and against the sandbox's echo endpoint with 0 ms latency, the sandbox's rate
limit off and `rate_limit_per_minute` lifted to 6,000,000, which adds HTTP. The sandbox runs in
its own process, so its CPU is not the target's, though on a small machine they share cores.

records/s is shown over the whole process wall time (what a pipeline sees) and net of startup
(wall time minus that of the same target fed an empty stream). No expectation was set for
this figure: it is reported, not judged.

Where the time went when this was written (py-spy, cProfile): with `batch_size_rows` 1 the SDK
drains the sink after every record and logs two INFO lines per record ("sink is full",
METRIC batch_processing_time), about a third of the dry-run cost; with HTTP, `requests` itself
dominates, a tenth of it re-reading proxy and netrc settings from the environment per call.

Run `python benchmarks/overhead.py discard-target --config cfg.json` to use the discard target
on its own.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

from _common import (
    ECHO_PATH,
    Check,
    SandboxProcess,
    catalog_input,
    command_line,
    print_table,
    run_target,
)
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

RECORDS = 20000
NO_CLIENT_LIMIT = 6_000_000  # per minute
DISCARD_MARKER = "discard-target"


class DiscardSink(BatchSink):
    """Accepts every record and does nothing with it."""

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Nothing to do: the records are dropped."""


class DiscardTarget(Target):
    """The SDK's pipeline with no destination: the framework's own ceiling."""

    name = "target-discard"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = DiscardSink


DISCARD_COMMAND = [sys.executable, str(Path(__file__).resolve()), DISCARD_MARKER]


def _rate(records: int, seconds: float) -> float:
    return records / seconds if seconds > 0 else float("nan")


def run(records: int = RECORDS) -> list[Check]:
    """Time the discard target and target-incidentio (dry run, then HTTP) on the same input."""
    data, empty = catalog_input(records), catalog_input(0)
    with SandboxProcess() as sandbox:
        http = {
            "api_key": "sandbox-api-key",
            "base_url": sandbox.url,
            "operation": "http",
            "api_url": ECHO_PATH,
            "rate_limit_per_minute": NO_CLIENT_LIMIT,
            "progress_interval": 3600,
        }
        cases: list[tuple[str, dict[str, t.Any], list[str] | None]] = [
            ("discard target (SDK ceiling)", {}, DISCARD_COMMAND),
            ("target-incidentio, http, dry_run", {**http, "dry_run": True}, None),
            ("target-incidentio, http -> sandbox 0 ms", http, None),
        ]
        figures: list[tuple[str, float, float, float, float]] = []
        for label, config, command in cases:
            sandbox_cpu = sandbox.cpu_seconds()
            full = run_target(config, data, command=command).check()
            sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
            start = run_target(config, empty, command=command).check()
            net = full.wall_seconds - start.wall_seconds
            figures.append((label, full.wall_seconds, net, full.cpu_seconds, sandbox_cpu))
    base_full, base_net = figures[0][1], figures[0][2]
    rows = [
        [
            "target",
            "wall s",
            "startup-net s",
            "records/s",
            "net records/s",
            "ratio",
            "net",
            "target CPU s",
            "sandbox CPU s",
        ]
    ]
    checks = []
    for label, wall, net, cpu, sandbox_cpu in figures:
        ratio, net_ratio = base_full / wall, base_net / net
        rows.append(
            [
                label,
                f"{wall:.2f}",
                f"{net:.2f}",
                f"{_rate(records, wall):.0f}",
                f"{_rate(records, net):.0f}",
                f"{ratio:.3f}",
                f"{net_ratio:.3f}",
                f"{cpu:.2f}",
                f"{sandbox_cpu:.2f}",
            ]
        )
        if label.startswith("target-incidentio"):
            checks.append(
                Check(
                    f"overhead: {label.removeprefix('target-incidentio, ')} / discard",
                    ratio,
                    f"x (net of startup {net_ratio:.3f} x)",
                    "none set",
                    None,
                )
            )
    print_table(f"Overhead: {records} records, records/s relative to the discard target", rows)
    return checks


def main() -> None:
    """Command line: `python benchmarks/overhead.py [--records N]`."""
    command_line(__doc__, run, records=RECORDS)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == DISCARD_MARKER:
        del sys.argv[1]
        DiscardTarget.cli()
    else:
        main()
