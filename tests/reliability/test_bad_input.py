"""Bad settings and bad input fail clearly, and nothing is sent for the bad part."""

from __future__ import annotations

import pytest
from reliability_helpers import (
    STREAM,
    TICKET_SCHEMA,
    assert_accounted,
    base_config,
    key_of,
    reported,
    tap,
    ticket,
)
from singer_sdk.exceptions import ConfigValidationError
from support import read_jsonl, record, run_cli, schema, singer_lines, state

from target_incidentio.target import TargetIncidentIO

BAD_SETTINGS = [
    ({"operation": "explode"}, "operation"),
    ({"operation": "incident", "api_key": None}, "api_key"),
    ({"operation": "alert_event", "alert_source_token": None}, "alert_source_token"),
    (
        {"alert_source_token": None, "streams": {STREAM: {"operation": "alert_event"}}},
        f"streams.{STREAM}.alert_source_token",
    ),
    ({"base_url": "not a url"}, "base_url"),
    ({"base_url": "ftp://127.0.0.1/x"}, "base_url"),
    ({"operation": "http", "api_url": "v2/no-leading-slash"}, "api_url"),
    ({"operation": "http", "api_url": None}, "api_url"),
    ({"response_webhook_url": "hooks.example.com/x"}, "response_webhook_url"),
    ({"method": "DELETE"}, "method"),
    ({"request_headers": "Authorization:Bearer other"}, "request_headers"),
    ({"request_timeout": -1}, "request_timeout"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"max_retries": -1}, "max_retries"),
    ({"max_retry_wait": -0.5}, "max_retry_wait"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"rate_limit_per_minute": -5}, "rate_limit_per_minute"),
    ({"alert_source_rate_limit_per_minute": 0}, "alert_source_rate_limit_per_minute"),
    ({"batch_size_rows": 0}, "batch_size_rows"),
    ({"max_failures": -1}, "max_failures"),
    ({"response_webhook_batch_size": 0}, "response_webhook_batch_size"),
    ({"progress_interval": -1}, "progress_interval"),
    (
        {"streams": {STREAM: {"rate_limit_per_minute": -1}}},
        f"streams.{STREAM}.rate_limit_per_minute",
    ),
    ({"streams": {STREAM: {"max_retries": 2}}}, f"streams.{STREAM}"),
]


def _bad_config(sandbox, tmp_path, changes):
    config = base_config(sandbox, tmp_path, **changes)
    return {k: v for k, v in config.items() if v is not None}


@pytest.mark.parametrize(("changes", "setting"), BAD_SETTINGS, ids=[s for _, s in BAD_SETTINGS])
def test_bad_setting_is_refused_before_any_request(sandbox, tmp_path, outputs, changes, setting):
    """Building the target fails naming the setting; nothing can have been sent."""
    with pytest.raises(ConfigValidationError) as caught:
        TargetIncidentIO(config=_bad_config(sandbox, tmp_path, changes), parse_env_config=False)
    outputs.add(str(caught.value), *caught.value.errors)
    assert any(f"`{setting}" in error for error in caught.value.errors)
    assert sandbox.journal() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "setting"),
    [BAD_SETTINGS[0], BAD_SETTINGS[1], BAD_SETTINGS[-1]],
    ids=[s for _, s in (BAD_SETTINGS[0], BAD_SETTINGS[1], BAD_SETTINGS[-1])],
)
def test_bad_setting_on_the_command_line(sandbox, tmp_path, outputs, changes, setting):
    """Exit non-zero, name the setting, send nothing, print no state."""
    run = run_cli(_bad_config(sandbox, tmp_path, changes), tap(range(3)), tmp_path)
    outputs.add(run.stdout, run.stderr)

    assert run.returncode != 0
    assert run.stdout == ""
    assert setting in run.stderr
    assert sandbox.journal() == []


def _run(sandbox, tmp_path, outputs, data, **changes):
    run = run_cli(base_config(sandbox, tmp_path, **changes), data, tmp_path)
    outputs.add(run.stdout, run.stderr)
    return run


def _sent(sandbox):
    return [e["body"]["name"] for e in sandbox.journal()]


