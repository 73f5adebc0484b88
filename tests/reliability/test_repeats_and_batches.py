"""Issue 28 item 9: a repeated idempotency key is warned of; a missing BATCH file is named."""

from __future__ import annotations

import pytest
from reliability_helpers import STREAM, TICKET_SCHEMA, base_config, ticket
from support import record, run_cli, schema, state

pytestmark = pytest.mark.slow


def test_the_same_key_with_other_content_warns_once(sandbox, tmp_path, outputs):
    config = base_config(sandbox, tmp_path)
    messages = [
        schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
        record(STREAM, ticket(1)),
        record(STREAM, ticket(1, name="ticket-1 renamed")),  # same key, other content
        record(STREAM, ticket(1, name="ticket-1 renamed again")),
        record(STREAM, ticket(2)),
        record(STREAM, ticket(2)),  # same key, same content: a plain repeat, no warning
        state({"n": 5}),
    ]
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "given twice in this run" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert f"Stream '{STREAM}'" in warnings[0]
    assert "ticket_id=1" in warnings[0]
    names = [i["name"] for i in sandbox.state()["incidents"]]
    assert sorted(names) == ["ticket-1", "ticket-2"]  # what incident.io kept


def test_a_batch_file_that_is_missing_names_the_stream_and_the_file(sandbox, tmp_path, outputs):
    missing = tmp_path / "gone" / "batch-1.jsonl.gz"
    messages = [
        schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
        {
            "type": "BATCH",
            "stream": STREAM,
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "manifest": [missing.as_uri()],
        },
    ]
    run = run_cli(base_config(sandbox, tmp_path), messages, tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 1
    (line,) = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert f"stream '{STREAM}'" in line
    assert "batch-1.jsonl.gz" in line
    assert "does not exist" in line
    assert "Traceback" not in run.stderr
