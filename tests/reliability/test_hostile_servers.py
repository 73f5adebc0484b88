"""Servers that misbehave on purpose: every run still ends, in bounded time and memory."""

from __future__ import annotations

import json
import signal
import time

import pytest
from hostile_server import HostileServer, answer, drip_body, drip_headers, endless_body
from reliability_helpers import (
    HOOK_TOKEN,
    LiveRun,
    base_config,
    reported,
    run_inline,
    tap,
    wait_until,
)

TIMEOUT = 1.0
# What a run may take beyond the bound it promises: start-up, a thread switch, the summary.
SLACK = 2.5


def _config(url, tmp_path, **extra):
    settings = {"request_timeout": TIMEOUT, "max_retries": 0, **extra}
    return base_config(url, tmp_path, operation="http", api_url="/v2/things", **settings)


def _timed(behaviour, tmp_path, outputs, **extra):
    """Run one record against a misbehaving server; seconds the run took."""
    with HostileServer(behaviour) as server:
        started = time.monotonic()
        run_inline(_config(server.url, tmp_path, **extra), tap([1]), outputs)
        return time.monotonic() - started


@pytest.mark.timeout(60)
def test_a_server_dripping_its_body_cannot_hold_a_call_past_request_timeout(tmp_path, outputs):
    assert _timed(drip_body(interval=0.2), tmp_path, outputs) < TIMEOUT + SLACK
    # The status came in time: it decides (a 200 was accepted), the body is what came.
    assert reported(tmp_path).delivered == {"ticket_id=1"}


@pytest.mark.timeout(60)
def test_a_server_dripping_its_headers_is_a_timeout(tmp_path, outputs):
    assert _timed(drip_headers(interval=0.2), tmp_path, outputs) < TIMEOUT + SLACK
    failed = reported(tmp_path).failed["ticket_id=1"]
    assert "request_timeout" in failed["error"]["message"]


@pytest.mark.timeout(60)
def test_an_endless_body_is_read_only_in_part(tmp_path, outputs):
    # Not the 30 s deadline: the read stopped at its byte limit and dropped the connection.
    assert _timed(endless_body(422), tmp_path, outputs, request_timeout=30) < SLACK
    failed = reported(tmp_path).failed["ticket_id=1"]
    assert failed["status_code"] == 422
    assert len(json.dumps([failed["response"], failed["response_text"]])) < 5000


@pytest.mark.timeout(60)
def test_a_dripping_webhook_cannot_hold_the_run_past_its_budget(tmp_path, outputs):
    with HostileServer(answer(200)) as api, HostileServer(drip_headers(0.2)) as hook:
        config = _config(
            api.url,
            tmp_path,
            request_timeout=30,
            response_webhook_url=f"{hook.url}/hook",
            response_webhook_timeout=TIMEOUT,
        )
        started = time.monotonic()
        run_inline(config, tap([1]), outputs)
        elapsed = time.monotonic() - started
        assert hook.seen
    assert elapsed < TIMEOUT + SLACK
    assert reported(tmp_path).delivered == {"ticket_id=1"}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigterm_ends_a_run_whose_call_hangs_within_request_timeout(tmp_path, outputs):
    """A first record confirmed, a second hanging: SIGTERM ends the run, state after the first."""
    hang = drip_headers(0.5)
    ok = answer(200)

    def behave(conn, seen, stop):
        (hang if b'"ticket_id": 2' in seen.body else ok)(conn, seen, stop)

    with HostileServer(behave) as server:
        config = _config(server.url, tmp_path, request_timeout=3, max_retries=5, on_error="fail")
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        run = LiveRun(path, tap([1, 2], every=1))
        wait_until(lambda: len(server.seen) >= 2 and run.states)
        started = time.monotonic()
        run.signal(signal.SIGTERM)
        code = run.wait(timeout=60)
        elapsed = time.monotonic() - started
    outputs.add(run.stderr, *run.stdout_lines)
    assert elapsed < 3 + SLACK, run.stderr[-2000:]
    assert run.states[-1] == {"bookmarks": {"tickets": {"ticket_id": 1}}}
    assert code != 0
    assert "Traceback" not in run.stderr
    assert HOOK_TOKEN not in run.stderr


@pytest.mark.parametrize("code", [302, 307, 308])
def test_the_webhook_headers_never_follow_a_redirect(tmp_path, outputs, caplog, code):
    with (
        HostileServer(answer(200)) as api,
        HostileServer(answer(200)) as elsewhere,
    ):
        landing = f"http://localhost:{elsewhere.port}/landing"
        with HostileServer(answer(code, b"", {"Location": landing})) as hook:
            config = _config(api.url, tmp_path, response_webhook_url=f"{hook.url}/hook")
            run_inline(config, tap([1]), outputs)
            assert hook.seen[0].headers["x-hook-token"] == HOOK_TOKEN
    assert elsewhere.seen == []
    assert reported(tmp_path).delivered == {"ticket_id=1"}
    assert "Response webhook post failed" in caplog.text
    assert "did not arrive" in caplog.text
