"""Shared helpers: a sandbox in its own process, Singer input, the target as a subprocess.

Everything runs on 127.0.0.1. The sandbox and the target each get their own process so that
neither one's CPU (or GIL) time shows up in the other's figures, and so that the target is
measured exactly as Meltano runs it: `python -m target_incidentio --config cfg.json` with the
Singer messages on stdin.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from typing_extensions import Self

API_KEY = "sandbox-api-key"  # the sandbox's default key
ALERT_SOURCE_ID = "01SANDBOXALERTSOURCE000000"  # the sandbox's default alert source
ALERT_SOURCE_TOKEN = "sandbox-alert-token"  # noqa: S105 - the sandbox's published test token
CATALOG_TYPE_ID = "01BENCHCATALOGTYPE00000000"
STREAM = "services"
ECHO_PATH = "/_sandbox/echo/bench"


class BenchmarkError(RuntimeError):
    """A run went wrong in a way that makes its figures meaningless."""


class SandboxProcess:
    """`incidentio-sandbox` in a child process on a free port; journal and state over HTTP.

    A child process keeps the server's threads off the benchmark's (and target's) GIL, and a
    100k-entry journal out of every measured process.
    """

    def __init__(self, *args: str) -> None:
        self._args = args
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="bench-sandbox-")
        self.url = ""

    def start(self, timeout: float = 30) -> Self:
        """Start on port 0 and wait for the port file the CLI writes once it listens."""
        port_file = Path(self._dir.name) / "port"
        command = [sys.executable, "-m", "incidentio_sandbox", "--port", "0"]
        command += ["--port-file", str(port_file), *self._args]
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self._proc.poll() is not None:
                error = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise BenchmarkError(f"sandbox exited at start: {error}")
            if time.monotonic() > deadline:
                raise BenchmarkError("sandbox did not start in time")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        return self

    def stop(self) -> None:
        """SIGTERM (the CLI's clean exit), then kill if it lingers."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def cpu_seconds(self) -> float:
        """User + system time the sandbox process has used so far (Linux /proc)."""
        if self._proc is None:
            return 0.0
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def _get(self, path: str) -> t.Any:  # noqa: ANN401 - JSON
        with urllib.request.urlopen(f"{self.url}{path}", timeout=120) as response:  # noqa: S310
            return json.loads(response.read())

    def journal(self) -> list[dict[str, t.Any]]:
        """Every journaled request, oldest first."""
        entries: list[dict[str, t.Any]] = self._get("/_sandbox/journal")["entries"]
        return entries

    def state(self) -> dict[str, t.Any]:
        """What the sandbox holds (incidents, alerts, catalog entries, ...) and its counts."""
        state: dict[str, t.Any] = self._get("/_sandbox/state")
        return state

    def counts(self) -> dict[str, int]:
        """What the sandbox holds, by kind (catalog_entries, incidents, ...)."""
        counts: dict[str, int] = self._get("/_sandbox/state")["counts"]
        return counts

    def reset(self) -> None:
        """Forget state, journal and buckets between two runs against one sandbox."""
        request = urllib.request.Request(f"{self.url}/_sandbox/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            pass


def catalog_input(records: int, *, stream: str = STREAM, prefix: str = "svc") -> bytes:
    """SCHEMA, `records` distinct catalog rows (distinct keys: no ordering waits), one STATE.

    Runs that share a sandbox use different `prefix`es, so no run updates another's entries.
    """
    schema = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        },
        "key_properties": ["id"],
    }
    lines = [json.dumps(schema)]
    lines.extend(
        json.dumps(
            {
                "type": "RECORD",
                "stream": stream,
                "record": {"id": f"{prefix}-{i:07d}", "name": f"Service {i}"},
            }
        )
        for i in range(records)
    )
    lines.append(json.dumps({"type": "STATE", "value": {"bookmark": records}}))
    return ("\n".join(lines) + "\n").encode()


def alert_input(events: int, *, stream: str = "alerts") -> bytes:
    """SCHEMA, `events` firing alerts with distinct ids (so distinct deduplication keys), STATE."""
    schema = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
        },
        "key_properties": ["id"],
    }
    lines = [json.dumps(schema)]
    lines.extend(
        json.dumps(
            {"type": "RECORD", "stream": stream, "record": {"id": f"a{i}", "title": f"Alert {i}"}}
        )
        for i in range(events)
    )
    lines.append(json.dumps({"type": "STATE", "value": {"bookmark": events}}))
    return ("\n".join(lines) + "\n").encode()


def alert_config(base_url: str, **overrides: t.Any) -> dict[str, t.Any]:  # noqa: ANN401
    """Target settings for the `alert_event` operation on the sandbox's default alert source."""
    config: dict[str, t.Any] = {
        "base_url": base_url,
        "operation": "alert_event",
        "alert_source_config_id": ALERT_SOURCE_ID,
        "alert_source_token": ALERT_SOURCE_TOKEN,
        "progress_interval": 3600,
    }
    config.update(overrides)
    return config


def catalog_config(base_url: str, **overrides: t.Any) -> dict[str, t.Any]:  # noqa: ANN401
    """Target settings for the `catalog_entry` operation against `base_url`."""
    config: dict[str, t.Any] = {
        "api_key": API_KEY,
        "base_url": base_url,
        "operation": "catalog_entry",
        "catalog_type_id": CATALOG_TYPE_ID,
        "progress_interval": 3600,
    }
    config.update(overrides)
    return config


