"""A value a stream map computed and the SDK typed as a string: the hint says so, and what to do.

The SDK types a computed field as a string unless its expression starts with `int(`, `float(`
or `bool(`, so `{'CRITICAL': 3}.get(state, 0)` (an int) or `[service_id]` (a list) break the
mapped schema. Telling the user to "convert it with stream_maps" would send them in circles.
"""

from __future__ import annotations

import pytest
from support import read_jsonl, record, run_in_process, schema

from incidentio_sandbox import Sandbox
from target_incidentio.payloads.fields import mapped_fields

STREAM = "checks"
SOURCE = "01SANDBOXALERTSOURCE000000"
TOKEN = "sandbox-alert-token"


def _dead_letters(tmp_path, maps: dict, row: dict | None = None) -> list[dict]:
    dead = tmp_path / "dead.jsonl"
    config = {
        "base_url": "",
        "operation": "alert_event",
        "alert_source_config_id": SOURCE,
        "alert_source_token": TOKEN,
        "on_error": "continue",
        "dead_letter_path": str(dead),
        "progress_interval": 60,
        "stream_maps": {STREAM: maps},
    }
    properties = {"check_id": {"type": "string"}, "state": {"type": "string"}}
    messages = [
        schema(STREAM, properties, ["check_id"]),
        record(STREAM, row or {"check_id": "disk", "state": "CRITICAL"}),
    ]
    with Sandbox(port=0) as sandbox:
        config["base_url"] = sandbox.url
        run_in_process(config, messages)
        assert sandbox.journal() == []  # refused before any call
    return read_jsonl(dead)


@pytest.mark.parametrize(
    ("expression", "advice"),
    [
        ("{'CRITICAL': 3}.get(state, 0)", "write it as \"int({'CRITICAL': 3}.get(state, 0))\""),
        ("{'CRITICAL': 0.5}.get(state, 0.0)", 'write it as "float('),
        ("[check_id]", "set `validate_records: false`"),
    ],
)
def test_a_computed_value_is_named_as_the_stream_maps_with_the_way_out(
    tmp_path, expression, advice
):
    maps = {"title": "check_id", "severity": expression}
    (dead,) = _dead_letters(tmp_path, maps)
    error = dead["error"]["message"]
    assert "severity" in error
    assert f"comes from the stream map expression `{expression}`" in error
    assert "the SDK types a computed field as a string" in error
    assert advice in error
    assert "convert it with stream_maps" not in error


def test_a_value_the_source_got_wrong_keeps_the_fix_at_the_source_hint(tmp_path):
    # `state` breaks the tap's own schema, and `label` is only a rename of it: no stream map
    # computed a value of a new type, so the fix is at the source.
    row = {"check_id": "disk", "state": 2}
    (dead,) = _dead_letters(tmp_path, {"title": "check_id", "label": "state"}, row)
    error = dead["error"]["message"]
    assert "fix the record at the source, convert it with stream_maps" in error
    assert "comes from the stream map expression" not in error


def test_mapped_fields_follow_aliases_and_skip_drops():
    maps = {
        "raw": {"__alias__": STREAM, "severity": "int(level)", "noise": "__NULL__"},
        "other": {"x": "y"},
        "gone": None,
    }
    assert mapped_fields(maps, STREAM) == {"severity": "int(level)"}
    assert mapped_fields(None, STREAM) == {}
