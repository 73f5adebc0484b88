"""Settings as Meltano passes them, and the start of a run: refused, warned, read, or one message.

Through the CLI against a loopback server, asserting on what the server received (nothing,
when a setting is refused).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import typing as t

import pytest
from singer_sdk.exceptions import ConfigValidationError
from support import http_config, read_jsonl, record, run_cli, schema, state

from target_incidentio.target import TargetIncidentIO

if t.TYPE_CHECKING:
    from pathlib import Path

API_KEY = "ik-settings-SECRET-51dd"
HOOK_TOKEN = "hook-settings-SECRET-0e3"
PREFIX = "TARGET_INCIDENTIO_"


def _messages(n: int = 2) -> list[dict[str, t.Any]]:
    return [
        schema("items", {"id": {"type": "integer"}, "title": {"type": "string"}}, ["id"]),
        *(record("items", {"id": i, "title": f"item {i}"}) for i in range(1, n + 1)),
        state({"items": n}),
    ]


def _input(messages: list[dict[str, t.Any]]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def run_with_env(
    env: dict[str, str], messages: list[dict[str, t.Any]]
) -> subprocess.CompletedProcess[str]:
    """`target-incidentio --config ENV`: every setting from the environment, as Meltano can."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    return subprocess.run(
        [sys.executable, "-m", "target_incidentio", "--config", "ENV"],
        input=_input(messages),
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


def _env(httpserver, tmp_path: Path, **settings: str) -> dict[str, str]:
    base = {
        "api_key": API_KEY,
        "base_url": httpserver.url_for("/").rstrip("/"),
        "operation": "http",
        "api_url": "/v2/items/{id}",
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "progress_interval": "60",
        **settings,
    }
    return {PREFIX + name.upper(): value for name, value in base.items()}


# -- --config ENV ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_headers", "hook_headers", "expected"),
    [
        ("X-A:1,X-B:two", f"X-Hook-Token:{HOOK_TOKEN}", {"X-A": "1", "X-B": "two"}),
        (
            '{"X-A": "1", "X-B": "two", "X-N": 3}',
            json.dumps({"X-Hook-Token": HOOK_TOKEN}),
            {"X-A": "1", "X-B": "two", "X-N": "3"},
        ),
    ],
    ids=["name-value", "json-object"],
)
def test_env_headers_in_both_forms_reach_the_server(
    httpserver, tmp_path, request_headers, hook_headers, expected
):
    for i in (1, 2):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_json({})
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    env = _env(
        httpserver,
        tmp_path,
        request_headers=request_headers,
        response_webhook_url=httpserver.url_for("/hook"),
        response_webhook_headers=hook_headers,
        max_concurrency="1",
        max_retries="0",
        request_timeout="7.5",
        dry_run="false",
    )
    run = run_with_env(env, _messages())

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == '{"items":2}\n'
    calls = [r for r, _ in httpserver.log if r.path.startswith("/v2/items/")]
    hooks = [r for r, _ in httpserver.log if r.path == "/hook"]
    assert len(calls) == 2
    assert len(hooks) == 2
    for request in calls:
        assert {k: request.headers.get(k) for k in expected} == expected
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert "X-Hook-Token" not in request.headers
    for request in hooks:
        assert request.headers["X-Hook-Token"] == HOOK_TOKEN
        assert "Authorization" not in request.headers
    assert HOOK_TOKEN not in run.stderr
    assert API_KEY not in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("max_retries", "abc", "must be a number, got 'abc'"),
        ("request_timeout", "soon", "must be a number"),
        ("dry_run", "perhaps", "must be true or false"),
        ("request_headers", "{not json", "cannot be read as JSON"),
        ("request_headers", "no-colon-here", "cannot read item 1 as a `name:value` header"),
        ("custom_fields", "team", "cannot be read as JSON"),
    ],
)
def test_an_unreadable_env_value_names_the_setting_and_the_variable(
    httpserver, tmp_path, name, value, message
):
    run = run_with_env(_env(httpserver, tmp_path, **{name: value}), _messages())
    assert run.returncode != 0
    assert f"Setting `{name}`" in run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert httpserver.log == []


