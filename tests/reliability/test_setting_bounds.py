"""Issue 28 item 4: every numeric setting has a documented range, checked at start.

A value outside it fails before any input is read, with a message naming the setting and the
range; nothing is sent.
"""

from __future__ import annotations

import json

import pytest
from reliability_helpers import base_config, tap
from support import run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_concurrency", 1_000_000_000),
        ("rate_limit_per_minute", 1e-9),
        ("request_timeout", "nan"),
        ("request_timeout", "inf"),
    ],
)
def test_a_value_out_of_range_fails_at_start_naming_the_setting(
    sandbox, tmp_path, outputs, setting, value
):
    config = base_config(sandbox, tmp_path)
    env = {}
    if isinstance(value, str):  # as Meltano passes it: an environment variable
        config.pop(setting)
        env[f"TARGET_INCIDENTIO_{setting.upper()}"] = value
        config_path = tmp_path / "config-env.json"
        config_path.write_text(json.dumps(config))
        run = run_cli(None, tap(range(3)), tmp_path, env={**env, **_as_env(config)}, timeout=60)
    else:
        config[setting] = value
        run = run_cli(config, tap(range(3)), tmp_path, timeout=60)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert errors, run.stderr[-2000:]
    assert f"`{setting}`" in errors[0]
    assert " to " in errors[0] or "between" in errors[0]  # the range is named
    assert "Traceback" not in run.stderr
    assert sandbox.journal() == []


def _as_env(config):
    return {
        f"TARGET_INCIDENTIO_{k.upper()}": v if isinstance(v, str) else json.dumps(v)
        for k, v in config.items()
    }
