"""Issue 28 item 7: a run stopped before the end of its input does not exit 0.

The orchestrator reads the exit code: a load stopped by SIGTERM or SIGINT with input unread
did not succeed, whatever it delivered. One line says how far it got; the state still covers
what was confirmed.
"""

from __future__ import annotations

import json
import signal

import pytest
from reliability_helpers import LiveRun, base_config, position, settled, tap, wait_until

pytestmark = pytest.mark.slow

TOTAL = 400


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_with_input_unread_exits_non_zero_saying_how_far(
    sandbox, tmp_path, outputs, signum
):
    sandbox.set_faults(latency_ms=20)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(base_config(sandbox, tmp_path, max_concurrency=2)))

    def slow_tap():
        for n, message in enumerate(tap(range(TOTAL), every=10)):
            if n == 100:
                wait_until(lambda: len(sandbox.journal()) >= 40)
            yield message

    run = LiveRun(config_path, slow_tap())
    wait_until(lambda: len(sandbox.journal()) >= 60)
    run.signal(signum)
    code = run.wait(timeout=30)
    outputs.add(run.stderr, *run.stdout_lines)

    assert code == 1, run.stderr[-3000:]
    (line,) = [line for line in run.stderr.splitlines() if "before the end of the input" in line]
    assert f"Stopped by {signum.name}" in line
    assert "records read" in line
    assert "delivered" in line
    assert "Traceback" not in run.stderr
    # The state still covers what was confirmed, and no more.
    assert run.states
    delivered = {e["body"]["name"] for e in settled(sandbox) if e["status"] in (200, 201, 202)}
    assert {f"ticket-{i}" for i in range(position(run.states[-1]) + 1)} <= delivered
    assert position(run.states[-1]) < TOTAL - 1


def test_the_whole_input_read_still_exits_zero(sandbox, tmp_path, outputs):
    """The control: the same run left to the end of its input exits 0."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(base_config(sandbox, tmp_path)))
    run = LiveRun(config_path, tap(range(20), every=10))
    code = run.wait(timeout=60)
    outputs.add(run.stderr, *run.stdout_lines)
    assert code == 0, run.stderr[-3000:]
    assert position(run.states[-1]) == 19