# -- the API key goes only to base_url's origin ---------------------------------------------------


@pytest.mark.slow
def test_an_absolute_api_url_on_another_host_is_refused_at_start(httpserver, tmp_path):
    config = http_config(
        httpserver.url_for("/"), tmp_path, API_KEY, api_url="https://collector.example/v2/x"
    )
    run = run_cli(config, _messages(), tmp_path)
    assert run.returncode != 0
    assert "Setting `api_url`" in run.stderr
    assert "`base_url`" in run.stderr
    assert "another host" in run.stderr
    assert API_KEY not in run.stderr
    assert run.stdout == ""
    assert httpserver.log == []


@pytest.mark.parametrize(
    "api_url",
    [
        "http://127.0.0.2:{port}/v2/items/{{id}}",  # another loopback host
        "http://localhost:1/v2/items/{{id}}",  # same host name, another port
        "http://localhost:{port}.evil.example/v2/{{id}}",  # not a port: named, not a crash
    ],
)
def test_other_origins_are_refused_too(httpserver, tmp_path, api_url):
    url = api_url.format(port=httpserver.port)
    with pytest.raises(ConfigValidationError, match="Setting `api_url`") as caught:
        TargetIncidentIO(
            config=http_config(httpserver.url_for("/"), tmp_path, API_KEY, api_url=url)
        )
    assert API_KEY not in str(caught.value)


