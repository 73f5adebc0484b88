"""No secret in any output, on any path.

The teardown scan in conftest checks every test of this folder (stderr, stdout, logs, response
logs, dead letters, exception texts); these tests drive the paths where a leak is most likely
and check the secrets were really in play.
"""

from __future__ import annotations

import json

import pytest
from reliability_helpers import (
    ALERT_TOKEN,
    API_KEY,
    HOOK_TOKEN,
    SECRETS,
    SOURCE,
    STREAM,
    TICKET_SCHEMA,
    base_config,
    key_of,
    reported,
    run_inline,
    tap,
    ticket,
)
from support import read_jsonl, record, run_cli, schema, singer_lines, state

from incidentio_sandbox import Sandbox


def _hook_url(sb, status=200):
    return f"{sb.url}/_sandbox/echo/hook?_status={status}"


def _files(tmp_path):
    return {p.name: p.read_text() for p in tmp_path.iterdir() if not p.name.startswith("config")}


def _assert_clean(*texts):
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "singer"])
def test_success_with_webhook_leaks_nothing(sandbox, tmp_path, outputs, fmt):
    """Both credentials and the webhook header are used on the wire, and written nowhere."""
    config = base_config(
        sandbox,
        tmp_path,
        response_log_format=fmt,
        response_webhook_url=_hook_url(sandbox),
        streams={"alerts": {"operation": "alert_event"}},
    )
    messages = [*tap(range(3)), schema("alerts", TICKET_SCHEMA, ["ticket_id"])]
    messages += [record("alerts", ticket(9))]
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)

    assert run.returncode == 0, run.stderr[-2000:]
    journal = sandbox.journal()
    hooks = [e for e in journal if e["path"] == "/_sandbox/echo/hook"]
    assert len(hooks) == 4
    assert all(e["headers"]["X-Hook-Token"] == HOOK_TOKEN for e in hooks)
    assert {e["endpoint"] for e in journal if e["status"] in {200, 202}} >= {
        "create_incident",
        "alert_event",
    }
    _assert_clean(run.stdout, run.stderr, *_files(tmp_path).values())


@pytest.mark.slow
def test_retries_and_failures_leak_nothing(tmp_path, outputs):
    """401s (wrong key), 5xx, 429 and resets, a failing webhook, dead letters: all clean."""
    with Sandbox(api_key="another-key", alert_sources={SOURCE: ALERT_TOKEN}) as sb:
        sb.set_faults(fault_rate=0.5, seed=3, fault_kinds=["429", "500", "reset", "malformed-502"])
        config = base_config(
            sb,
            tmp_path,
            response_webhook_url=_hook_url(sb, 503),
            max_retries=2,
            streams={"alerts": {"operation": "alert_event"}},
        )
        messages = [*tap(range(4)), schema("alerts", TICKET_SCHEMA, ["ticket_id"])]
        messages += [record("alerts", ticket(i)) for i in range(10, 14)]
        run = run_cli(config, messages, tmp_path)
        outputs.add(run.stdout, run.stderr)
        statuses = {e["status"] for e in sb.journal()}

    assert run.returncode == 0, run.stderr[-2000:]
    assert 401 in statuses  # the API key really was sent, and refused
    assert {429, 500} & statuses
    assert "Response webhook" in run.stderr
    ledger = reported(tmp_path)
    assert ledger.dead  # the incidents failed for good and were dead-lettered
    _assert_clean(run.stdout, run.stderr, *_files(tmp_path).values())


def test_failed_run_exception_leaks_nothing(tmp_path, outputs):
    """With on_error fail, the error raised and logged names the failure, not the key."""
    with Sandbox(api_key="another-key") as sb:
        config = base_config(sb, tmp_path, on_error="fail")
        _states, error = run_inline(config, tap(range(2)), outputs)
    assert error is not None
    assert "401" in str(error)
    _assert_clean(str(error), repr(error), *_files(tmp_path).values())


