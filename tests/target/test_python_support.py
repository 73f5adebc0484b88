"""The Pythons the package claims, and the SDK's end-of-life notice: once per run, not a flood.

The package claims what singer-sdk supports, from `requires-python` up to the newest Python
.ci/run tests (tests/unit/test_packaging.py holds the classifiers to that). On a Python past or
near its end of life the SDK warns each time a plugin is built; the test suite builds hundreds
and filters the warning (pyproject.toml), so here a real run shows what a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from support import record, schema, singer_lines

if TYPE_CHECKING:
    from pathlib import Path

# Run the target as its console script does, on a Python the SDK takes for past its end of life.
PAST_END_OF_LIFE = """
import datetime, sys
from singer_sdk.helpers import _compat
_compat._PYTHON_EOL_DATES[sys.version_info[:2]] = datetime.date(2000, 1, 1)
from target_incidentio.target import TargetIncidentIO
TargetIncidentIO.cli()
"""


@pytest.mark.slow
def test_a_run_on_a_python_past_its_end_of_life_warns_once(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_key": "k", "operation": "http", "api_url": "/v2/x", "dry_run": True})
    )
    messages = [schema("s", {"id": {"type": "integer"}}, ["id"])]
    messages += [record("s", {"id": i}) for i in range(3)]
    run = subprocess.run(
        [sys.executable, "-c", PAST_END_OF_LIFE, "--config", str(config)],
        input=singer_lines(messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("SingerSDKPythonEOLWarning") == 1, run.stderr
    assert "reached its end of life" in run.stderr