@pytest.mark.slow
def test_line_that_is_not_json_stops_the_run_before_later_records(sandbox, tmp_path, outputs):
    """Records after the bad line are not sent; no state claims them."""
    before = singer_lines([schema(STREAM, TICKET_SCHEMA, ["ticket_id"]), record(STREAM, ticket(1))])
    after = singer_lines([record(STREAM, ticket(2)), state({"p": 2})])
    run = _run(sandbox, tmp_path, outputs, before + "{this is not json\n" + after)

    assert run.returncode != 0
    assert run.states == []
    assert "input line 3 is not a Singer message" in run.stderr
    assert "{this is not json" not in run.stderr  # named by number, never quoted
    assert "ticket-2" not in _sent(sandbox)


@pytest.mark.slow
def test_message_without_type_is_refused(sandbox, tmp_path, outputs):
    run = _run(sandbox, tmp_path, outputs, singer_lines([{"stream": STREAM, "record": ticket(1)}]))
    assert run.returncode != 0
    assert "missing required type" in run.stderr
    assert sandbox.journal() == []


@pytest.mark.slow
def test_record_before_its_schema_is_refused(sandbox, tmp_path, outputs):
    messages = [record(STREAM, ticket(1)), schema(STREAM, TICKET_SCHEMA, ["ticket_id"])]
    run = _run(sandbox, tmp_path, outputs, messages)
    assert run.returncode != 0
    assert "before a corresponding schema" in run.stderr
    assert sandbox.journal() == []


BREAKS_SCHEMA = [
    ({"ticket_id": "seven", "name": "ticket-7"}, "'seven' is not of type 'integer'", "ticket_id"),
    ({"ticket_id": 7}, "'name' is a required property", "name"),
    (
        {"ticket_id": 7, "name": "ticket-7", "opened_at": "yesterday-ish"},
        "is not a 'date-time'",
        "opened_at",
    ),
]
STRICT = {
    "type": "object",
    "properties": {**TICKET_SCHEMA, "opened_at": {"type": "string", "format": "date-time"}},
    "required": ["ticket_id", "name"],
}


def _schema_break(bad):
    return [
        {"type": "SCHEMA", "stream": STREAM, "schema": STRICT, "key_properties": ["ticket_id"]},
        record(STREAM, bad),
        record(STREAM, ticket(8, opened_at="2026-11-27T05:00:00.123456789Z")),
        state({"p": 8}),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bad", "message", "field"), BREAKS_SCHEMA, ids=["wrong-type", "missing-required", "date-time"]
)
def test_record_that_breaks_its_schema_goes_to_dead_letters_and_the_run_goes_on(
    sandbox, tmp_path, outputs, bad, message, field
):
    """`on_error: continue`: the bad row is reported with the validation message, the rest sent."""
    run = _run(sandbox, tmp_path, outputs, _schema_break(bad))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.states == [{"p": 8}]
    assert [e["body"]["name"] for e in sandbox.journal()] == ["ticket-8"]
    (letter,) = read_jsonl(tmp_path / "dead.jsonl")
    assert letter["stream"] == STREAM
    assert letter["key"] == f"ticket_id={bad['ticket_id']!r}"
    assert letter["record"] == bad
    assert message in letter["error"]["message"]
    assert letter["error"]["errors"][0]["field"] == field
    assert reported(tmp_path).failed[letter["key"]]["status"] == "invalid"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bad", "message", "field"), BREAKS_SCHEMA, ids=["wrong-type", "missing-required", "date-time"]
)
def test_record_that_breaks_its_schema_stops_the_run_with_one_message(
    sandbox, tmp_path, outputs, bad, message, field
):
    """`on_error: fail`: one message naming stream, record key, field and what was expected."""
    run = _run(sandbox, tmp_path, outputs, _schema_break(bad), on_error="fail")
    assert run.returncode != 0
    assert message in run.stderr
    assert (
        f"stream '{STREAM}', record ticket_id={bad['ticket_id']!r}, field '{field}'" in run.stderr
    )
    assert "Traceback" not in run.stderr
    assert run.states == []
    assert sandbox.journal() == []


