"""The generic `http` operation over real loopback HTTP: what the server receives."""

from __future__ import annotations

import json

import pytest
from support import http_config, read_jsonl, record, run_cli, run_in_process, schema, state

API_KEY = "sk-live-DISTINCTIVE-7f3a9c"
PROPS = {"id": {"type": "integer"}, "title": {"type": "string"}, "owner": {"type": "object"}}


def _config(httpserver, tmp_path, **extra):
    return http_config(httpserver.url_for("/"), tmp_path, API_KEY, **extra)


def _messages(n=3, stream="tickets"):
    yield schema(stream, PROPS, ["id"])
    for i in range(1, n + 1):
        yield record(stream, {"id": i, "title": f"T{i}", "owner": {"email": "x@y.z", "n": i}})
    yield state({"bookmarks": {stream: {"id": n}}})


def test_posts_each_record_with_auth_and_headers(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1", method="PUT").respond_with_json({"ok": 1})
    httpserver.expect_request("/v2/items/2", method="PUT").respond_with_json({"ok": 2})
    config = _config(
        httpserver,
        tmp_path,
        method="PUT",
        request_headers="X-Team:payments,X-Env:test",
        exclude_attributes=["owner.email"],
    )
    states = run_in_process(config, _messages(2))

    assert states == [{"bookmarks": {"tickets": {"id": 2}}}]
    received = sorted(httpserver.log, key=lambda pair: pair[0].path)
    assert [r.path for r, _ in received] == ["/v2/items/1", "/v2/items/2"]
    req = received[0][0]
    assert req.method == "PUT"
    assert req.headers["Authorization"] == f"Bearer {API_KEY}"
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-Team"] == "payments"
    assert req.headers["X-Env"] == "test"
    assert req.get_json() == {"id": 1, "title": "T1", "owner": {"n": 1}}

    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert len(responses) == 2
    first = next(r for r in responses if r["record_keys"] == ["id=1"])
    assert first["ok"] is True
    assert first["status"] == "delivered"
    assert first["status_code"] == 200
    assert first["attempts"] == 1
    assert first["record_count"] == 1
    assert first["method"] == "PUT"
    assert first["url"].endswith("/v2/items/1")
    assert first["response"] == {"ok": 1}
    assert first["error"] is None
    assert first["sent_at"]
    assert API_KEY not in json.dumps(responses)


@pytest.mark.parametrize(("wrapper", "expected"), [(None, list), ("entries", dict)])
def test_batches_array_or_wrapped(httpserver, tmp_path, wrapper, expected):
    httpserver.expect_request("/v2/bulk", method="POST").respond_with_json({}, status=202)
    config = _config(httpserver, tmp_path, api_url="/v2/bulk", batch_size_rows=2)
    if wrapper:
        config["batch_wrapper_key"] = wrapper
    run_in_process(config, _messages(5))

    bodies = [r.get_json() for r, _ in httpserver.log]
    assert all(isinstance(b, expected) for b in bodies)
    items = [item for b in bodies for item in (b[wrapper] if wrapper else b)]
    assert sorted(i["id"] for i in items) == [1, 2, 3, 4, 5]
    assert sorted(len(b[wrapper] if wrapper else b) for b in bodies) == [1, 2, 2]
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(r["record_count"] for r in responses) == [1, 2, 2]


def test_record_metadata_only_when_asked(httpserver, tmp_path):
    httpserver.expect_request("/v2/bulk").respond_with_json({})
    run_in_process(_config(httpserver, tmp_path, api_url="/v2/bulk"), _messages(1))
    run_in_process(
        _config(httpserver, tmp_path, api_url="/v2/bulk", add_record_metadata=True), _messages(1)
    )
    without, with_meta = (r.get_json() for r, _ in httpserver.log)
    assert not any(k.startswith("_sdc_") for k in without)
    assert "_sdc_received_at" in with_meta


def test_dry_run_sends_nothing_and_logs_as_if_sent(httpserver, tmp_path):
    states = run_in_process(_config(httpserver, tmp_path, dry_run=True), _messages(3))
    assert httpserver.log == []
    # A dry run emits no state: Meltano would store it, and the next real run skip the records.
    assert states == []
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert [r["status"] for r in responses] == ["dry_run"] * 3
    assert all(r["ok"] and r["status_code"] is None for r in responses)
    assert min(r["url"] for r in responses).endswith("/v2/items/1")


@pytest.mark.slow
def test_rejected_record_stops_the_run_with_a_clear_message(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json({"ok": True})
    httpserver.expect_request("/v2/items/2").respond_with_json(
        {
            "type": "validation_error",
            "status": 422,
            "request_id": "req-42",
            "errors": [
                {
                    "code": "is_required",
                    "message": "A severity is required",
                    "source": {"field": "severity_id"},
                }
            ],
        },
        status=422,
    )
    run = run_cli(_config(httpserver, tmp_path, max_concurrency=1), _messages(3), tmp_path)

    assert run.returncode != 0
    assert run.states == []  # no state past an unconfirmed record
    assert "stream 'tickets'" in run.stderr
    assert "id=2" in run.stderr
    assert "422" in run.stderr
    assert "is_required" in run.stderr
    assert "severity_id" in run.stderr
    assert API_KEY not in run.stderr
    paths = [r.path for r, _ in httpserver.log]
    assert paths.count("/v2/items/2") == 1  # a 422 is never retried
    assert "/v2/items/3" not in paths  # nothing sent after the failure
    rejected = [r for r in read_jsonl(tmp_path / "responses.jsonl") if not r["ok"]]
    assert rejected[0]["error"]["errors"] == [
        {"code": "is_required", "message": "A severity is required", "field": "severity_id"}
    ]


@pytest.mark.slow
def test_stdout_carries_only_state(httpserver, tmp_path):
    httpserver.expect_request("/v2/bulk").respond_with_json({})
    run = run_cli(_config(httpserver, tmp_path, api_url="/v2/bulk"), _messages(3), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"bookmarks": {"tickets": {"id": 3}}}]
    assert len(run.stdout.splitlines()) == 1
    assert "Summary" in run.stderr
    assert API_KEY not in run.stderr
    # Records go out as they arrive: no SDK drain (and its log lines) per record.
    assert "is full" not in run.stderr


@pytest.mark.slow
def test_fractional_numbers_and_datetimes_travel_as_json(httpserver, tmp_path):
    httpserver.expect_request("/v2/bulk").respond_with_json({})
    messages = [
        schema(
            "metrics",
            {
                "id": {"type": "integer"},
                "cpu": {"type": "number"},
                "at": {"type": "string", "format": "date-time"},
            },
            ["id"],
        ),
        record("metrics", {"id": 1, "cpu": 0.97, "at": "2026-11-26T10:00:00+00:00"}),
    ]
    run = run_cli(_config(httpserver, tmp_path, api_url="/v2/bulk"), messages, tmp_path)
    assert run.returncode == 0, run.stderr
    ((request, _),) = httpserver.log
    assert request.get_json() == {"id": 1, "cpu": 0.97, "at": "2026-11-26T10:00:00+00:00"}