@pytest.mark.slow
def test_an_absolute_api_url_on_base_urls_origin_gets_the_key(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    httpserver.expect_request("/v2/items/2").respond_with_json({})
    url = httpserver.url_for("/v2/items/{id}")
    run = run_cli(
        http_config(httpserver.url_for("/"), tmp_path, API_KEY, api_url=url), _messages(), tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert {r.headers["Authorization"] for r, _ in httpserver.log} == {f"Bearer {API_KEY}"}


# -- one clear message for a fatal failure --------------------------------------------------------


REJECTION = {
    "type": "validation_error",
    "status": 422,
    "request_id": "req-fatal",
    "errors": [{"code": "invalid", "message": "title too dull", "source": {"field": "title"}}],
}


@pytest.mark.slow
@pytest.mark.parametrize("debug", [None, f"{PREFIX}LOGLEVEL", "LOGLEVEL"])
def test_a_fatal_failure_is_one_message_and_the_traceback_only_at_debug(
    httpserver, tmp_path, debug
):
    httpserver.expect_request("/v2/items/1").respond_with_json(REJECTION, status=422)
    config = http_config(httpserver.url_for("/"), tmp_path, API_KEY, max_concurrency=1)
    run = run_cli(config, _messages(1), tmp_path, env={debug: "DEBUG"} if debug else None)

    assert run.returncode == 1
    assert run.stdout == ""
    message = "stream 'items', record id=1: POST /v2/items/1: rejected (HTTP 422"
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, errors
    assert message in errors[0]
    assert "title too dull" in errors[0]
    assert "req-fatal" in errors[0]
    if debug:
        # The traceback (at DEBUG only) ends with the exception, so the text shows again there.
        assert "Traceback (most recent call last)" in run.stderr
    else:
        assert run.stderr.count(message) == 1
        assert "Traceback" not in run.stderr
    assert API_KEY not in run.stderr


# -- settings that would do nothing ---------------------------------------------------------------


HTTP = {"operation": "http", "api_url": "/v2/items/{id}", "api_key": API_KEY}


@pytest.mark.parametrize(
    ("config", "setting", "words"),
    [
        ({**HTTP, "operaton": "incident"}, "operaton", "did you mean `operation`?"),
        ({**HTTP, "api_urll": "/v2/x"}, "api_urll", "did you mean `api_url`?"),
        ({**HTTP, "zzzz": 1}, "zzzz", "is not a setting of target-incidentio"),
        ({**HTTP, "load_method": "upsert"}, "load_method", "'upsert' is not one of append-only"),
        (
            {"operation": "incident", "api_key": API_KEY, "batch_size_rows": 10},
            "batch_size_rows",
            "sends one record per call",
        ),
        (
            {
                **HTTP,
                "api_url": "/v2/things",
                "streams": {"t": {"operation": "incident", "batch_size_rows": 5}},
            },
            "streams.t.batch_size_rows",
            "sends one record per call",
        ),
        (
            {**HTTP, "response_log_format": "singer"},
            "response_log_format",
            "`response_log_path`, which is not set",
        ),
        (
            {**HTTP, "request_headers": {"Content-Type": "text/plain"}},
            "request_headers",
            "'Content-Type' is set by the target itself",
        ),
        ({**HTTP, "method": "DELETE"}, "method", "'DELETE' is not one of POST, PUT, PATCH"),
    ],
)
def test_settings_that_would_do_nothing_are_refused_naming_the_setting(config, setting, words):
    with pytest.raises(ConfigValidationError) as caught:
        TargetIncidentIO(config=config)
    message = str(caught.value)
    assert f"Setting `{setting}`" in message
    assert words in message
    if setting == "request_headers":
        assert "Authorization" not in message
    assert API_KEY not in message


@pytest.mark.slow
def test_an_unknown_setting_on_the_command_line(httpserver, tmp_path):
    config = {**http_config(httpserver.url_for("/"), tmp_path, API_KEY), "max_retry": 3}
    run = run_cli(config, _messages(), tmp_path)
    assert run.returncode != 0
    assert "Setting `max_retry`: is not a setting of target-incidentio" in run.stderr
    assert "did you mean `max_retries`?" in run.stderr
    assert "Traceback" not in run.stderr
    assert httpserver.log == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["put", " Put ", "PUT"])
def test_method_is_normalised(httpserver, tmp_path, method):
    httpserver.expect_request("/v2/items/1", method="PUT").respond_with_json({})
    config = http_config(httpserver.url_for("/"), tmp_path, API_KEY, method=method)
    run = run_cli(config, _messages(1), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [r.method for r, _ in httpserver.log] == ["PUT"]
    assert read_jsonl(tmp_path / "responses.jsonl")[0]["method"] == "PUT"


@pytest.mark.parametrize(
    ("config", "setting", "read_by"),
    [
        ({**HTTP, "catalog_type_id": "01HTYPE"}, "catalog_type_id", "`catalog_entry`"),
        (
            {**HTTP, "streams": {"t": {"operation": "incident", "method": "PUT"}}},
            "streams.t.method",
            "`http`",
        ),
        ({**HTTP, "incident_visibility": "private"}, "incident_visibility", "`incident`"),
    ],
)
def test_per_stream_settings_no_operation_reads_are_warned(caplog, config, setting, read_by):
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        TargetIncidentIO(config=config)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"Setting `{setting}` does nothing for operation" in warnings[0]
    assert f"it is read by {read_by}" in warnings[0]


def test_settings_an_operation_reads_are_not_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        TargetIncidentIO(config={**HTTP, "method": "PUT", "batch_wrapper_key": "items"})
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.slow
def test_an_unread_setting_is_warned_on_the_command_line(httpserver, tmp_path):
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    config = http_config(httpserver.url_for("/"), tmp_path, API_KEY, catalog_type_id="01HTYPE")
    run = run_cli(config, _messages(1), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("Setting `catalog_type_id` does nothing for operation `http`") == 1


@pytest.mark.parametrize("setting", ["base_url", "api_url", "response_webhook_url"])
def test_a_port_that_is_not_a_number_names_the_setting(setting):
    config = {**HTTP, "base_url": "https://api.example", setting: "https://api.example:44x/v2"}
    with pytest.raises(ConfigValidationError) as caught:
        TargetIncidentIO(config=config)
    assert f"Setting `{setting}`: 'https://api.example:44x/v2' has a port" in str(caught.value)
