""".ci/run says where its time goes: each phase's seconds and the total, even when it fails."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def _timing_functions() -> str:
    """The phase bookkeeping of .ci/run, from `TIMINGS=()` to its `trap`."""
    text = CI.read_text(encoding="utf-8")
    match = re.search(r"^TIMINGS=\(\)$.*?^trap report EXIT$", text, flags=re.MULTILINE | re.DOTALL)
    assert match is not None, ".ci/run has no phase timings"
    return match.group(0)


def test_every_phase_and_the_total_are_printed_even_on_failure() -> None:
    bash = shutil.which("bash")
    assert bash is not None, ".ci/run is a bash script"
    script = _timing_functions() + '\nphase "lint"\nphase "full suite"\nfalse\n'
    run = subprocess.run(
        [bash, "-e", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 1
    tail = run.stdout.split("== CI phase timings:\n", 1)[1].splitlines()
    assert re.fullmatch(r" +\d+ s  lint", tail[0])
    assert re.fullmatch(r" +\d+ s  full suite", tail[1])
    assert re.fullmatch(r" +\d+ s  total \(exit 1\)", tail[2])


def test_every_step_of_ci_is_inside_a_phase() -> None:
    text = CI.read_text(encoding="utf-8")
    body = text.split("trap report EXIT", 1)[1]
    for step in ("install .venv python3", "mypy", "python -m build", "-m pytest"):
        before = body.split(step, 1)[0]
        assert "phase " in before, f"{step!r} runs before any phase starts"
