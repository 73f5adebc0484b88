"""Issue 28 item 2: only secrets are masked, and a mask never breaks a record.

`response_webhook_headers` and `request_headers` hold secrets only under secret names
(Authorization, names saying key, token or secret); plain values such as `true`, `incident`
or `2026` are written as they are. Every result is recorded, STATE written, the heartbeat
pinged once.
"""

from __future__ import annotations

import json

import pytest
from reliability_helpers import ALERT_TOKEN, API_KEY, HOOK_TOKEN, SOURCE, base_config, key_of, tap
from support import read_jsonl, run_cli

from incidentio_sandbox import Sandbox

pytestmark = pytest.mark.slow

HEARTBEAT = "01HMASKHEARTBEAT0000000000"
HEARTBEAT_TOKEN = "hb-SENTINEL-mask-heartbeat-7Tq"
UPSTREAM_TOKEN = "rq-SENTINEL-upstream-token-3Vb"  # only in request_headers


def test_plain_header_values_are_not_secrets_and_nothing_breaks(tmp_path, outputs):
    with Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: ALERT_TOKEN},
        heartbeat_sources={HEARTBEAT: HEARTBEAT_TOKEN},
    ) as sb:
        config = base_config(
            sb,
            tmp_path,
            response_webhook_url=f"{sb.url}/_sandbox/echo/hook",
            response_webhook_headers=(
                f"Authorization:Bearer {HOOK_TOKEN},X-Hook-Secret:{HOOK_TOKEN},"
                "X-Debug:true,X-Kind:incident,X-Year:2026"
            ),
            request_headers={"X-Api-Key": HOOK_TOKEN, "X-Team": "incident"},
            heartbeat_alert_source_config_id=HEARTBEAT,
            heartbeat_token=HEARTBEAT_TOKEN,
        )
        run = run_cli(config, tap(range(20)), tmp_path)
        outputs.add(run.stdout, run.stderr)

        assert run.returncode == 0, run.stderr[-3000:]
        assert "JSONDecodeError" not in run.stderr
        responses = read_jsonl(tmp_path / "responses.jsonl")
        records = [r for r in responses if r.get("record_keys")]
        assert {k for r in records for k in r["record_keys"]} == {key_of(i) for i in range(20)}
        assert {r["operation"] for r in records} == {"incident"}  # not "***"
        assert all(r["ok"] for r in records)
        assert "2026" in json.dumps(responses)  # dates are not masked
        assert run.states[-1] == {"bookmarks": {"tickets": {"ticket_id": 19}}}
        assert "20 records delivered" in run.stderr
        pings = sb.journal(path=f"/v2/heartbeat/{HEARTBEAT}/ping")
        assert [p["status"] for p in pings] == [204]
        # The secret header values went on the wire and nowhere else (the teardown scan).
        hooks = [e for e in sb.journal() if e["path"] == "/_sandbox/echo/hook"]
        assert hooks
        # (the sandbox's journal hides Authorization itself)
        assert all(e["headers"]["X-Hook-Secret"] == HOOK_TOKEN for e in hooks)
        assert all(e["headers"]["X-Debug"] == "true" for e in hooks)
        sent = [e for e in sb.journal() if e["endpoint"] == "create_incident"]
        assert all(e["headers"]["X-Api-Key"] == HOOK_TOKEN for e in sent)


def test_request_headers_marked_secret_are_masked_in_a_dry_run(tmp_path, outputs, sandbox):
    config = base_config(
        sandbox,
        tmp_path,
        dry_run=True,
        request_headers={"X-Upstream-Token": UPSTREAM_TOKEN, "X-Team": "platform-team"},
    )
    run = run_cli(config, tap(range(2)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "X-Upstream-Token" in run.stderr  # the dry run shows the header...
    assert UPSTREAM_TOKEN not in run.stderr  # ...masked
    assert "platform-team" in run.stderr  # a plain value is shown as it is


def test_a_header_the_user_marks_secret_is_masked_everywhere(tmp_path, outputs, sandbox):
    """`secret_headers` names a header whose name says nothing (X-Tenant)."""
    tenant = "tenant-5e3cr3t-value"
    config = base_config(
        sandbox,
        tmp_path,
        dry_run=True,
        secret_headers="x-tenant",
        request_headers={"X-Tenant": tenant, "X-Team": "platform-team"},
    )
    run = run_cli(config, tap(range(2)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "X-Tenant" in run.stderr
    assert tenant not in run.stderr
    assert tenant not in run.stdout
    assert "platform-team" in run.stderr
    unmarked = run_cli({**config, "secret_headers": ""}, tap(range(1)), tmp_path)
    assert tenant in unmarked.stderr  # live: without the mark the value shows
