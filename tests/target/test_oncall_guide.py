"""docs/oncall.md's example data and settings, through the CLI against the demo's sandbox.

The page's `meltano run` commands themselves run in tests/e2e/test_doc_commands.py; this
checks the data and settings the page shows without Meltano.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import read_jsonl, run_cli, schema

from incidentio_sandbox import Sandbox

ROOT = Path(__file__).parents[2]
DATA = ROOT / "examples" / "data" / "oncall"
# The demo's account (the sandbox's demo credentials), which the guide's pipeline runs against.
SEED = json.loads((ROOT / "examples" / "sandbox-seed.json").read_text())
API_KEY = "sandbox-api-key"


def _messages(stream: str, key: str, path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    props = {name: {} for row in rows for name in row}
    lines = [schema(stream, props, [key])]
    lines += [{"type": "RECORD", "stream": stream, "record": row} for row in rows]
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.mark.slow
def test_the_guides_cover_table_and_findings_reach_on_call(tmp_path):
    doc = (ROOT / "docs" / "oncall.md").read_text()
    assert "recommends alert sources" in doc
    assert "a changed row (another user, another window) is a delete plus a create" in doc
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        base = {
            "api_key": API_KEY,
            "base_url": sb.url,
            "response_log_path": str(tmp_path / "r.jsonl"),
        }
        cover = {
            **base,
            "operation": "schedule_override",
            "override_mode": "sync",
            "override_schedules": ["Payments primary"],
        }
        for _ in range(2):  # the second run has nothing to do
            done = run_cli(cover, _messages("cover", "cover_id", DATA / "cover.jsonl"), tmp_path)
            assert done.returncode == 0, done.stderr
        assert len(sb.state()["schedule_overrides"]) == 2
        assert [e["method"] for e in sb.journal()].count("POST") == 2
        dq = {**base, "operation": "escalation"}
        for _ in range(2):  # a rerun pages nobody
            done = run_cli(
                dq, _messages("dq_failures", "check_id", DATA / "dq_failures.jsonl"), tmp_path
            )
            assert done.returncode == 0, done.stderr
        assert len(sb.state()["escalations"]) == 2
    assert all(r["status"] != "invalid" for r in read_jsonl(tmp_path / "r.jsonl"))
