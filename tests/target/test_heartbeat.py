"""The heartbeat: one ping after a run that delivered everything, and never otherwise."""

from __future__ import annotations

import logging

import pytest
from support import read_jsonl, record, run_cli, run_in_process, schema, state

from incidentio_sandbox import Sandbox
from target_incidentio.core.errors import DeliveryFailedError
from target_incidentio.core.secrets import Redactor
from target_incidentio.operations import parse_settings
from target_incidentio.run.lifecycle import Run

API_KEY = "ik-test-heartbeat-api-key"
SOURCE = "01HHEARTBEATALERTS00000000"
TOKEN = "as-test-heartbeat-alert-token"
HEARTBEAT = "01HHEARTBEATSOURCE00000000"
HEARTBEAT_TOKEN = "hb-SENTINEL-heartbeat-token"
STREAM = "checks"
PING_PATH = f"/v2/heartbeat/{HEARTBEAT}/ping"


@pytest.fixture
def sandbox():
    with Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: TOKEN},
        heartbeat_sources={HEARTBEAT: HEARTBEAT_TOKEN},
    ) as sb:
        yield sb


def config(sb: Sandbox, tmp_path, **extra) -> dict:
    return {
        "api_key": API_KEY,
        "alert_source_token": TOKEN,
        "alert_source_config_id": SOURCE,
        "heartbeat_alert_source_config_id": HEARTBEAT,
        "heartbeat_token": HEARTBEAT_TOKEN,
        "base_url": sb.url,
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "progress_interval": 60,
        "max_retry_wait": 0.05,
        "alert_source_rate_limit_per_minute": 60_000,
        **extra,
    }


def tap(count: int = 3) -> list[dict]:
    return [
        schema(STREAM, {"id": {"type": "integer"}, "title": {"type": "string"}}, ["id"]),
        *(record(STREAM, {"id": i, "title": f"check {i} failing"}) for i in range(count)),
        state({"done": count}),
    ]


def pings(sb: Sandbox) -> list[dict]:
    return sb.journal(path=PING_PATH)


def test_one_ping_after_a_clean_run(sandbox, tmp_path, openapi_validator, caplog):
    with caplog.at_level(logging.INFO, logger="target-incidentio"):
        states = run_in_process(config(sandbox, tmp_path), tap())

    assert states == [{"done": 3}]
    assert sandbox.state()["counts"]["heartbeat_pings"] == 1
    [ping] = pings(sandbox)
    assert sandbox.journal()[-1] == ping  # after every record's call
    assert (ping["method"], ping["status"], ping["body"]) == ("POST", 204, None)
    assert ping["query"] == {}  # the token travels as Bearer, never in the URL
    assert ping["headers"]["Authorization"] == "Bearer ***"
    openapi_validator("POST", sandbox.url + ping["path"], None, ping["headers"])
    [logged] = [
        r for r in read_jsonl(tmp_path / "responses.jsonl") if r["operation"] == "heartbeat"
    ]
    assert (logged["status"], logged["status_code"], logged["record_count"]) == (
        "delivered",
        204,
        0,
    )
    assert "Heartbeat pinged" in caplog.text
    assert HEARTBEAT_TOKEN not in caplog.text
    assert HEARTBEAT_TOKEN not in (tmp_path / "responses.jsonl").read_text()


def test_no_heartbeat_configured_no_ping(sandbox, tmp_path):
    settings = config(sandbox, tmp_path)
    del settings["heartbeat_alert_source_config_id"], settings["heartbeat_token"]
    run_in_process(settings, tap())
    assert pings(sandbox) == []


def test_a_run_with_no_input_still_pings(sandbox, tmp_path):
    # A tap with nothing to say ran all the same: the heartbeat must not go quiet.
    assert run_in_process(config(sandbox, tmp_path), []) == []
    assert len(pings(sandbox)) == 1


def test_no_ping_after_a_failed_run(sandbox, tmp_path):
    sandbox.set_faults(script=[{"path": "/v2/alert_events/http/*", "fault": "400", "count": 1}])
    with pytest.raises(DeliveryFailedError):
        run_in_process(config(sandbox, tmp_path), tap())
    assert pings(sandbox) == []
    assert sandbox.state()["counts"]["heartbeat_pings"] == 0


def test_no_ping_when_a_record_failed_even_if_the_run_goes_on(sandbox, tmp_path):
    # `on_error: continue` exits 0, but not every record was delivered.
    sandbox.set_faults(script=[{"path": "/v2/alert_events/http/*", "fault": "400", "count": 1}])
    states = run_in_process(config(sandbox, tmp_path, on_error="continue"), tap())
    assert states == [{"done": 3}]
    assert pings(sandbox) == []


def test_no_ping_in_a_dry_run(sandbox, tmp_path):
    run_in_process(config(sandbox, tmp_path, dry_run=True), tap())
    assert sandbox.journal() == []


def test_no_ping_when_the_input_did_not_end(sandbox, tmp_path):
    # A run stopped before the end of its input (SIGTERM) finishes cleanly, without a ping;
    # the same run with its input ended pings. Both without a record, so only that differs.
    settings = parse_settings(config(sandbox, tmp_path))
    stopped = Run(settings, Redactor([]), lambda _line: None)
    stopped.start()
    stopped.finish()
    assert pings(sandbox) == []
    ended = Run(settings, Redactor([]), lambda _line: None)
    ended.start()
    ended.end_streams()
    ended.finish()
    assert len(pings(sandbox)) == 1


def test_a_failed_ping_is_retried(sandbox, tmp_path):
    sandbox.set_faults(script=[{"path": PING_PATH, "fault": "503", "count": 2}])
    run_in_process(config(sandbox, tmp_path), tap())
    assert [p["status"] for p in pings(sandbox)] == [503, 503, 204]
    assert sandbox.state()["counts"]["heartbeat_pings"] == 1


@pytest.mark.slow
def test_a_failed_ping_never_fails_a_run_that_delivered_everything(sandbox, tmp_path):
    run = run_cli(
        config(sandbox, tmp_path, heartbeat_token="hb-SENTINEL-wrong-token"), tap(), tmp_path
    )

    assert run.returncode == 0, run.stderr
    assert run.states == [{"done": 3}]
    assert [p["status"] for p in pings(sandbox)] == [401]  # a 401 is not retried
    assert "Heartbeat ping failed (the run itself delivered everything)" in run.stderr
    assert "HTTP 401" in run.stderr
    assert "hb-SENTINEL-wrong-token" not in run.stderr
    [logged] = [
        r for r in read_jsonl(tmp_path / "responses.jsonl") if r["operation"] == "heartbeat"
    ]
    assert (logged["status"], logged["ok"]) == ("rejected", False)
