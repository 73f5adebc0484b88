"""Response log formats, the response webhook, dead letters, error policy and progress lines."""

from __future__ import annotations

import json
import re
import time

import jsonschema
import pytest
from support import http_config, read_jsonl, record, run_cli, run_in_process, schema, state
from werkzeug import Response

from target_incidentio.core.errors import DeliveryFailedError

API_KEY = "ik-responses-SECRET-0042"
HOOK_SECRET = "hook-SECRET-77aa"


def _config(httpserver, tmp_path, **extra):
    return http_config(httpserver.url_for("/"), tmp_path, API_KEY, max_retries=0, **extra)


def _messages(ids):
    yield schema("items", {"id": {"type": "integer"}, "title": {"type": "string"}}, ["id"])
    for i in ids:
        yield record("items", {"id": i, "title": f"item {i}"})
    yield state({"items": max(ids)})


def _reject_even(request):
    item = int(request.path.rsplit("/", 1)[1])
    if item % 2:
        return Response(json.dumps({"id": item}), status=200, content_type="application/json")
    body = {
        "type": "validation_error",
        "status": 422,
        "request_id": f"r{item}",
        "errors": [{"code": "invalid_value", "message": "bad", "source": {"field": "title"}}],
    }
    return Response(json.dumps(body), status=422, content_type="application/json")