@dataclass
class TargetRun:
    """One run of a target process."""

    wall_seconds: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float  # user + system time of that process
    max_rss_kib: int | None = None  # its own peak resident set (KiB), when asked for

    def check(self) -> Self:
        """Raise with the tail of stderr if the run failed."""
        if self.returncode != 0:
            tail = "\n".join(self.stderr.splitlines()[-20:])
            raise BenchmarkError(f"target exited {self.returncode}:\n{tail}")
        return self


def run_target(
    config: dict[str, t.Any],
    data: bytes,
    *,
    command: list[str] | None = None,
    timeout: float = 900,
    measure_rss: bool = False,
) -> TargetRun:
    """Run a target like Meltano does and time it from spawn to exit.

    With `measure_rss`, the target is started by `RSS_WRAPPER` and `max_rss_kib` is its peak.
    The target's own `ru_maxrss` cannot be used directly: Python spawns children with vfork, and
    Linux folds the high-water RSS of the memory the child borrowed at exec (this benchmark
    process, holding the 100k-record input) into the child's `ru_maxrss`. Under the small
    wrapper, the floor is the wrapper's own ~10 MiB instead, and each run is its own process.
    """
    with tempfile.TemporaryDirectory(prefix="bench-target-") as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        argv = command or [sys.executable, "-m", "target_incidentio"]
        rss_path = Path(tmp) / "maxrss"
        if measure_rss:
            argv = [sys.executable, "-c", RSS_WRAPPER, str(rss_path), *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*argv, "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        out: dict[str, bytes] = {}
        threads = [
            threading.Thread(target=_feed, args=(proc.stdin, data)),
            threading.Thread(target=_drain, args=(proc.stdout, out, "stdout")),
            threading.Thread(target=_drain, args=(proc.stderr, out, "stderr")),
        ]
        for thread in threads:
            thread.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        for thread in threads:
            thread.join()
        rss = int(rss_path.read_text()) if measure_rss and rss_path.exists() else None
    return TargetRun(
        wall_seconds=wall,
        returncode=proc.returncode,
        stdout=out.get("stdout", b"").decode(errors="replace"),
        stderr=out.get("stderr", b"").decode(errors="replace"),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=rss,
    )


# argv: report file, then the command. Runs it on inherited stdio, writes its peak RSS (KiB).
RSS_WRAPPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _feed(pipe: t.IO[bytes] | None, data: bytes) -> None:
    if pipe is None:
        return
    # A target that dies early breaks the pipe; its exit code tells why.
    with contextlib.suppress(BrokenPipeError):
        pipe.write(data)
    with contextlib.suppress(BrokenPipeError):
        pipe.close()


def _drain(pipe: t.IO[bytes] | None, out: dict[str, bytes], name: str) -> None:
    if pipe is not None:
        out[name] = pipe.read()


def timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 `received_at` (`...Z`)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def accepted_times(journal: list[dict[str, t.Any]], path_prefix: str) -> list[float]:
    """Arrival times (`received_at`) of the 2xx answers to requests under `path_prefix`."""
    return [
        timestamp(e["received_at"])
        for e in journal
        if e["path"].startswith(path_prefix) and e["status"] is not None and e["status"] < 300
    ]


@dataclass
class Check:
    """One measured figure against its expectation; `passed` None means reported only."""

    name: str
    value: float
    unit: str
    expectation: str
    passed: bool | None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """PASS, FAIL or INFO."""
        return {True: "PASS", False: "FAIL", None: "INFO"}[self.passed]


def print_table(title: str, rows: list[list[str]]) -> None:
    """A plain fixed-width table."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def print_checks(checks: list[Check]) -> None:
    """The verdict lines every benchmark ends with."""
    rows = [["check", "measured", "expected", "verdict"]]
    rows += [[c.name, f"{c.value:.3f} {c.unit}".strip(), c.expectation, c.verdict] for c in checks]
    print_table("Checks", rows)


def command_line(doc: str | None, run: Callable[..., list[Check]], **counts: int) -> None:
    """A benchmark's command line: `--<name> N` for each count (its default given), handed to
    `run` in order; the checks printed. The description is the module docstring's first line.
    """
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    for name, default in counts.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    print_checks(run(*(getattr(args, name) for name in counts)))


# A sync benchmark's day, as the issue sizes it: 1% of the rows changed, 0.2% new, 0.2% gone.
CHANGED, NEW, GONE = 0.01, 0.002, 0.002


def sync_day(
    rows: int, row: Callable[..., dict[str, t.Any]]
) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """The base rows and the day's (changed, new and gone by the shares above).

    `row(i)` makes row `i`; `row(i, changed=True)` the same row as it reads once changed.
    """
    changed, new, gone = (max(1, round(rows * share)) for share in (CHANGED, NEW, GONE))
    base = [row(i) for i in range(rows)]
    step = (rows - gone) // changed
    renamed = {gone + k * step for k in range(changed)}
    today = [row(i, changed=i in renamed) for i in range(gone, rows)]
    today += [row(rows + i) for i in range(new)]
    return base, today
