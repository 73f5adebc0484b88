"""Shared pieces of the reliability tests: secrets, a tap model, runners and the accounting."""

from __future__ import annotations

import collections
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from contextlib import redirect_stdout
from dataclasses import dataclass, field

from support import read_jsonl, record, schema, singer_lines, state

from target_incidentio.target import TargetIncidentIO

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from incidentio_sandbox import Sandbox

# Distinctive values: if any of them shows up in an output, a secret leaked.
API_KEY = "ik-SENTINEL-apikey-5Hq8wZ1x"
ALERT_TOKEN = "as-SENTINEL-alerttoken-R2d7Kp"
HOOK_TOKEN = "hook-SENTINEL-webhook-9Lm3Qv"
SECRETS = (API_KEY, ALERT_TOKEN, HOOK_TOKEN)
SOURCE = "01HRELIABILITYSOURCE000000"

STREAM = "tickets"
TICKET_SCHEMA = {
    "ticket_id": {"type": "integer"},
    "name": {"type": "string"},
    "title": {"type": "string"},
    "summary": {"type": "string"},
}


def base_config(sb: Sandbox | str, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    """Every secret set, fast retries, no client-side pacing, everything logged."""
    return {
        "api_key": API_KEY,
        "alert_source_token": ALERT_TOKEN,
        "alert_source_config_id": SOURCE,
        "response_webhook_headers": {"X-Hook-Token": HOOK_TOKEN},
        "base_url": sb if isinstance(sb, str) else sb.url,
        "operation": "incident",
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "on_error": "continue",
        "max_retries": 3,
        "max_retry_wait": 0.05,
        "request_timeout": 5,
        "max_concurrency": 4,
        "rate_limit_per_minute": 10**7,
        "alert_source_rate_limit_per_minute": 10**7,
        "progress_interval": 60,
        **extra,
    }


def ticket(i: int, **extra: t.Any) -> dict[str, t.Any]:
    """Record `i`: its name (incidents) and title (alerts) identify it in the sandbox."""
    return {"ticket_id": i, "name": f"ticket-{i}", "title": f"ticket-{i}", **extra}


def key_of(i: int) -> str:
    """How the target names record `i` (key property `ticket_id`)."""
    return f"ticket_id={i}"


def tap(
    ids: Iterable[int], *, every: int = 0, extra: Callable[[int], dict[str, t.Any]] | None = None
) -> Iterator[dict[str, t.Any]]:
    """A tap: SCHEMA, then records, with a STATE holding the position every `every` records."""
    yield schema(STREAM, TICKET_SCHEMA, ["ticket_id"])
    last = None
    for n, i in enumerate(ids, start=1):
        yield record(STREAM, ticket(i, **(extra(i) if extra else {})))
        last = i
        if every and n % every == 0:
            yield state({"bookmarks": {STREAM: {"ticket_id": i}}})
    if last is not None:
        yield state({"bookmarks": {STREAM: {"ticket_id": last}}})


def position(state_value: dict[str, t.Any]) -> int:
    """The tap position a state line holds."""
    return int(state_value["bookmarks"][STREAM]["ticket_id"])


@dataclass
class Outputs:
    """Everything a test's runs printed or raised, for the secret scan."""

    texts: list[str] = field(default_factory=list)

    def add(self, *texts: str | None) -> None:
        self.texts.extend(text for text in texts if text)


def run_inline(
    config: dict[str, t.Any], messages: Iterable[dict[str, t.Any]], outputs: Outputs
) -> tuple[list[t.Any], BaseException | None]:
    """Run the target in this process; return its state lines and what it raised, if anything."""
    out = io.StringIO()
    error: BaseException | None = None
    try:
        with (
            redirect_stdout(out),
            TargetIncidentIO(config=config, parse_env_config=False) as target,
        ):
            target.listen(io.StringIO(singer_lines(messages)))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the test inspects it
        error = exc
        outputs.add(repr(exc), str(exc))
    outputs.add(out.getvalue())
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return states, error


# Accounting ------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the target reported: one final response record per record key."""

    delivered: set[str]
    failed: dict[str, dict[str, t.Any]]  # key -> response record
    dead: dict[str, dict[str, t.Any]]  # key -> dead letter


def reported(tmp_path: Path) -> Ledger:
    """Read the response log and dead letters; every record key must appear once."""
    responses = read_jsonl(tmp_path / "responses.jsonl")
    seen = collections.Counter(k for r in responses for k in r["record_keys"])
    twice = {k: n for k, n in seen.items() if n > 1}
    assert not twice, f"records with more than one final response record: {twice}"
    delivered = {k for r in responses if r["ok"] for k in r["record_keys"]}
    failed = {k: r for r in responses if not r["ok"] for k in r["record_keys"]}
    dead = {d["key"]: d for d in read_jsonl(tmp_path / "dead.jsonl")}
    return Ledger(delivered, failed, dead)


def assert_accounted(ids: Iterable[int], ledger: Ledger, *, dead_letters: bool = True) -> None:
    """Records in = delivered + reported failed, by key; each failure has its reason."""
    keys = {key_of(i) for i in ids}
    assert ledger.delivered.isdisjoint(ledger.failed)
    missing = keys - ledger.delivered - set(ledger.failed)
    assert not missing, f"records neither delivered nor reported failed: {sorted(missing)}"
    assert ledger.delivered | set(ledger.failed) == keys
    for response in ledger.failed.values():
        assert response["status"] in {"failed", "rejected", "invalid"}, response
        assert response["error"], response
        assert response["error"]["message"] or response["status_code"], response
    if dead_letters:
        assert set(ledger.dead) == set(ledger.failed)
        for key, letter in ledger.dead.items():
            assert letter["stream"] == STREAM
            assert letter["record"]["ticket_id"] == int(key.split("=")[1])
            assert letter["error"], letter


def settled(sb: Sandbox) -> list[dict[str, t.Any]]:
    """The journal once every request the sandbox is still working on (e.g. `slow`) is done."""
    wait_until(lambda: all(e["outcome"] != "pending" for e in sb.journal()))
    return sb.journal()


def sandbox_counts(sb: Sandbox, operation: str) -> collections.Counter[str]:
    """How many objects the sandbox holds per record: incidents by name, alerts by title."""
    settled(sb)
    current = sb.state()
    if operation == "incident":
        return collections.Counter(i["name"] for i in current["incidents"])
    if operation == "alert_event":
        return collections.Counter(a["title"] for a in current["alerts"])
    msg = f"no sandbox view for {operation}"
    raise ValueError(msg)


def assert_exactly_once(
    sb: Sandbox, operation: str, ids: Iterable[int], ledger: Ledger
) -> collections.Counter[str]:
    """Delivered records exist once in the sandbox; failed ones at most once; nothing else."""
    counts = sandbox_counts(sb, operation)
    dupes = {name: n for name, n in counts.items() if n > 1}
    assert not dupes, f"duplicates in the sandbox: {dupes}"
    names = {f"ticket-{i}": key_of(i) for i in ids}
    assert set(counts) <= set(names), set(counts) - set(names)
    for name, key in names.items():
        if key in ledger.delivered:
            assert counts[name] == 1, f"{key} reported delivered but not in the sandbox"
    return counts


# Subprocess runs ---------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment without any TARGET_INCIDENTIO_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}


# The real CLI, which sends itself SIGTERM from inside the log handler (its lock held) as the
# SDK logs its `nth` "sink is full ... Draining" line: where a signal lands when a batching
# stream logs every batch.
SIGNAL_WHILE_LOGGING = """
import logging, os, signal, sys
from target_incidentio.target import TargetIncidentIO
nth, seen, emit = int(sys.argv.pop(1)), [0], logging.StreamHandler.emit
def hooked(self, record):
    emit(self, record)
    if "Draining" in self.format(record):
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGTERM)
logging.StreamHandler.emit = hooked
TargetIncidentIO.cli()
"""


class LiveRun:
    """The target as a subprocess fed from a pipe; stdout lines are collected as they come."""

    def __init__(
        self,
        config_path: Path,
        messages: Iterable[dict[str, t.Any]],
        *,
        on_state: Callable[[dict[str, t.Any]], None] | None = None,
        argv: list[str] | None = None,
    ) -> None:
        if argv is None:
            argv = [sys.executable, "-m", "target_incidentio"]
        self.proc = subprocess.Popen(
            [*argv, "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        self.states: list[dict[str, t.Any]] = []
        self.stdout_lines: list[str] = []
        self.stderr = ""
        self._on_state = on_state
        self._messages = messages
        self._threads = [
            threading.Thread(target=self._feed, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        try:
            for message in self._messages:
                self.proc.stdin.write(json.dumps(message) + "\n")
                self.proc.stdin.flush()  # a tap that pauses has sent what came before
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the target was stopped mid-input, as intended

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            if line.strip():
                value = json.loads(line)
                if self._on_state is not None:
                    self._on_state(value)
                self.states.append(value)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def signal(self, signum: int) -> None:
        """Send `signum` to the target."""
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        """Wait for exit (killing on timeout) and for the output readers."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            raise
        for thread in self._threads[1:]:
            thread.join(timeout=10)
        return code


def wait_until(predicate: Callable[[], bool], timeout: float = 30, step: float = 0.01) -> None:
    """Poll until `predicate()`; fail the test if it never holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            msg = "condition not reached in time"
            raise AssertionError(msg)
        time.sleep(step)
