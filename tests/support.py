"""Run the target the way Meltano does, and read what it wrote."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import typing as t
from contextlib import redirect_stdout
from dataclasses import dataclass

from incidentio_sandbox import Sandbox
from target_incidentio.target import TargetIncidentIO

# A class name as libraries print them in exception text: `_WatchedHTTPSPool(`, `HTTPSConnection`,
# `NewConnectionError`, `<… object at 0x…>`. No message of the target may contain one.
CLASS_NAME = re.compile(r"(?<!\w)_[A-Z]\w+|\b[A-Z]\w*(Error|Pool|Connection)\b|object at 0x")

if t.TYPE_CHECKING:
    from pathlib import Path


def schema(
    stream: str, properties: dict[str, t.Any], key_properties: list[str]
) -> dict[str, t.Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": key_properties,
    }


def record(stream: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"type": "RECORD", "stream": stream, "record": data}


def state(value: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"type": "STATE", "value": value}


def singer_lines(messages: t.Iterable[dict[str, t.Any]]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


@dataclass
class Run:
    stdout: str
    stderr: str
    returncode: int

    @property
    def states(self) -> list[t.Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_in_process(config: dict[str, t.Any], messages: t.Iterable[dict[str, t.Any]]) -> list[t.Any]:
    """Run the target in this process; returns the state lines it wrote to stdout."""
    out = io.StringIO()
    with redirect_stdout(out), TargetIncidentIO(config=config, parse_env_config=False) as target:
        target.listen(io.StringIO(singer_lines(messages)))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def run_cli(
    config: dict[str, t.Any] | None,
    messages: t.Iterable[dict[str, t.Any]] | str,
    tmp_path: Path,
    *,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    args: t.Sequence[str] = (),
) -> Run:
    """Run `target-incidentio --config … [args]` as Meltano would: a process on a pipe.

    With `config=None` the settings come from the environment (`--config ENV`).
    """
    where = "ENV"
    if config is not None:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config))
        where = str(config_path)
    data = messages if isinstance(messages, str) else singer_lines(messages)
    proc = subprocess.run(
        [sys.executable, "-m", "target_incidentio", "--config", where, *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_clean_env(), **(env or {})},
        check=False,
    )
    return Run(proc.stdout, proc.stderr, proc.returncode)


def about(fmt: str) -> str:
    """`target-incidentio --about --format <fmt>`, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "target_incidentio", "--about", "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def sandbox_config(
    sb_url: str, tmp_path: Path, api_key: str, operation: str, **extra: t.Any
) -> dict[str, t.Any]:
    """`operation` against a sandbox at `sb_url`, with a response log in `tmp_path`."""
    return {
        "api_key": api_key,
        "base_url": sb_url,
        "operation": operation,
        "response_log_path": str(tmp_path / "responses.jsonl"),
        **extra,
    }


def http_config(base_url: str, tmp_path: Path, api_key: str, **extra: t.Any) -> dict[str, t.Any]:
    """The `http` operation to `/v2/items/{id}` on a local server, with a response log."""
    return {
        "api_key": api_key,
        "base_url": base_url.rstrip("/"),
        "operation": "http",
        "api_url": "/v2/items/{id}",
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "progress_interval": 60,
        **extra,
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}


def read_jsonl(path: Path) -> list[dict[str, t.Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class StaticLists:
    """incident.io's lists as a builder test gives them: no server, and every read counted.

    `lists` maps a list name (or `(name, owner)` for options and catalog entries) to its items.
    """

    def __init__(self, lists: dict[t.Any, list[dict[str, t.Any]]]) -> None:
        self.lists = {key: list(items) for key, items in lists.items()}
        self.reads: list[t.Any] = []
        self.created: list[tuple[str, str]] = []

    def items(self, name: str, owner: str | None = None) -> list[dict[str, t.Any]]:
        key = name if owner is None else (name, owner)
        self.reads.append(key)
        return self.lists.get(key, [])

    def create_option(self, custom_field_id: str, value: str) -> dict[str, t.Any]:
        self.created.append((custom_field_id, value))
        option = {"id": f"01NEWOPTION{len(self.created):015d}", "value": value}
        self.lists.setdefault(("custom_field_options", custom_field_id), []).append(option)
        return option


@dataclass(frozen=True)
class SandboxAccount:
    """A test file's own sandbox credentials (its own, so that a leak names the file), the
    sandbox that takes them, and the config that points the target at it."""

    api_key: str
    token: str
    source: str

    def sandbox(self) -> Sandbox:
        """A sandbox taking the key, with one HTTP alert source and its token."""
        return Sandbox(api_key=self.api_key, alert_sources={self.source: self.token})

    def config(self, base_url: str, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
        """Alert events to that sandbox, responses logged under `tmp_path`; `extra` on top."""
        return {
            "api_key": self.api_key,
            "alert_source_token": self.token,
            "alert_source_config_id": self.source,
            "base_url": base_url,
            "response_log_path": str(tmp_path / "responses.jsonl"),
            "progress_interval": 60,
            **extra,
        }