def test_singer_format_can_feed_another_target(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json(
        {"incident": {"id": "X1", "reference": "INC-9"}}
    )
    path = tmp_path / "responses.singer"
    run_in_process(
        _config(httpserver, tmp_path, response_log_path=str(path), response_log_format="singer"),
        _messages([1]),
    )
    schema_msg, record_msg = read_jsonl(path)
    assert schema_msg["type"] == "SCHEMA"
    assert schema_msg["stream"] == "incidentio_responses"
    assert record_msg["type"] == "RECORD"
    assert record_msg["stream"] == "incidentio_responses"
    assert record_msg["record"]["resource_id"] == "X1"
    assert record_msg["record"]["reference"] == "INC-9"
    # The record meets its own schema.
    jsonschema.validate(record_msg["record"], schema_msg["schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record_msg["record"], "ok": "yes"}, schema_msg["schema"])


def test_singer_format_holds_records_that_never_became_calls(httpserver, tmp_path):
    path = tmp_path / "responses.singer"
    config = _config(
        httpserver,
        tmp_path,
        response_log_path=str(path),
        response_log_format="singer",
        on_error="continue",
    )
    # No `id` for the URL template: the record is reported invalid, nothing is sent.
    run_in_process(config, [schema("items", {"id": {}}, []), record("items", {"title": "x"})])
    schema_msg, record_msg = read_jsonl(path)
    assert record_msg["record"]["status"] == "invalid"
    assert record_msg["record"]["method"] is None
    jsonschema.validate(record_msg["record"], schema_msg["schema"])
    assert httpserver.log == []


@pytest.mark.parametrize("batch_size", [1, 3])
def test_webhook_gets_every_response_record(httpserver, tmp_path, batch_size):
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    httpserver.expect_request("/v2/items/2").respond_with_json({})
    httpserver.expect_request("/v2/items/3").respond_with_json({})
    httpserver.expect_request("/v2/items/4").respond_with_json({})
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    config = _config(
        httpserver,
        tmp_path,
        response_webhook_url=httpserver.url_for("/hook"),
        response_webhook_headers={"X-Hook-Token": HOOK_SECRET},
        response_webhook_batch_size=batch_size,
    )
    run_in_process(config, _messages([1, 2, 3, 4]))
    hooks = [r for r, _ in httpserver.log if r.path == "/hook"]
    assert all(h.headers["X-Hook-Token"] == HOOK_SECRET for h in hooks)
    assert all("Authorization" not in h.headers for h in hooks)  # the API key never goes there
    posted = [h.get_json() for h in hooks]
    records = [r for p in posted for r in (p if batch_size > 1 else [p])]
    assert sorted(r["record_keys"][0] for r in records) == ["id=1", "id=2", "id=3", "id=4"]
    assert len(hooks) == (4 if batch_size == 1 else 2)
    assert HOOK_SECRET not in json.dumps(records)


@pytest.mark.slow
def test_failing_webhook_never_blocks_delivery(httpserver, tmp_path):
    for i in (1, 2, 3):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_json({})
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    config = _config(httpserver, tmp_path, response_webhook_url=httpserver.url_for("/hook"))
    run = run_cli(config, _messages([1, 2, 3]), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"items": 3}]
    assert "Response webhook: 3 posts failed" in run.stderr
    assert len([r for r in read_jsonl(tmp_path / "responses.jsonl") if r["ok"]]) == 3


def test_continue_writes_dead_letters_and_goes_on(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_handler(_reject_even)
    for i in range(1, 7):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_handler(_reject_even)
    dead = tmp_path / "dead.jsonl"
    config = _config(httpserver, tmp_path, on_error="continue", dead_letter_path=str(dead))
    states = run_in_process(config, _messages(range(1, 7)))
    assert states == [{"items": 6}]
    letters = read_jsonl(dead)
    assert sorted(d["key"] for d in letters) == ["id=2", "id=4", "id=6"]
    first = next(d for d in letters if d["key"] == "id=2")
    assert first["stream"] == "items"
    assert first["record"] == {"id": 2, "title": "item 2"}
    assert first["error"]["errors"][0]["field"] == "title"
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert len(responses) == 6
    assert sorted(r["status"] for r in responses) == ["delivered"] * 3 + ["rejected"] * 3


def test_continue_fails_at_the_end_past_max_failures(httpserver, tmp_path):
    for i in range(1, 7):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_handler(_reject_even)
    config = _config(httpserver, tmp_path, on_error="continue", max_failures=2)
    with pytest.raises(DeliveryFailedError, match="3 records failed, more than max_failures=2"):
        run_in_process(config, _messages(range(1, 7)))
    # Every record was still tried: continue means continue.
    assert len(httpserver.log) == 6


@pytest.mark.slow
def test_progress_and_summary_lines(httpserver, tmp_path):
    def slow(request):
        time.sleep(0.3)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/v2/items/1").respond_with_handler(slow)
    httpserver.expect_request("/v2/items/2").respond_with_handler(slow)
    config = _config(httpserver, tmp_path, progress_interval=0.1, max_concurrency=1)
    run = run_cli(config, _messages([1, 2]), tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Progress 'items': " in run.stderr
    assert "Summary 'items': 2 records delivered, 0 failed, 0 retries, 0 answered 429" in run.stderr
    assert "Summary (all streams" in run.stderr


def test_large_response_bodies_are_cut_to_a_bounded_size(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json({"blob": "x" * 50_000})
    run_in_process(_config(httpserver, tmp_path), _messages([1]))
    (response,) = read_jsonl(tmp_path / "responses.jsonl")
    assert response["ok"] is True
    # `response` holds only a JSON object (a typed column); a cut body is text.
    assert response["response"] is None
    assert isinstance(response["response_text"], str)
    assert len(response["response_text"]) <= 4096


def test_singer_response_stream_is_typed_and_keyed_by_call_id(httpserver, tmp_path):
    """SQL targets drop an untyped column and upsert by key: every property has a type."""
    for i in (1, 2, 3):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_data("plain text", status=200)
    path = tmp_path / "responses.singer"
    run_in_process(
        _config(httpserver, tmp_path, response_log_path=str(path), response_log_format="singer"),
        _messages([1, 2, 3]),
    )
    schema_msg, *records = read_jsonl(path)
    assert schema_msg["key_properties"] == ["call_id"]
    untyped = [n for n, p in schema_msg["schema"]["properties"].items() if "type" not in p]
    assert untyped == []
    ids = [m["record"]["call_id"] for m in records]
    assert len(set(ids)) == len(ids) == 3
    for message in records:
        jsonschema.validate(message["record"], schema_msg["schema"])
        assert message["record"]["response"] is None
        assert message["record"]["response_text"] == "plain text"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**records[0]["record"], "response": "text"}, schema_msg["schema"])


@pytest.mark.parametrize(
    ("operation", "extra", "resource_id"),
    [
        # The operation table names the key each answer wraps its object under.
        ("incident_update", {"incident_id": "01I", "message": "done"}, "UPDATE"),
        ("incident", {"name": "db down"}, "INCIDENT"),
        # `http` names none: the id is found under any operation's key.
        ("http", {}, "INCIDENT"),
    ],
)
def test_resource_id_is_read_under_the_operations_answer_key(
    httpserver, tmp_path, operation, extra, resource_id
):
    both = {"incident": {"id": "INCIDENT"}, "incident_update": {"id": "UPDATE"}}
    httpserver.expect_request(re.compile(".*")).respond_with_json(both)
    config = _config(httpserver, tmp_path, operation=operation)
    run_in_process(config, [schema("items", {}, ["id"]), record("items", {"id": 1, **extra})])
    (response,) = read_jsonl(tmp_path / "responses.jsonl")
    assert response["resource_id"] == resource_id


def test_progress_lines_only_for_streams_with_work_and_counts_as_fields(
    httpserver, tmp_path, caplog
):
    """Through Python logging: a stream whose counts did not move says nothing again."""

    def slow(request):
        time.sleep(1.2)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/v2/items/1").respond_with_json({})
    httpserver.expect_request("/v2/items/2").respond_with_handler(slow)
    config = _config(httpserver, tmp_path, progress_interval=0.1, max_concurrency=1)
    messages = [
        schema("quick", {"id": {"type": "integer"}}, ["id"]),
        record("quick", {"id": 1}),
        schema("items", {"id": {"type": "integer"}}, ["id"]),
        record("items", {"id": 2}),
    ]
    with caplog.at_level("INFO", logger="target-incidentio"):
        run_in_process(config, messages)
    progress = [r for r in caplog.records if r.getMessage().startswith("Progress ")]
    quick = [r for r in progress if r.stream_name == "quick"]
    # ~12 intervals (0.1 s, the shortest allowed) passed while `items` waited; `quick` had
    # one change to tell.
    assert 1 <= len(quick) <= 2, [r.getMessage() for r in quick]
    assert quick[-1].counts["delivered"] == 1
    assert quick[-1].counts["calls"] == 1
    summaries = {
        r.stream_name: r.counts for r in caplog.records if r.getMessage().startswith("Summary '")
    }
    assert summaries["items"]["delivered"] == 1
    assert summaries["items"]["failed"] == 0
    (total,) = [r for r in caplog.records if r.getMessage().startswith("Summary (all")]
    assert total.counts["delivered"] == 2
