"""Issue 28 item 6: a derived key depends on the key's value, not on its JSON type or order.

A tap that retypes its id column (1 becomes "1" or 1.0 after a schema change) or reorders
`key_properties` must reach the same incident, not open it again.
"""

from __future__ import annotations

import pytest
from reliability_helpers import base_config
from support import record, run_cli, schema, state

pytestmark = pytest.mark.slow


def _run(sandbox, tmp_path, value, keys=("site", "ticket_id")):
    properties = {"ticket_id": {}, "site": {"type": "string"}, "name": {"type": "string"}}
    messages = [
        schema("tickets", properties, list(keys)),
        record("tickets", {"ticket_id": value, "site": "eu", "name": "the one"}),
        state({"n": 1}),
    ]
    run = run_cli(base_config(sandbox, tmp_path), messages, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    return {
        e["body"]["idempotency_key"]
        for e in sandbox.journal()
        if e["endpoint"] == "create_incident"
    }


def test_one_id_retyped_or_reordered_is_one_incident(sandbox, tmp_path, outputs):
    for value in (1, "1", 1.0):
        _run(sandbox, tmp_path, value)
    keys = _run(sandbox, tmp_path, 1, keys=("ticket_id", "site"))
    assert len(keys) == 1, keys
    assert len(sandbox.state()["incidents"]) == 1
