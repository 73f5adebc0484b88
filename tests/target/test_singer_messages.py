"""What real taps send, through the CLI: ACTIVATE_VERSION, date-times, odd placeholder values,
arrays of objects with fields to exclude, and `_sdc_*` fields of their own.

Each test asserts on what the loopback server (pytest-httpserver or the sandbox) received.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from support import SandboxAccount, http_config, read_jsonl, record, run_cli, schema, state

if t.TYPE_CHECKING:
    from incidentio_sandbox import Sandbox

API_KEY = "ik-messages-SECRET-77c2"
TOKEN = "as-messages-SECRET-1f0a"
SOURCE = "01HMESSAGESSOURCE00000000"
ACCOUNT = SandboxAccount(API_KEY, TOKEN, SOURCE)


def _http(httpserver, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    return http_config(httpserver.url_for("/"), tmp_path, API_KEY, **extra)


# -- ACTIVATE_VERSION -----------------------------------------------------------------------------


def _version(stream: str, version: int) -> dict[str, t.Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


@pytest.mark.slow
def test_activate_version_is_said_once_per_stream_and_never_crashes(httpserver, tmp_path):
    for i in (1, 2, 3):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_json({})
    props = {"id": {"type": "integer"}}
    messages = [
        _version("items", 1),  # before its SCHEMA, as a tap that resumes a full table may
        schema("items", props, ["id"]),
        _version("items", 1),
        {**record("items", {"id": 1}), "version": 1},
        _version("items", 2),
        record("items", {"id": 2}),
        schema("items", props, ["id"]),  # a new schema: a new sink, the same stream
        _version("items", 3),
        schema("other", props, ["id"]),
        _version("other", 1),
        record("other", {"id": 3}),
        state({"done": True}),
    ]
    run = run_cli(_http(httpserver, tmp_path), messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"done": True}]
    assert sorted(r.path for r, _ in httpserver.log) == [f"/v2/items/{i}" for i in (1, 2, 3)]
    said = "ACTIVATE_VERSION is not used by the `http` operation; ignored."
    assert run.stderr.count(f"Stream 'items': {said}") == 1
    assert run.stderr.count(f"Stream 'other': {said}") == 1
    assert run.stderr.count("ACTIVATE_VERSION for stream 'items' before its SCHEMA; ignored.") == 1
    assert "_sdc_deleted_at" not in run.stderr
    assert "| WARNING" not in run.stderr
    assert "| ERROR" not in run.stderr


# -- date-times as the tap wrote them -------------------------------------------------------------

WHEN = {
    "at": "2026-11-27T05:00:00Z",
    "precise": "2026-11-27T05:00:00.123456789+05:30",
    "day": "2026-11-27",
    "nested": {
        "when": "2026-11-27T05:00:00Z",
        "items": [{"at": "2026-11-27T05:00:00.000000001-08:00", "n": 0.1}],
    },
}
WHEN_PROPS = {
    "id": {"type": "integer"},
    "title": {"type": "string"},
    "name": {"type": "string"},
    "at": {"type": "string", "format": "date-time"},
    "precise": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"},
    "nested": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"at": {"type": "string", "format": "date-time"}},
                },
            },
        },
    },
}


@pytest.mark.slow
def test_http_bodies_carry_date_times_as_written(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    messages = [schema("items", WHEN_PROPS, ["id"]), record("items", {"id": 1, **WHEN})]
    run = run_cli(_http(httpserver, tmp_path), messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    ((request, _),) = httpserver.log
    assert request.get_json() == {"id": 1, **WHEN}
    # Byte for byte: no precision cut, `Z` kept, the date still a date.
    sent = request.get_data(as_text=True)
    for text in ('"2026-11-27T05:00:00Z"', ".123456789+05:30", ".000000001-08:00", '"2026-11-27"'):
        assert text in sent


@pytest.fixture
def sandbox():
    with ACCOUNT.sandbox() as sb:
        yield sb


def _sandbox_config(sb: Sandbox, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    return ACCOUNT.config(sb.url, tmp_path, **extra)


@pytest.mark.slow
def test_alert_metadata_carries_date_times_as_written(sandbox, tmp_path, openapi_validator):
    messages = [
        schema("checks", WHEN_PROPS, ["id"]),
        record("checks", {"id": 1, "title": "db down", **WHEN}),
    ]
    config = _sandbox_config(sandbox, tmp_path, operation="alert_event")
    run = run_cli(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    (entry,) = sandbox.journal()
    openapi_validator(entry["method"], sandbox.url + entry["path"], entry["body"])
    assert entry["body"]["metadata"] == {"id": 1, **WHEN}


@pytest.mark.slow
def test_incident_fields_carry_date_times_as_written(sandbox, tmp_path, openapi_validator):
    stamps = [
        {"incident_timestamp_id": "01HSTARTED", "value": "2026-11-27T05:00:00.123456789Z"},
        {"incident_timestamp_id": "01HDETECTED", "value": "2026-11-27T05:00:00+05:30"},
    ]
    props = {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "opened_on": {"type": "string", "format": "date"},
        "incident_timestamp_values": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"value": {"type": "string", "format": "date-time"}},
            },
        },
    }
    row = {
        "id": 1,
        "name": "db down",
        "opened_on": "2026-11-27",
        "incident_timestamp_values": stamps,
    }
    config = _sandbox_config(
        sandbox,
        tmp_path,
        operation="incident",
        custom_fields=[{"field": "opened_on", "custom_field_id": "01HOPENED", "kind": "text"}],
    )
    run = run_cli(config, [schema("tickets", props, ["id"]), record("tickets", row)], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    (entry,) = sandbox.journal()
    openapi_validator(entry["method"], sandbox.url + entry["path"], entry["body"])
    assert entry["body"]["incident_timestamp_values"] == stamps
    assert entry["body"]["custom_field_entries"] == [
        {"custom_field_id": "01HOPENED", "values": [{"value_text": "2026-11-27"}]}
    ]


# -- placeholders never change the path's shape ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["..", "."])
def test_a_dot_segment_placeholder_is_refused_and_reported(httpserver, tmp_path, bad):
    httpserver.expect_request("/v2/things/ok/sub").respond_with_json({})
    props = {"id": {"type": "string"}, "n": {"type": "integer"}}
    messages = [
        schema("things", props, ["n"]),
        record("things", {"n": 1, "id": bad}),
        record("things", {"n": 2, "id": "ok"}),
        state({"things": 2}),
    ]
    config = _http(
        httpserver,
        tmp_path,
        api_url="/v2/things/{id}/sub",
        on_error="continue",
        dead_letter_path=str(tmp_path / "dead.jsonl"),
    )
    run = run_cli(config, messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert [r.path for r, _ in httpserver.log] == ["/v2/things/ok/sub"]
    (letter,) = read_jsonl(tmp_path / "dead.jsonl")
    assert letter["key"] == "n=1"
    assert letter["error"]["errors"][0]["field"] == "id"
    assert "another path" in letter["error"]["message"]
    assert run.states == [{"things": 2}]

    failing = run_cli({**config, "on_error": "fail"}, messages, tmp_path)
    assert failing.returncode == 1
    assert "stream 'things', record n=1, field 'id'" in failing.stderr
    assert len(httpserver.log) == 1  # nothing more was sent


# -- exclude_attributes into arrays, and no `_sdc_*` field unless asked ---------------------------


@pytest.mark.slow
def test_excluded_fields_of_array_elements_never_reach_the_server(httpserver, tmp_path):
    httpserver.expect_request("/v2/orders/1").respond_with_json({})
    row = {
        "id": 1,
        "lines": [{"sku": "a", "secret": "card-4242"}, {"sku": "b", "secret": "card-1881"}],
    }
    messages = [schema("orders", {"id": {"type": "integer"}, "lines": {"type": "array"}}, ["id"])]
    config = _http(
        httpserver, tmp_path, api_url="/v2/orders/{id}", exclude_attributes="lines.secret"
    )
    run = run_cli(config, [*messages, record("orders", row)], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    ((request, _),) = httpserver.log
    assert request.get_json() == {"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]}
    assert "card-" not in request.get_data(as_text=True)


@pytest.mark.slow
@pytest.mark.parametrize("metadata", [False, True])
def test_sdc_fields_are_sent_only_with_add_record_metadata(httpserver, tmp_path, metadata):
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    row = {"id": 1, "_sdc_filename": "/home/me/exports/items.jsonl", "_sdc_stream": "items"}
    props = {name: {"type": ["string", "integer"]} for name in row}
    config = _http(httpserver, tmp_path, add_record_metadata=metadata)
    run = run_cli(config, [schema("items", props, ["id"]), record("items", row)], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    ((request, _),) = httpserver.log
    body = request.get_json()
    if metadata:
        assert body["_sdc_filename"] == "/home/me/exports/items.jsonl"
        assert "_sdc_received_at" in body  # the SDK's own columns, as asked
    else:
        assert body == {"id": 1}
        assert "_sdc_" not in json.dumps(body)
