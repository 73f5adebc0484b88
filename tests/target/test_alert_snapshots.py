"""`resolve_missing_alerts` against the sandbox: alerts whose rows left the snapshot resolve.

Alerts are fired straight at the sandbox first (as another client of the alert source would),
then the target reads a snapshot of what is failing now.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlencode

import pytest
import requests
from support import read_jsonl, record, run_cli, run_in_process, schema, state

from incidentio_sandbox import Sandbox
from target_incidentio.strategies.alerts import SnapshotError

API_KEY = "ik-test-snapshot-api-key"
SOURCE = "01HSNAPSHOTSOURCE000000000"
TOKEN = "as-test-snapshot-token"
OTHER = "01HOTHERSOURCE00000000000"
OTHER_TOKEN = "as-test-other-token"
STREAM = "failing_checks"
TEN = [f"chk-{i}" for i in range(10)]


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: TOKEN, OTHER: OTHER_TOKEN}) as sb:
        yield sb


def title(key: str) -> str:
    return f"{key} is failing"


def fire(sb: Sandbox, keys: list[str], source: str = SOURCE, token: str = TOKEN) -> None:
    """Alerts firing before the run, each with its own title."""
    with requests.Session() as http:
        for key in keys:
            reply = http.post(
                f"{sb.url}/v2/alert_events/http/{source}",
                json={"title": title(key), "status": "firing", "deduplication_key": key},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert reply.status_code == 202, reply.text


def snapshot(*versions: list[str], activate: bool = False) -> list[dict]:
    """The stream: one row per failing check; with `activate`, each version starts with
    ACTIVATE_VERSION (as SDK taps send it) and the last is followed by one (as classic taps do).
    """
    messages = [
        schema(
            STREAM, {"check_id": {"type": "string"}, "service": {"type": "string"}}, ["check_id"]
        )
    ]
    for number, keys in enumerate(versions, start=1):
        if activate:
            messages.append({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": number})
        messages.extend(record(STREAM, {"check_id": key, "service": "db"}) for key in keys)
    if activate:
        messages.append({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": len(versions)})
    # The tap says it finished the stream (a singer-sdk INCREMENTAL stream's last STATE).
    finished = {"replication_key": "at", "replication_key_value": len(versions)}
    messages.append(state({"bookmarks": {STREAM: finished}}))
    return messages


MAPS = {STREAM: {"title": "check_id + ' is failing'", "deduplication_key": "check_id"}}


def config(sb: Sandbox, tmp_path, **extra) -> dict:
    return {
        "api_key": API_KEY,
        "alert_source_token": TOKEN,
        "alert_source_config_id": SOURCE,
        "base_url": sb.url,
        "resolve_missing_alerts": True,
        # The sandbox does not rate-limit here; the pacing test below turns both sides on.
        "alert_source_rate_limit_per_minute": 60_000,
        "stream_maps": MAPS,
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "progress_interval": 60,
        "max_retry_wait": 0.05,
        **extra,
    }


def statuses(sb: Sandbox, source: str = SOURCE) -> dict[str, str]:
    return {
        a["deduplication_key"]: a["status"]
        for a in sb.state()["alerts"]
        if a["alert_source_config_id"] == source
    }


def resolutions(sb: Sandbox, since: int = 0) -> list[dict]:
    return [
        e
        for e in sb.journal(since=since)
        if e["endpoint"] == "alert_event" and e["body"]["status"] == "resolved"
    ]


def listings(sb: Sandbox) -> list[dict]:
    return [e for e in sb.journal() if e["endpoint"] == "list_alerts"]


def assert_spec_valid(sb: Sandbox, openapi_validator, since: int = 0) -> None:
    entries = sb.journal(since=since)
    assert entries
    for entry in entries:
        query = f"?{urlencode(entry['query'])}" if entry["query"] else ""
        openapi_validator(entry["method"], sb.url + entry["path"] + query, entry["body"])
        assert entry["status"] < 300, entry


def test_what_left_the_snapshot_is_resolved_and_nothing_else(
    sandbox, tmp_path, openapi_validator, caplog
):
    fire(sandbox, TEN)
    fire(sandbox, ["chk-9"], OTHER, OTHER_TOKEN)  # same key, another source
    seeded = len(sandbox.journal())
    kept = [*TEN[:7], "chk-new"]

    with caplog.at_level(logging.INFO, logger="target-incidentio"):
        states = run_in_process(config(sandbox, tmp_path), snapshot(kept))

    assert states == [
        {"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": 1}}}
    ]
    assert statuses(sandbox) == {
        **dict.fromkeys(kept, "firing"),
        **dict.fromkeys(TEN[7:], "resolved"),
    }
    other = [a for a in sandbox.state()["alerts"] if a["alert_source_config_id"] == OTHER]
    assert [(a["status"], a["event_count"]) for a in other] == [("firing", 1)]
    # Each resolution carries the alert's own key and title, through the same source.
    sent = resolutions(sandbox, since=seeded)
    assert sorted(
        (e["path"], e["body"]["deduplication_key"], e["body"]["title"]) for e in sent
    ) == [(f"/v2/alert_events/http/{SOURCE}", key, title(key)) for key in TEN[7:]]
    assert all(e["headers"]["Authorization"] == "Bearer ***" for e in sent)
    # Listed once, filtered to the source's firing alerts, with the API key.
    [listing] = listings(sandbox)
    assert listing["query"] == {
        "status[one_of]": "firing",
        "alert_source[one_of]": SOURCE,
        "page_size": "50",
    }
    assert_spec_valid(sandbox, openapi_validator, since=seeded)
    # Response records like any event's, told apart by their operation.
    log = read_jsonl(tmp_path / "responses.jsonl")
    resolved = [r for r in log if r["operation"] == "alert_resolution"]
    assert sorted(r["record_keys"][0] for r in resolved) == [
        f"deduplication_key={k!r}" for k in TEN[7:]
    ]
    assert {(r["status"], r["status_code"], r["stream"]) for r in resolved} == {
        ("delivered", 202, STREAM)
    }
    assert [r["status"] for r in log if r["operation"] == "alert_event"].count("delivered") == 9
    summary = [m for m in caplog.messages if m.startswith(f"Summary '{STREAM}'")]
    assert "8 records delivered" in summary[0]
    assert "3 alerts resolved because their rows are gone" in summary[0]
    assert TOKEN not in caplog.text
    assert API_KEY not in caplog.text


def test_the_same_snapshot_again_resolves_nothing_more(sandbox, tmp_path):
    fire(sandbox, TEN)
    run_in_process(config(sandbox, tmp_path), snapshot(TEN[:7]))
    before = len(sandbox.journal())
    run_in_process(config(sandbox, tmp_path), snapshot(TEN[:7]))
    assert resolutions(sandbox, since=before) == []
    assert list(statuses(sandbox).values()).count("resolved") == 3


@pytest.mark.slow
def test_a_snapshot_that_would_resolve_too_many_resolves_nothing(sandbox, tmp_path):
    fire(sandbox, TEN)
    run = run_cli(config(sandbox, tmp_path), snapshot(TEN[:1]), tmp_path)

    assert run.returncode == 1
    assert "`alert_max_resolve_fraction` (0.5)" in run.stderr
    assert f"alert source {SOURCE}: 9 of its 10 firing alerts (90%)" in run.stderr
    assert f"streams.{STREAM}.alert_max_resolve_fraction" in run.stderr
    assert "nothing was resolved" in run.stderr
    assert resolutions(sandbox) == []
    assert set(statuses(sandbox).values()) == {"firing"}


def test_the_fraction_guard_is_what_stopped_it(sandbox, tmp_path):
    # Live: the same snapshot, allowed to resolve everything, does so.
    fire(sandbox, TEN)
    run_in_process(config(sandbox, tmp_path, alert_max_resolve_fraction=1), snapshot(TEN[:1]))
    assert statuses(sandbox) == {"chk-0": "firing", **dict.fromkeys(TEN[1:], "resolved")}


def test_the_guard_looks_at_every_source_before_resolving_any(tmp_path):
    # The record picks its source (two sources sharing a token): one source's snapshot is
    # fine, the other's is not, and neither is resolved.
    rows = [
        *({"check_id": k, "source": SOURCE} for k in TEN[:9]),
        *({"check_id": k, "source": OTHER} for k in TEN[:2]),
    ]
    properties = {"check_id": {"type": "string"}, "source": {"type": "string"}}
    messages = [
        schema(STREAM, properties, ["check_id", "source"]),
        *(record(STREAM, row) for row in rows),
        state({"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": 1}}}),
    ]
    maps = {STREAM: {**MAPS[STREAM], "alert_source_config_id": "source"}}
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: TOKEN, OTHER: TOKEN}) as sb:
        fire(sb, TEN)
        fire(sb, TEN, OTHER)
        settings = config(sb, tmp_path, stream_maps=maps, alert_source_config_id=None)
        with pytest.raises(SnapshotError, match=f"alert source {OTHER}: 8 of its 10") as info:
            run_in_process(settings, messages)
        assert len(listings(sb)) == 2
        assert resolutions(sb) == []
    assert f"alert source {SOURCE}:" not in str(info.value)


def test_an_empty_snapshot_resolves_nothing(sandbox, tmp_path, caplog):
    fire(sandbox, TEN)
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        states = run_in_process(
            config(sandbox, tmp_path, alert_max_resolve_fraction=1), snapshot([])
        )
    assert states == [
        {"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": 1}}}
    ]
    assert listings(sandbox) == []
    assert set(statuses(sandbox).values()) == {"firing"}
    assert f"Stream '{STREAM}': the snapshot is empty, so no alert is resolved" in caplog.text


def test_a_snapshot_with_failed_rows_resolves_nothing(sandbox, tmp_path, caplog):
    # chk-6's row is broken: under `continue` it is reported, and its alert must not resolve.
    fire(sandbox, TEN)
    messages = snapshot(TEN[:7])
    broken = next(m for m in messages if m.get("record", {}).get("check_id") == "chk-6")
    broken["record"]["service"] = 42  # breaks the stream's schema
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        run_in_process(config(sandbox, tmp_path, on_error="continue"), messages)
    assert resolutions(sandbox) == []
    assert "1 records of the snapshot failed, so it is incomplete" in caplog.text


@pytest.mark.slow
def test_paging_over_more_than_fifty_firing_alerts(sandbox, tmp_path, openapi_validator):
    keys = [f"chk-{i:03}" for i in range(120)]
    gone = keys[::6]  # 20 keys spread over all three pages
    fire(sandbox, keys)
    seeded = len(sandbox.journal())
    run_in_process(config(sandbox, tmp_path), snapshot([k for k in keys if k not in gone]))

    pages = listings(sandbox)
    assert len(pages) == 3
    assert "after" not in pages[0]["query"]
    assert all(page["query"]["after"] for page in pages[1:])
    assert len({page["query"].get("after") for page in pages}) == 3
    assert sorted(e["body"]["deduplication_key"] for e in resolutions(sandbox)) == gone
    assert statuses(sandbox) == {k: "resolved" if k in gone else "firing" for k in keys}
    assert_spec_valid(sandbox, openapi_validator, since=seeded)


def test_activate_version_is_a_snapshot_boundary(sandbox, tmp_path):
    fire(sandbox, TEN)
    first, second = TEN[:8], TEN[:7]
    run_in_process(config(sandbox, tmp_path), snapshot(first, second, activate=True))

    journal = sandbox.journal()
    events = [e["body"] for e in journal if e["endpoint"] == "alert_event"][len(TEN) :]
    order = [(b["status"], b["deduplication_key"]) for b in events]
    # Version 1 ends at the second ACTIVATE_VERSION: chk-8 and chk-9 resolve before version 2
    # starts (events of different alerts may overtake each other, so each part is a set).
    assert set(order[:8]) == {("firing", k) for k in first}
    assert set(order[8:10]) == {("resolved", "chk-8"), ("resolved", "chk-9")}
    assert set(order[10:17]) == {("firing", k) for k in second}
    # Version 2 ends with the stream: chk-7 is gone from it.
    assert order[17:] == [("resolved", "chk-7")]
    assert len(listings(sandbox)) == 2
    assert statuses(sandbox) == {
        **dict.fromkeys(second, "firing"),
        **dict.fromkeys(TEN[7:], "resolved"),
    }


def test_a_dry_run_lists_what_would_be_resolved(sandbox, tmp_path, caplog):
    fire(sandbox, TEN)
    seeded = len(sandbox.journal())
    with caplog.at_level(logging.INFO, logger="target-incidentio"):
        states = run_in_process(
            config(sandbox, tmp_path, dry_run=True), snapshot([*TEN[:7], "chk-new"])
        )

    assert states == []
    # The listing is read (reading changes nothing); nothing is written.
    assert [e["endpoint"] for e in sandbox.journal(since=seeded)] == ["list_alerts"]
    assert set(statuses(sandbox).values()) == {"firing"}
    assert (
        f"dry run, would resolve 3 of 10 firing alerts of alert source {SOURCE}, whose rows are "
        "gone: chk-7, chk-8, chk-9." in caplog.text
    )
    log = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(r["record_keys"][0] for r in log if r["operation"] == "alert_resolution") == [
        f"deduplication_key={k!r}" for k in TEN[7:]
    ]
    assert {r["status"] for r in log if r["operation"] == "alert_resolution"} == {"dry_run"}
    assert "3 alerts would be resolved because their rows are gone" in caplog.text


def test_a_key_without_the_viewer_role_fails_and_resolves_nothing(tmp_path):
    roles = {API_KEY: ["incident_creator"]}
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: TOKEN}, api_key_roles=roles) as sb:
        fire(sb, TEN)
        with pytest.raises(SnapshotError) as info:
            run_in_process(config(sb, tmp_path), snapshot(TEN[:7]))
        assert resolutions(sb) == []
    message = str(info.value)
    assert f"could not list the firing alerts of alert source {SOURCE}" in message
    assert "HTTP 403" in message
    assert "`viewer` role" in message


@pytest.mark.slow
@pytest.mark.slow
def test_resolutions_are_paced_by_the_alert_source_limit(tmp_path):
    # Scaled down from incident.io's 120/min: the target keeps one source to 8 events in any
    # 60 s (`alert_source_rate_limit_per_minute`); resolutions share that window with the
    # snapshot's own events, so 2 events and 10 resolutions cannot all go in one minute.
    per_minute = 8
    with Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: TOKEN},
        rate_limit=True,
        alert_bucket_capacity=40,
        alert_refill_per_second=40 / 60,
    ) as sb:
        keys = [f"chk-{i:02}" for i in range(12)]
        run_in_process(config(sb, tmp_path), snapshot(keys))  # fires all twelve
        before = len(sb.journal())
        paced = config(
            sb,
            tmp_path,
            alert_source_rate_limit_per_minute=per_minute,
            alert_max_resolve_fraction=1,
        )
        run_in_process(paced, snapshot(keys[:2]))
        journal = sb.journal()[before:]

    assert all(e["status"] != 429 for e in journal)
    events = sorted(
        datetime.fromisoformat(e["received_at"].replace("Z", "+00:00"))
        for e in journal
        if e["endpoint"] == "alert_event"
    )
    assert len(events) == 12  # the snapshot's 2 and 10 resolutions
    for index, moment in enumerate(events):
        window = [other for other in events[index:] if (other - moment).total_seconds() < 60]
        assert len(window) <= per_minute
    assert (events[-1] - events[0]).total_seconds() >= 60
