"""`dry_run`: every request it would send is logged at INFO, secrets masked; nothing leaves.

No STATE either, on purpose: Meltano would store it, and the next real run would skip the
records this run only pretended to send.
"""

from __future__ import annotations

import json
import re

import pytest
from support import http_config, read_jsonl, record, run_cli, schema, state

from incidentio_sandbox import Sandbox

API_KEY = "ik-dryrun-SECRET-c9e1"
TOKEN = "as-dryrun-SECRET-4b7d"
HOOK_TOKEN = "hook-dryrun-SECRET-22aa"
SOURCE = "01HDRYRUNSOURCE0000000000"
LINE = re.compile(r"\| INFO .*Dry run, not sent: (\S+) (\S+) headers=(\{.*?\}) body=(.*)$")


def _messages(stream: str, rows: list[dict]) -> list[dict]:
    props = {"id": {"type": "integer"}, "title": {"type": "string"}}
    return [schema(stream, props, ["id"]), *(record(stream, r) for r in rows), state({"p": 1})]


def _dry_lines(stderr: str) -> list[tuple[str, str, dict, object]]:
    found = []
    for line in stderr.splitlines():
        match = LINE.search(line)
        if match:
            method, url, headers, body = match.groups()
            found.append((method, url, json.loads(headers), json.loads(body)))
    return found


@pytest.mark.slow
def test_http_dry_run_logs_each_request_and_sends_nothing(httpserver, tmp_path):
    rows = [{"id": i, "title": f"item {i}"} for i in (1, 2, 3)]
    config = http_config(
        httpserver.url_for("/"),
        tmp_path,
        API_KEY,
        dry_run=True,
        method="PUT",
        request_headers="X-Team:payments",
        response_webhook_url=httpserver.url_for("/hook"),
        response_webhook_headers={"X-Hook-Token": HOOK_TOKEN},
    )
    run = run_cli(config, _messages("items", rows), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert httpserver.log == []  # not the calls, not the webhook
    assert run.stdout == ""  # no STATE
    logged = sorted(_dry_lines(run.stderr), key=lambda entry: entry[1])
    base = httpserver.url_for("/").rstrip("/")
    assert logged == [
        (
            "PUT",
            f"{base}/v2/items/{row['id']}",
            {
                "Authorization": "Bearer ***",
                "Content-Type": "application/json",
                "X-Team": "payments",
            },
            row,
        )
        for row in rows
    ]
    assert "Summary 'items': 3 records would send" in run.stderr
    assert "delivered" not in run.stderr
    assert "Dry run: nothing was sent and no state was emitted." in run.stderr
    assert [r["status"] for r in read_jsonl(tmp_path / "responses.jsonl")] == ["dry_run"] * 3
    for secret in (API_KEY, HOOK_TOKEN):
        assert secret not in run.stderr


@pytest.mark.slow
def test_alert_dry_run_masks_the_alert_source_token(tmp_path):
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: TOKEN}) as sb:
        config = {
            "alert_source_token": TOKEN,
            "alert_source_config_id": SOURCE,
            "base_url": sb.url,
            "operation": "alert_event",
            "dry_run": True,
            "progress_interval": 60,
        }
        run = run_cli(config, _messages("checks", [{"id": 1, "title": "db down"}]), tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        assert sb.journal() == []
        base = sb.url
    ((method, url, headers, body),) = _dry_lines(run.stderr)
    assert (method, url) == ("POST", f"{base}/v2/alert_events/http/{SOURCE}")
    assert headers["Authorization"] == "Bearer ***"
    assert body["title"] == "db down"
    assert body["metadata"] == {"id": 1}
    assert TOKEN not in run.stderr
    assert run.stdout == ""
