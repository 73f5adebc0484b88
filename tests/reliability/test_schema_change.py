"""A keyless stream whose tap gains a column: the rows already sent reach the same incident or
alert, so a rerun opens nothing twice.
"""

from __future__ import annotations

import pytest
from reliability_helpers import base_config
from support import read_jsonl, record, run_cli, schema, state

BEFORE = {"name": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"}}
AFTER = {**BEFORE, "team": {"type": ["string", "null"]}, "tags": {"type": ["object", "null"]}}
ROW = {"name": "Checkout down", "title": "Checkout down", "summary": "5xx on /pay"}


def _runs(sandbox, tmp_path, outputs, operation):
    config = base_config(sandbox, tmp_path, operation=operation)
    first = [schema("reports", BEFORE, []), record("reports", ROW), state({"run": 1})]
    # The next export: the schema gained two columns, null in this row; a stream map (or a
    # sloppy tap) adds a field the schema does not declare; a new row uses the new column.
    second = [
        schema("reports", AFTER, []),
        record("reports", {**ROW, "team": None, "tags": None}),
        record("reports", {**ROW, "team": None, "tags": {"env": None}, "debug_ts": "x"}),
        record("reports", {**ROW, "name": "Login slow", "title": "Login slow", "team": "id"}),
        state({"run": 2}),
    ]
    for messages in (first, second):
        run = run_cli(config, messages, tmp_path)
        outputs.add(run.stdout, run.stderr)
        assert run.returncode == 0, run.stderr[-3000:]
    return sandbox.journal()


def _keys_by_name(journal, key):
    """The keys sent for each row, by its name or title (calls run in parallel)."""
    found: dict[str, list[str]] = {}
    for entry in journal:
        body = entry["body"]
        found.setdefault(body.get("name") or body["title"], []).append(body[key])
    return found


@pytest.mark.slow
def test_a_new_column_opens_no_second_incident(sandbox, tmp_path, outputs):
    journal = _runs(sandbox, tmp_path, outputs, "incident")
    keys = _keys_by_name(journal, "idempotency_key")
    assert len(keys["Checkout down"]) == 3
    assert len(set(keys["Checkout down"])) == 1
    assert set(keys["Login slow"]).isdisjoint(keys["Checkout down"])
    names = sorted(incident["name"] for incident in sandbox.state()["incidents"])
    assert names == ["Checkout down", "Login slow"]


@pytest.mark.slow
def test_a_new_column_keeps_the_alert(sandbox, tmp_path, outputs):
    journal = _runs(sandbox, tmp_path, outputs, "alert_event")
    keys = _keys_by_name(journal, "deduplication_key")
    assert len(keys["Checkout down"]) == 3
    assert len(set(keys["Checkout down"])) == 1
    assert set(keys["Login slow"]).isdisjoint(keys["Checkout down"])
    assert sorted(alert["title"] for alert in sandbox.state()["alerts"]) == [
        "Checkout down",
        "Login slow",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("value", ["platform", {"env": "prod"}])
def test_a_value_in_the_new_column_is_a_new_row(sandbox, tmp_path, outputs, value):
    """The guard is live: content that differs still makes a different key."""
    config = base_config(sandbox, tmp_path, operation="incident")
    messages = [
        schema("reports", AFTER, []),
        record("reports", ROW),
        record("reports", {**ROW, "team" if isinstance(value, str) else "tags": value}),
    ]
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len({e["body"]["idempotency_key"] for e in sandbox.journal()}) == 2
    assert len(sandbox.state()["incidents"]) == 2


@pytest.mark.slow
def test_a_key_set_by_a_stream_map_gives_a_keyless_stream_its_identity(sandbox, tmp_path, outputs):
    """`__key_properties__` (the SDK's stream maps, on the target): any tap, stable keys."""
    config = base_config(
        sandbox,
        tmp_path,
        operation="incident",
        stream_maps={"reports": {"__key_properties__": ["ref"]}},
    )
    props = {**AFTER, "ref": {"type": "string"}}
    messages = [
        schema("reports", props, []),
        record("reports", {**ROW, "ref": "R-1"}),
        # The same report, its content since changed: the same incident.
        record("reports", {**ROW, "ref": "R-1", "summary": "5xx on /pay, since 09:00"}),
        record("reports", {**ROW, "ref": "R-2"}),
    ]
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    keys = [e["body"]["idempotency_key"] for e in sandbox.journal()]
    assert len(keys) == 3
    assert len(set(keys)) == 2
    assert len(sandbox.state()["incidents"]) == 2
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(k for r in responses for k in r["record_keys"]) == ["ref='R-1'"] * 2 + [
        "ref='R-2'"
    ]
