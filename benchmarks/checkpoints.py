"""How much does a SIGKILL at a random moment make the next run replay?

A 2,000-record catalog stream (the tap emits STATE every 20 records) goes to a sandbox with
incident.io's real API-key bucket (1200, refilling 20/s) and 50 ms latency; the target runs
with its defaults (`state_interval` 5 s). Each trial kills it with SIGKILL at a random moment
of its run; Meltano would then rerun from the last STATE the target printed, so the records
it replays are those incident.io had already confirmed past that state. Before checkpoints
the target printed STATE only when the SDK drained (end of input or every 5 minutes), so a
kill replayed every record confirmed so far: both figures come from the same trial.

Expected: the worst replay stays within what the run confirms in one `state_interval`, plus
one state's worth of records and the calls in flight.
"""

from __future__ import annotations

import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import (
    API_KEY,
    CATALOG_TYPE_ID,
    BenchmarkError,
    Check,
    SandboxProcess,
    command_line,
    print_table,
)

RECORDS = 2000
EVERY = 20  # records per STATE from the tap
TRIALS = 5
STATE_INTERVAL = 5.0  # the target's default
CONCURRENCY = 4  # the target's default
LATENCY_MS = 50


def _input(records: int) -> list[str]:
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "services",
                "schema": {"properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
                "key_properties": ["id"],
            }
        )
    ]
    for i in range(records):
        row = {"id": f"svc-{i:07d}", "name": f"Service {i}"}
        lines.append(json.dumps({"type": "RECORD", "stream": "services", "record": row}))
        if (i + 1) % EVERY == 0:
            lines.append(json.dumps({"type": "STATE", "value": {"position": i}}))
    return lines


def _trial(
    sandbox: SandboxProcess, lines: list[str], kill_after: float | None
) -> tuple[int, int, float]:
    """Kill after `kill_after` s (None: let it finish); return (replayed, confirmed, per s)."""
    sandbox.reset()
    config = {
        "api_key": API_KEY,
        "base_url": sandbox.url,
        "operation": "catalog_entry",
        "catalog_type_id": CATALOG_TYPE_ID,
        "progress_interval": 3600,
    }
    with tempfile.TemporaryDirectory(prefix="bench-checkpoints-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        proc = subprocess.Popen(
            [sys.executable, "-m", "target_incidentio", "--config", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        states: list[int] = []
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:
            raise BenchmarkError("the target's pipes did not open")

        def read() -> None:
            states.extend(json.loads(line)["position"] for line in stdout if line.strip())

        reader = threading.Thread(target=read)
        reader.start()
        stdin.write("\n".join(lines) + "\n")
        stdin.flush()
        started = time.monotonic()
        if kill_after is None:
            stdin.close()
        else:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        elapsed = time.monotonic() - started
        reader.join()
    confirmed = {
        int(e["body"]["external_id"].removeprefix("svc-"))
        for e in sandbox.journal()
        if e["path"] == "/v3/catalog_entries" and e["status"] in (200, 201)
    }
    last = states[-1] if states else -1
    replayed = sum(1 for i in confirmed if i > last)
    return replayed, len(confirmed), len(confirmed) / elapsed


def run(records: int = RECORDS, trials: int = TRIALS, seed: int = 7) -> list[Check]:
    """`trials` kills at random moments of a `records`-record run."""
    lines = _input(records)
    rng = random.Random(seed)
    results = []
    args = ["--rate-limit", "--latency-ms", str(LATENCY_MS)]
    with SandboxProcess(*args) as sandbox:
        # One whole run says how long a run takes; the kills fall anywhere inside it.
        _, _, rate = _trial(sandbox, lines, None)
        duration = records / rate
        print(f"a whole run: {duration:.1f} s ({rate:.1f} records/s)")
        for _ in range(trials):
            kill_after = rng.uniform(0.05, 0.95) * duration
            results.append((kill_after, *_trial(sandbox, lines, kill_after)))
    rows = [["kill after", "confirmed", "replayed now", "replayed before checkpoints", "rate"]]
    rows += [[f"{k:.1f} s", str(c), str(r), str(c), f"{rate:.1f}/s"] for k, r, c, rate in results]
    print_table(f"{records} records, SIGKILL at a random moment ({trials} trials)", rows)
    replayed = [r for _, r, _, _ in results]
    before = [c for _, _, c, _ in results]
    worst_allowed = max(rate * STATE_INTERVAL + EVERY + CONCURRENCY for *_, rate in results)
    return [
        Check("replayed records, median", statistics.median(replayed), "", "reported", None),
        Check(
            "replayed records, worst",
            max(replayed),
            "",
            f"<= {worst_allowed:.0f} (one state_interval of calls + one state + in flight)",
            max(replayed) <= worst_allowed,
        ),
        Check(
            "median replay before checkpoints",
            statistics.median(before),
            "",
            "reported (every record confirmed before the kill)",
            None,
        ),
    ]


def main() -> None:
    """Run the trials and print the figures."""
    command_line(__doc__, run, records=RECORDS, trials=TRIALS)


if __name__ == "__main__":
    main()
