"""`meltano run` with a tap that fails halfway: the target resolves nothing it never read.

tap-jsonl (from PyPI) reads the monitoring snapshot from two files; the second is cut by an
undecodable line after the tap's schema sample, so the tap sends the first file's rows and
exits 1 without a STATE. Meltano then closes the target's stdin: an ordinary end of input.
See docs/tap-signals.md for what each tap sends.
"""

from __future__ import annotations

import json
import typing as t
from typing import TYPE_CHECKING

import pytest
from test_meltano_pipeline import DATA, sandbox_pipeline

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _cut_snapshot(folder: Path, rows: list[dict[str, t.Any]], sent: int) -> dict[str, str]:
    """The first `sent` rows in one file; the rest behind a line tap-jsonl cannot decode."""
    folder.mkdir(parents=True, exist_ok=True)
    first = "".join(json.dumps(r) + "\n" for r in rows[:sent])
    (folder / "part-1.jsonl").write_text(first, encoding="utf-8")
    # tap-jsonl samples 500 lines of each file for its schema, decoding ahead in 8 KiB
    # chunks: the bad line comes well after them, so only reading the file's rows fails.
    rest = rows[sent:] * (3000 // max(1, len(rows) - sent))
    body = "".join(json.dumps(r) + "\n" for r in rest).encode() + b'{"check_id": "\xff"}\n'
    (folder / "part-2.jsonl").write_bytes(body)
    return {"TAP_JSONL_MONITORING_PATH": str(folder / "*.jsonl")}


def test_a_tap_failing_halfway_resolves_nothing(tmp_path: Path, meltano: Path) -> None:
    (path,) = (DATA / "monitoring").glob("*.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 4
    with sandbox_pipeline(tmp_path, meltano) as pipeline:
        sandbox = pipeline.sandbox
        pipeline("--environment=dev", "run", "tap-jsonl-monitoring", "target-incidentio")
        firing = {a["deduplication_key"] for a in sandbox.state()["alerts"]}
        assert firing == {r["check_id"] for r in rows}
        before = len(sandbox.journal())

        env = {**pipeline.env, **_cut_snapshot(tmp_path / "cut", rows, sent=2)}
        result = pipeline.demo.run_meltano(
            pipeline.meltano,
            ["--environment=dev", "run", "tap-jsonl-monitoring", "target-incidentio"],
            env,
            pipeline.log,
        )
        assert result.returncode != 0, "the tap failed, so meltano run must fail"
        assert "UnicodeDecodeError" in result.stdout
        journal = sandbox.journal(since=before)
        # The two rows it read were sent again; nothing was resolved.
        sent = [e["body"] for e in journal if e["endpoint"] == "alert_event"]
        firing_sent = {b["deduplication_key"] for b in sent if b["status"] == "firing"}
        assert firing_sent == {r["check_id"] for r in rows[:2]}, result.stdout[-6000:]
        assert [b for b in sent if b["status"] != "firing"] == []
        assert {a["status"] for a in sandbox.state()["alerts"]} == {"firing"}
