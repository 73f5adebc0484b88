"""scripts/demo.py's setup: a timer that covers the whole demo, and the same picture every time."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from loading import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> t.Any:
    return load_script("demo")


def test_the_timer_starts_before_the_installs(demo: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert script.index(f"export {demo.STARTED_AT}") < script.index("pip install")
    monkeypatch.setenv(demo.STARTED_AT, "1700000000")
    assert demo.started_at() == 1_700_000_000.0


def test_each_demo_starts_from_no_meltano_state(demo: t.Any, tmp_path: Path) -> None:
    (tmp_path / "meltano.db").write_text("the last demo's state")
    env = demo.fresh_state(tmp_path)
    assert env == {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    assert not (tmp_path / "meltano.db").exists()


def test_both_runs_read_the_monitoring_table_from_one_path(demo: t.Any, tmp_path: Path) -> None:
    """tap-jsonl reads every file once per file its state remembers: one path, one read."""
    first = demo.snapshot_without(None, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / demo.MONITORING.name).read_text().splitlines()]
    second = demo.snapshot_without(demo.FIXED_CHECK, tmp_path)
    left = [json.loads(line) for line in (tmp_path / demo.MONITORING.name).read_text().splitlines()]
    assert first == second
    assert len(left) == len(rows) - 1
    assert demo.FIXED_CHECK not in {row["check_id"] for row in left}
    assert list(tmp_path.glob("*.jsonl")) == [tmp_path / demo.MONITORING.name]
