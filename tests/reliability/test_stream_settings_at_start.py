"""Issue 28 item 8: one stream's settings never fail a job that does not carry that stream.

Names in a stream's settings (`custom_field`, `role`) are resolved when that stream starts,
not for every configured stream when the run starts.
"""

from __future__ import annotations

import pytest
from reliability_helpers import API_KEY, base_config
from support import record, run_cli, schema, state

pytestmark = pytest.mark.slow


def test_a_stream_the_run_never_sees_is_not_resolved(sandbox, tmp_path, outputs):
    config = base_config(
        sandbox,
        tmp_path,
        streams={
            "tickets_elsewhere": {
                "operation": "incident",
                "custom_fields": [{"field": "team", "custom_field": "No such field"}],
            }
        },
    )
    messages = [
        schema(
            "tickets", {"ticket_id": {"type": "integer"}, "name": {"type": "string"}}, ["ticket_id"]
        ),
        record("tickets", {"ticket_id": 1, "name": "one"}),
        state({"n": 1}),
    ]
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not [e for e in sandbox.journal() if e["path"].startswith("/v2/custom_fields")]
    assert API_KEY not in run.stderr
