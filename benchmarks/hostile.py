"""Does every run end, in bounded memory and time, whatever the server does?

Three hostile loopback servers (`tests/hostile_server.py`, raw sockets in this process):

1. **Endless body.** Every call is answered `200` with a chunked body that never ends. The
   target's peak RSS is compared with the same run against a server that answers `{}` at once.
   Before the bound, the target read such a body whole (11 GB in 40 s).
2. **Dripping server.** The status line, then one header byte a second, forever. With
   `request_timeout: 5` and `max_retries: 0` the run must end in about 5 s (it never did).
3. **SIGTERM while a call hangs** on that server with `max_retries: 8`: the run must end within
   about `request_timeout` of the signal, with STATE for the records confirmed before.

Expected: peak RSS ratio (endless / well-behaved) < 1.5; run end <= request_timeout + 3 s;
end after SIGTERM <= request_timeout + 3 s.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from _common import API_KEY, BenchmarkError, Check, command_line, print_table, run_target

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from hostile_server import (  # the tests' own hostile servers
    HostileServer,
    answer,
    drip_headers,
    endless_body,
)

TIMEOUT = 5.0
SLACK = 3.0
EXPECTED_MAX_RSS_RATIO = 1.5


def _config(base_url: str, **extra: t.Any) -> dict[str, t.Any]:  # noqa: ANN401
    return {
        "api_key": API_KEY,
        "base_url": base_url,
        "operation": "http",
        "api_url": "/v2/things",
        "request_timeout": TIMEOUT,
        "max_retries": 0,
        "on_error": "continue",
        "progress_interval": 3600,
        **extra,
    }


def _input(records: int) -> bytes:
    lines = [
        {
            "type": "SCHEMA",
            "stream": "things",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "key_properties": ["id"],
        },
        *({"type": "RECORD", "stream": "things", "record": {"id": i}} for i in range(records)),
        {"type": "STATE", "value": {"through": records - 1}},
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _memory(records: int) -> tuple[float, float, float]:
    """Peak RSS (MiB) against a well-behaved and an endless server, and the endless run's wall."""
    peaks = []
    wall = 0.0
    for behaviour in (answer(200), endless_body(200)):
        with HostileServer(behaviour) as server:
            run = run_target(_config(server.url), _input(records), measure_rss=True).check()
        peaks.append((run.max_rss_kib or 0) / 1024)
        wall = run.wall_seconds
    return peaks[0], peaks[1], wall


def _dripping_run() -> float:
    """Seconds a one-record run takes against a server dripping its headers."""
    with HostileServer(drip_headers(1.0)) as server:
        run = run_target(_config(server.url), _input(1), timeout=120).check()
    return run.wall_seconds


def _sigterm_run() -> tuple[float, str]:
    """Seconds from SIGTERM to exit while a call hangs; the last STATE line written."""
    hang, ok = drip_headers(1.0), answer(200)

    def behave(conn: t.Any, seen: t.Any, stop: t.Any) -> None:  # noqa: ANN401
        (hang if b'"id": 1' in seen.body else ok)(conn, seen, stop)

    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp, HostileServer(behave) as srv:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(_config(srv.url, max_retries=8, max_concurrency=1)))
        lines = _input(1).decode().splitlines()
        first = [*lines[:2], json.dumps({"type": "STATE", "value": {"through": 0}})]
        proc = subprocess.Popen(
            [sys.executable, "-m", "target_incidentio", "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if proc.stdin is None:
            raise BenchmarkError("no pipe to the target")
        proc.stdin.write("\n".join(first) + "\n")
        proc.stdin.write(json.dumps({"type": "RECORD", "stream": "things", "record": {"id": 1}}))
        proc.stdin.write("\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while len(srv.seen) < 2 and time.monotonic() < deadline:  # both calls arrived
            time.sleep(0.05)
        signalled = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=120)
        ended = time.perf_counter() - signalled
    states = [line for line in stdout.splitlines() if line.strip()]
    return ended, states[-1] if states else "(none)"


def run(records: int = 200) -> list[Check]:
    """All three runs, one after another."""
    calm, endless, endless_wall = _memory(records)
    dripping = _dripping_run()
    after_sigterm, last_state = _sigterm_run()
    print_table(
        "Hostile servers: peak RSS of the target process, and time for a run to end",
        [
            ["server", "measured", "note"],
            ["answers {} at once", f"{calm:.1f} MiB", f"{records} calls"],
            ["endless 200 body", f"{endless:.1f} MiB", f"{records} calls in {endless_wall:.1f} s"],
            ["drips 1 byte/s", f"{dripping:.1f} s", f"request_timeout {TIMEOUT:g} s, 1 call"],
            ["SIGTERM while it drips", f"{after_sigterm:.1f} s", f"last STATE {last_state}"],
        ],
    )
    bound = TIMEOUT + SLACK
    ratio = endless / calm
    return [
        Check(
            "hostile: peak RSS, endless body / calm",
            ratio,
            f"x ({endless:.1f} / {calm:.1f} MiB)",
            f"< {EXPECTED_MAX_RSS_RATIO}",
            ratio < EXPECTED_MAX_RSS_RATIO,
        ),
        Check(
            "hostile: run end, server drips 1 byte/s",
            dripping,
            "s",
            f"<= {bound:g} s",
            dripping <= bound,
        ),
        Check(
            "hostile: end after SIGTERM, call hanging",
            after_sigterm,
            "s",
            f"<= {bound:g} s",
            after_sigterm <= bound and last_state == '{"through":0}',
        ),
    ]


def main() -> None:
    """Command line: `python benchmarks/hostile.py [--records N]`."""
    command_line(__doc__, run, records=200)


if __name__ == "__main__":
    main()
