"""The requests of alert snapshots and the heartbeat: pure builders, checked against the spec."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from numbering import numbered

from target_incidentio.core.secrets import Secret
from target_incidentio.payloads.alerts import (
    RESOLUTION,
    build_alert_event,
    build_alert_resolution,
    event_alert,
    firing_alerts_page,
)
from target_incidentio.payloads.heartbeat import HEARTBEAT, build_heartbeat_ping
from target_incidentio.strategies.alerts import Resolution

CONFIG_ID = "01GW2G3V0S59R238FAHPDS1R66"
ALERT = {
    "id": "01ALERT",
    "alert_source_id": CONFIG_ID,
    "deduplication_key": "chk-disk",
    "status": "firing",
    "title": "orders-db: disk above 90%",
}


@pytest.fixture
def ctx(make_ctx):
    return make_ctx("checks", ("check_id",), alert_source_config_id=CONFIG_ID)


def test_the_listing_asks_for_the_sources_firing_alerts(ctx, openapi_validator):
    request = firing_alerts_page(CONFIG_ID, None, ctx)
    assert request.method == "GET"
    assert request.body is None
    assert request.credential == ctx.settings.api_key
    assert request.rate_scopes == ctx.api_key_scopes()
    parts = urlsplit(request.url)
    assert parts.path == "/v2/alerts"
    assert dict(parse_qsl(parts.query)) == {
        "status[one_of]": "firing",
        "alert_source[one_of]": CONFIG_ID,
        "page_size": "50",
    }
    openapi_validator(request.method, request.url, request.body)
    following = firing_alerts_page(CONFIG_ID, "01NEXT", ctx)
    assert dict(parse_qsl(urlsplit(following.url).query))["after"] == "01NEXT"
    openapi_validator(following.method, following.url, following.body)


def test_the_spec_check_refuses_a_page_too_large(ctx, openapi_validator):
    # Live: the validator above would notice a page size the API refuses.
    url = firing_alerts_page(CONFIG_ID, None, ctx).url.replace("page_size=50", "page_size=51")
    with pytest.raises(AssertionError, match="page_size"):
        openapi_validator("GET", url, None)


def test_a_resolution_is_an_event_like_any_other(ctx, openapi_validator):
    event = build_alert_event(
        numbered({"check_id": "c1", "title": "t", "deduplication_key": "k"}), ctx
    )
    request = build_alert_resolution(ALERT, CONFIG_ID, ctx)
    assert request.body == {
        "title": "orders-db: disk above 90%",
        "status": "resolved",
        "deduplication_key": "chk-disk",
    }
    # Same endpoint, credential, pacing and per-alert ordering as the source's events.
    assert request.url == event.url
    assert request.credential == ctx.settings.alert_source_token == event.credential
    assert request.rate_scopes == event.rate_scopes
    assert request.rate_scopes[0].name == f"alert_source:{CONFIG_ID}"
    assert request.order_key == f"alert:{CONFIG_ID}:chk-disk"
    assert request.operation == RESOLUTION
    assert request.stream == "checks"
    assert request.record_keys == ("deduplication_key='chk-disk'",)
    assert request.records == (
        {"id": "01ALERT", "deduplication_key": "chk-disk", "title": "orders-db: disk above 90%"},
    )
    openapi_validator(request.method, request.url, request.body)


def test_an_alert_without_a_title_is_resolved_under_its_key(ctx, openapi_validator):
    request = build_alert_resolution({**ALERT, "title": ""}, CONFIG_ID, ctx)
    assert request.body["title"] == "chk-disk"
    openapi_validator(request.method, request.url, request.body)


@pytest.mark.parametrize("config_id", [CONFIG_ID, "source/with spaces"])
def test_an_event_names_its_source_and_key(make_ctx, config_id):
    ctx = make_ctx("checks", ("check_id",), alert_source_config_id=config_id)
    event = build_alert_event(
        numbered({"check_id": "c1", "title": "t", "deduplication_key": "k1"}), ctx
    )
    assert event_alert(event) == (config_id, "k1")
    derived = build_alert_event(numbered({"check_id": "c2", "title": "t"}), ctx)
    assert event_alert(derived) == (config_id, derived.body["deduplication_key"])


@pytest.mark.parametrize(
    ("missing", "firing", "fraction", "refused"),
    [
        (5, 10, 0.5, False),
        (6, 10, 0.5, True),
        (9, 10, 1, False),
        (1, 10, 0, True),
        (0, 0, 0, False),
    ],
)
def test_the_fraction_guard(missing, firing, fraction, refused):
    plan = Resolution(
        CONFIG_ID, firing, tuple({"deduplication_key": str(i)} for i in range(missing))
    )
    assert plan.too_many(fraction) is refused


def test_the_heartbeat_ping(openapi_validator):
    token = Secret("hb-token")
    request = build_heartbeat_ping("https://api.incident.io", "01HEART", token)
    assert request.method == "POST"
    assert request.url == "https://api.incident.io/v2/heartbeat/01HEART/ping"
    assert request.body is None
    assert request.credential is token
    assert request.rate_scopes == ()
    assert request.records == ()
    assert request.operation == HEARTBEAT
    assert "hb-token" not in repr(request)
    openapi_validator(request.method, request.url, None, {"Authorization": "Bearer ***"})
    with pytest.raises(AssertionError):
        openapi_validator("POST", "https://api.incident.io/v2/heartbeat/ping", None)