@pytest.mark.slow
def test_records_unfit_for_the_operation_are_reported_and_the_rest_delivered(
    sandbox, tmp_path, outputs
):
    """alert_event needs a text title: bad ones are reported invalid, never sent."""
    loose = {"ticket_id": {"type": "integer"}, "title": {}, "name": {"type": "string"}}
    rows = [ticket(1), {"ticket_id": 2}, ticket(3, title=42), ticket(4), ticket(5, title=["x"])]
    messages = [schema(STREAM, loose, ["ticket_id"]), *(record(STREAM, r) for r in rows)]
    run = _run(sandbox, tmp_path, outputs, messages, operation="alert_event")

    assert run.returncode == 0, run.stderr[-2000:]
    ledger = reported(tmp_path)
    assert_accounted(range(1, 6), ledger)
    assert set(ledger.failed) == {key_of(2), key_of(3), key_of(5)}
    for response in ledger.failed.values():
        assert response["status"] == "invalid"
        assert response["error"]["errors"][0]["field"] == "title"
    assert sorted(e["body"]["title"] for e in sandbox.journal()) == ["ticket-1", "ticket-4"]


@pytest.mark.slow
def test_invalid_record_with_on_error_fail_stops_and_sends_nothing_after(
    sandbox, tmp_path, outputs
):
    loose = {"ticket_id": {"type": "integer"}, "title": {}}
    messages = [
        schema(STREAM, loose, ["ticket_id"]),
        record(STREAM, {"ticket_id": 1, "title": 42}),
        record(STREAM, {"ticket_id": 2, "title": "fine"}),
        state({"p": 2}),
    ]
    run = _run(sandbox, tmp_path, outputs, messages, operation="alert_event", on_error="fail")
    assert run.returncode != 0
    assert "stream 'tickets', record ticket_id=1, field 'title'" in run.stderr
    assert run.states == []
    assert sandbox.journal() == []
    assert [r["status"] for r in read_jsonl(tmp_path / "responses.jsonl")] == ["invalid"]


@pytest.mark.slow
def test_stream_map_on_a_missing_field_fails_each_record_before_sending(sandbox, tmp_path, outputs):
    """A map expression naming a field the records lack: each record fails naming it, none is
    sent; under `on_error: fail` the run stops at the first."""
    maps = {STREAM: {"name": "subject_line", "title": "__NULL__"}}
    run = _run(sandbox, tmp_path, outputs, tap(range(3)), stream_maps=maps)
    assert run.returncode == 0, run.stderr[-2000:]
    letters = read_jsonl(tmp_path / "dead.jsonl")
    assert [d["key"] for d in letters] == [key_of(i) for i in range(3)]
    assert all("subject_line" in d["error"]["message"] for d in letters)
    assert sandbox.journal() == []

    failing = _run(sandbox, tmp_path, outputs, tap(range(3)), stream_maps=maps, on_error="fail")
    assert failing.returncode != 0
    assert f"stream '{STREAM}', record {key_of(0)}" in failing.stderr
    assert "subject_line" in failing.stderr
    assert failing.states == []
    assert sandbox.journal() == []


@pytest.mark.slow
@pytest.mark.parametrize("on_error", ["continue", "fail"])
def test_record_without_its_key_property_is_reported_not_a_crash(
    sandbox, tmp_path, outputs, on_error
):
    """The SDK would stop the run naming no stream; here `on_error` decides, as for any bad row."""
    messages = [
        schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
        record(STREAM, {"name": "ticket-without-id"}),
        record(STREAM, ticket(2)),
        state({"p": 2}),
    ]
    run = _run(sandbox, tmp_path, outputs, messages, on_error=on_error)
    expected = f"stream '{STREAM}', record #"
    assert "Traceback" not in run.stderr
    assert "lacks key property 'ticket_id'" in run.stderr
    if on_error == "continue":
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.states == [{"p": 2}]
        assert _sent(sandbox) == ["ticket-2"]
        (letter,) = read_jsonl(tmp_path / "dead.jsonl")
        assert letter["record"] == {"name": "ticket-without-id"}
        assert letter["error"]["errors"][0]["field"] == "ticket_id"
        assert letter["key"].startswith("#")
    else:
        assert run.returncode == 1
        assert expected in run.stderr
        assert ", field 'ticket_id': lacks key property" in run.stderr
        assert run.states == []
        assert sandbox.journal() == []
