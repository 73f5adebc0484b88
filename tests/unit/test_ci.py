""".ci/run says where its time goes: each phase's seconds and the total, even when it fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def _dist() -> list[str]:
    """The `--dist` of pyproject.toml's pytest `addopts`, which every run gets."""
    text = (CI.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    addopts = re.search(r'^addopts = "(.*)"$', text, flags=re.MULTILINE)
    assert addopts is not None, "pyproject.toml's pytest section gives no addopts"
    dist = re.search(r"--dist[= ](\S+)", addopts.group(1))
    assert dist is not None, f"pytest's addopts give no --dist: {addopts.group(1)}"
    return ["--dist", dist.group(1)]


@pytest.mark.slow  # two pytest workers start
def test_tests_in_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    """The e2e tests sharing the checkout's Meltano project rely on `--dist loadgroup` (set in
    pyproject.toml): a pytest or pytest-xdist release that silently stops grouping (as pytest
    9.2 did, pytest-dev/pytest-xdist#1386) fails here, not as a flaky Meltano run."""
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.xdist_group('project')\n"
        "@pytest.mark.parametrize('i', range(6))\n"
        "def test_grouped(i):\n"
        "    pass\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", *_dist(), "-v"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    passed = r"^\[(gw\d+)\].*PASSED.*test_grouped\[\d\]@project"
    workers = re.findall(passed, run.stdout, flags=re.MULTILINE)
    assert len(workers) == 6, run.stdout[-2000:]
    assert len(set(workers)) == 1, f"one group ran on several workers: {workers}"
