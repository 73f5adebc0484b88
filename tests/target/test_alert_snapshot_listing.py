"""What the target makes of an alert listing the sandbox would never send (a local server)."""

from __future__ import annotations

import json

import pytest
from support import record, run_in_process, schema

from target_incidentio.strategies.alerts import SnapshotError

SOURCE = "01HLISTINGSOURCE0000000000"
STREAM = "checks"


def config(httpserver, **extra) -> dict:
    return {
        "api_key": "ik-test-listing",
        "alert_source_token": "as-test-listing",
        "alert_source_config_id": SOURCE,
        "base_url": httpserver.url_for("/").rstrip("/"),
        "resolve_missing_alerts": True,
        "alert_max_resolve_fraction": 1,
        "alert_source_rate_limit_per_minute": 60_000,
        "progress_interval": 60,
        # The snapshot has no end signal: its tap is run to a file and checked first.
        "snapshot_complete": "end_of_input",
        **extra,
    }


def alert(key: str, *, source: str = SOURCE, status: str = "firing") -> dict:
    return {
        "id": f"01A{key}",
        "alert_source_id": source,
        "deduplication_key": key,
        "status": status,
        "title": f"{key} title",
    }


SNAPSHOT = [
    schema(STREAM, {"deduplication_key": {"type": "string"}, "title": {"type": "string"}}, []),
    record(STREAM, {"deduplication_key": "present", "title": "present title"}),
]


def test_only_the_sources_firing_alerts_are_ever_resolved(httpserver):
    # A listing that ignored its filters: another source's alert and a resolved one are left be.
    page = [
        alert("present"),
        alert("gone"),
        alert("foreign", source="01HANOTHERSOURCE0000000000"),
        alert("already", status="resolved"),
    ]
    httpserver.expect_request("/v2/alerts", method="GET").respond_with_json(
        {"alerts": page, "pagination_meta": {"page_size": 50}}
    )
    httpserver.expect_request(f"/v2/alert_events/http/{SOURCE}", method="POST").respond_with_json(
        {"status": "success", "deduplication_key": "x"}, status=202
    )
    run_in_process(config(httpserver), SNAPSHOT)

    events = [json.loads(r.data) for r, _ in httpserver.log if r.method == "POST"]
    assert [(e["deduplication_key"], e["status"]) for e in events] == [
        ("present", "firing"),
        ("gone", "resolved"),
    ]


def test_a_cursor_that_comes_back_stops_the_listing(httpserver):
    httpserver.expect_request("/v2/alerts", method="GET").respond_with_json(
        {"alerts": [alert("gone")], "pagination_meta": {"page_size": 50, "after": "01SAME"}}
    )
    httpserver.expect_request(f"/v2/alert_events/http/{SOURCE}", method="POST").respond_with_json(
        {"status": "success"}, status=202
    )
    with pytest.raises(SnapshotError, match="returned the page cursor '01SAME' twice"):
        run_in_process(config(httpserver), SNAPSHOT)
    gets = [r for r, _ in httpserver.log if r.method == "GET"]
    assert [r.args.get("after") for r in gets] == [None, "01SAME"]
    assert not any(
        json.loads(r.data)["status"] == "resolved" for r, _ in httpserver.log if r.method == "POST"
    )


def test_a_listing_without_alerts_resolves_nothing(httpserver):
    httpserver.expect_request("/v2/alerts", method="GET").respond_with_json({"oops": True})
    httpserver.expect_request(f"/v2/alert_events/http/{SOURCE}", method="POST").respond_with_json(
        {"status": "success"}, status=202
    )
    with pytest.raises(SnapshotError, match="answered without an `alerts` list"):
        run_in_process(config(httpserver), SNAPSHOT)