@pytest.mark.slow
def test_dry_run_leaks_nothing(sandbox, tmp_path, outputs):
    config = base_config(sandbox, tmp_path, dry_run=True, response_webhook_url=_hook_url(sandbox))
    run = run_cli(config, tap(range(3)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["status"] for r in read_jsonl(tmp_path / "responses.jsonl")] == ["dry_run"] * 3
    # Nothing leaves the machine in a dry run, the response webhook included.
    assert sandbox.journal() == []


@pytest.mark.slow
def test_secret_inside_a_record_is_scrubbed_from_every_output(sandbox, tmp_path, outputs):
    """Records carrying the key: delivered, invalid for the operation, and refused by the API."""
    loose = {"ticket_id": {"type": "integer"}, "name": {}, "summary": {}, "incident_id": {}}
    sent = {"ticket_id": 1, "name": f"leak {API_KEY}", "summary": f"token {ALERT_TOKEN}"}
    invalid = {"ticket_id": 2, "name": [API_KEY, HOOK_TOKEN]}
    edit = {"ticket_id": 3, "incident_id": API_KEY, "summary": "edit of an unknown incident"}
    messages = [
        schema(STREAM, loose, ["ticket_id"]),
        record(STREAM, sent),
        record(STREAM, invalid),
        schema("edits", loose, ["ticket_id"]),
        record("edits", edit),
        state({"p": 3}),
    ]
    config = base_config(sandbox, tmp_path, streams={"edits": {"operation": "incident_edit"}})
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)

    assert run.returncode == 0, run.stderr[-2000:]
    ledger = reported(tmp_path)
    assert key_of(1) in ledger.delivered
    assert ledger.failed[key_of(2)]["status"] == "invalid"
    assert ledger.failed[key_of(3)]["status_code"] == 404
    assert sandbox.state()["incidents"][0]["name"] == sent["name"]  # it did go to incident.io
    assert "***" in json.dumps(read_jsonl(tmp_path / "responses.jsonl"))
    _assert_clean(run.stdout, run.stderr, *_files(tmp_path).values())


@pytest.mark.slow
def test_secret_in_a_record_that_breaks_its_schema_is_not_echoed(sandbox, tmp_path):
    messages = [
        schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
        record(STREAM, {"ticket_id": 1, "name": "x", "summary": {"token": API_KEY}}),
    ]
    config = base_config(sandbox, tmp_path, on_error="fail")
    run = run_cli(config, singer_lines(messages), tmp_path)
    assert run.returncode != 0
    assert "is not of type" in run.stderr
    _assert_clean(run.stderr, *_files(tmp_path).values())


@pytest.mark.slow
def test_unreadable_webhook_header_is_not_echoed(sandbox, tmp_path):
    changes = {"response_webhook_headers": f"X-Hook-Token {HOOK_TOKEN}"}
    run = run_cli(base_config(sandbox, tmp_path, **changes), tap(range(1)), tmp_path)
    assert run.returncode != 0
    assert "response_webhook_headers" in run.stderr
    assert sandbox.journal() == []
    _assert_clean(run.stderr)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"response_webhook_headers": [f"X-Hook-Token: {HOOK_TOKEN}"]}, "response_webhook_headers"),
        ({"api_key": {"value": API_KEY}}, "api_key"),
        ({"alert_source_token": [ALERT_TOKEN]}, "alert_source_token"),
    ],
    ids=["headers-as-list", "api-key-as-object", "token-as-list"],
)
def test_secret_setting_of_the_wrong_type_is_not_echoed(sandbox, tmp_path, changes, setting):
    run = run_cli(base_config(sandbox, tmp_path, **changes), tap(range(1)), tmp_path)
    assert run.returncode != 0
    assert setting in run.stderr
    assert sandbox.journal() == []
    _assert_clean(run.stderr)


@pytest.mark.slow
def test_a_malformed_line_holding_a_secret_is_not_echoed(sandbox, tmp_path, outputs):
    """A line that is not JSON is named by its number, never quoted: it may hold a key."""
    bad = f'{{"type": "RECORD", "stream": "{STREAM}", "record": {{"token": "{API_KEY}"\n'
    for lines, number in (
        (singer_lines([schema(STREAM, TICKET_SCHEMA, ["ticket_id"])]) + bad, 2),
        (bad, 1),  # the very first line, before any message started the run
    ):
        run = run_cli(base_config(sandbox, tmp_path), lines, tmp_path)
        outputs.add(run.stdout, run.stderr)
        assert run.returncode != 0
        assert f"input line {number} is not a Singer message" in run.stderr
        assert "Traceback" not in run.stderr
        assert sandbox.journal() == []
        _assert_clean(run.stdout, run.stderr)
        assert API_KEY[:12] not in run.stderr
