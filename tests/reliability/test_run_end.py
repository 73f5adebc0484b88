"""How a run ends: a failing response webhook cannot hold it, and a failure under `on_error: fail`
lets no waiting call start.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
from reliability_helpers import HOOK_TOKEN, STREAM, base_config, key_of, tap, wait_until
from support import read_jsonl, run_cli
from werkzeug import Response

RECORDS = 30
BUDGET = 1.0


def _retry_much_later(_request):
    return Response("down for maintenance", status=503, headers={"Retry-After": "3600"})


def _slow_failure(_request):
    time.sleep(2)
    return Response("still down", status=503)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("handler", "longest_post"),
    [(_retry_much_later, 0.0), (_slow_failure, 2.0)],
    ids=["retry-after-an-hour", "slow-503"],
)
def test_a_failing_webhook_cannot_hold_a_finished_run(
    sandbox, httpserver, tmp_path, outputs, handler, longest_post
):
    httpserver.expect_request("/hook").respond_with_handler(handler)
    config = base_config(
        sandbox,
        tmp_path,
        response_webhook_url=httpserver.url_for("/hook"),
        response_webhook_timeout=BUDGET,
        # As a user would have it: Retry-After honoured up to a minute, 8 retries.
        max_retries=8,
        max_retry_wait=60,
        request_timeout=10,
    )
    started = time.monotonic()
    run = run_cli(config, tap(range(RECORDS)), tmp_path, timeout=120)
    elapsed = time.monotonic() - started
    outputs.add(run.stdout, run.stderr)

    # Delivery and the exit code do not depend on the webhook.
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states[-1] == {"bookmarks": {STREAM: {"ticket_id": RECORDS - 1}}}
    assert len(sandbox.state()["incidents"]) == RECORDS
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(k for r in responses for k in r["record_keys"]) == sorted(
        key_of(i) for i in range(RECORDS)
    )
    assert all(r["status"] == "delivered" for r in responses)
    # Without the budget: minutes (an hour's Retry-After capped to 60 s, or 2 s a post, for
    # each of 30 posts). With it: the budget after the last call, and at most one post that
    # was under way when the budget ran out.
    assert elapsed < 30, f"the run took {elapsed:.1f} s"
    after_last_call = _logged_at(run.stderr, "Response webhook: ") - _logged_at(
        run.stderr, "Summary (all streams"
    )
    assert after_last_call <= BUDGET + longest_post + 0.5, after_last_call
    found = re.search(
        r"Response webhook: (\d+) posts failed; (\d+) of (\d+) response records were not posted",
        run.stderr,
    )
    assert found, run.stderr[-3000:]
    assert int(found.group(3)) == RECORDS
    assert int(found.group(2)) >= RECORDS - 1  # all, or all but one posted before the budget
    assert HOOK_TOKEN not in run.stderr
    # A post cut at the budget is logged once its handler returns: wait for it here, or it
    # would land in the next test's log of the shared server.
    wait_until(lambda: len(httpserver.log) >= 1, timeout=5)
    time.sleep(longest_post)
    assert {r.headers.get("X-Hook-Token") for r, _ in httpserver.log} == {HOOK_TOKEN}


def _logged_at(stderr: str, text: str) -> float:
    """When the log line holding `text` was written, in seconds."""
    line = next(line for line in stderr.splitlines() if text in line)
    stamp = datetime.strptime(line[:23] + "+0000", "%Y-%m-%d %H:%M:%S,%f%z")
    return stamp.timestamp()


def _first_fails_slowly(request):
    if request.path.endswith("/1"):
        time.sleep(0.5)  # the others queue up behind it meanwhile
        return Response(
            '{"type": "validation_error", "status": 422, "errors": []}',
            status=422,
            content_type="application/json",
        )
    return Response("{}", status=200, content_type="application/json")


@pytest.mark.slow
def test_calls_waiting_for_a_slot_do_not_start_after_a_failure(httpserver, tmp_path, outputs):
    """`on_error: fail`, one call at a time: once the first fails, the queued ones never start."""
    records = 6  # all queue behind the first (max_concurrency 1 keeps 8 pending)
    httpserver.expect_request(re.compile(r"/v2/items/\d+")).respond_with_handler(
        _first_fails_slowly
    )
    config = base_config(
        httpserver.url_for("/").rstrip("/"),
        tmp_path,
        operation="http",
        api_url="/v2/items/{ticket_id}",
        on_error="fail",
        max_concurrency=1,
        max_retries=0,
    )
    run = run_cli(config, tap(range(1, records + 1), every=1), tmp_path)
    outputs.add(run.stdout, run.stderr)

    assert run.returncode == 1
    assert [r.path for r, _ in httpserver.log] == ["/v2/items/1"]
    assert run.states == []  # no state past (or before) the failed record
    assert (
        "stream 'tickets', record ticket_id=1: POST /v2/items/1: rejected (HTTP 422" in run.stderr
    )
    assert (
        f"Summary '{STREAM}': 0 records delivered, 1 failed, 0 retries, 0 answered 429, "
        f"1 calls at" in run.stderr
    )
    assert f", {records - 1} not sent (run stopped)" in run.stderr
    assert f"{records - 1} records were not sent because the run stopped" in run.stderr
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert [r["record_keys"] for r in responses] == [[key_of(1)]]
