"""A file setting that names the target's own stdout is refused: stdout carries only STATE.

Meltano stores every stdout line of a target as state, so `response_log_path: /dev/stdout`
would mix response records into it. Run as Meltano runs the target: a process on a pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import http_config, record, run_cli, schema, state

pytestmark = pytest.mark.slow

MESSAGES = [
    schema("items", {"id": {"type": "integer"}}, ["id"]),
    record("items", {"id": 1}),
    state({"items": 1}),
]


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("response_log_path", "/dev/stdout"),
        ("response_log_path", "/proc/self/fd/1"),
        ("dead_letter_path", "/dev/fd/1"),
    ],
)
def test_stdout_by_name_is_refused_naming_the_setting(httpserver, tmp_path, setting, path):
    config = http_config(httpserver.url_for("/"), tmp_path, "ik-out-1", **{setting: path})
    run = run_cli(config, MESSAGES, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert f"Setting `{setting}`: `{path}` is the target's standard output" in run.stderr
    assert httpserver.log == []


def test_the_file_stdout_is_redirected_to_is_refused(httpserver, tmp_path):
    out = tmp_path / "state.jsonl"
    out.touch()
    config = http_config(httpserver.url_for("/"), tmp_path, "ik-out-2")
    config["response_log_path"] = str(out)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    with out.open("w") as stdout:
        proc = subprocess.run(
            [sys.executable, "-m", "target_incidentio", "--config", str(config_path)],
            input="".join(json.dumps(m) + "\n" for m in MESSAGES),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 1
    assert "Setting `response_log_path`" in proc.stderr
    assert out.read_text() == ""
    assert httpserver.log == []
