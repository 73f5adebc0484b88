"""The alert_event builder: body, routing, deduplication keys and record errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from numbering import numbered

from target_incidentio.core.errors import RecordError
from target_incidentio.payloads.alerts import ALERT_FIELDS, build_alert_event

CONFIG_ID = "01GW2G3V0S59R238FAHPDS1R66"
RECORD = {
    "id": 42,
    "title": "api is down",
    "status": "firing",
    "description": "5xx above 10%",
    "source_url": "https://grafana.example/alerts/42",
    "service": "api",
    "metadata": {"team": ["payments"]},
}


@pytest.fixture
def ctx(make_ctx):
    return make_ctx("alerts", ("id",), alert_source_config_id=CONFIG_ID)


def test_typical_record_becomes_a_valid_alert_event(ctx, openapi_validator):
    request = build_alert_event(numbered(RECORD), ctx)
    assert request.method == "POST"
    assert request.url == f"https://api.incident.io/v2/alert_events/http/{CONFIG_ID}"
    assert request.credential == ctx.settings.alert_source_token
    assert request.credential != ctx.settings.api_key
    body = request.body
    assert body["title"] == "api is down"
    assert body["status"] == "firing"
    assert body["description"] == "5xx above 10%"
    assert body["source_url"] == "https://grafana.example/alerts/42"
    assert body["metadata"] == {"id": 42, "service": "api", "team": ["payments"]}
    assert body["deduplication_key"].startswith("target-incidentio-")
    assert request.order_key == f"alert:{CONFIG_ID}:{body['deduplication_key']}"
    assert [s.name for s in request.rate_scopes] == [f"alert_source:{CONFIG_ID}"]
    assert request.rate_scopes[0].per_minute == ctx.alert_rate_per_minute
    assert request.records == (RECORD,)
    assert request.record_keys == ("id=42",)
    openapi_validator(request.method, request.url, request.body)


def test_status_defaults_to_firing_and_minimal_body_is_valid(make_ctx, openapi_validator):
    ctx = make_ctx(alert_source_config_id=CONFIG_ID)
    request = build_alert_event(numbered({"title": "disk full"}), ctx)
    assert request.body["status"] == "firing"
    assert "metadata" not in request.body
    openapi_validator(request.method, request.url, request.body)


def test_config_id_from_record_is_routing_not_metadata(make_ctx, openapi_validator):
    ctx = make_ctx()
    record = {"title": "x", "alert_source_config_id": "01/AB C", "host": "h1"}
    request = build_alert_event(numbered(record), ctx)
    assert request.url.endswith("/v2/alert_events/http/01%2FAB%20C")
    assert request.body["metadata"] == {"host": "h1"}
    assert request.rate_scopes[0].name == "alert_source:01/AB C"


def test_settings_config_id_wins_and_record_one_stays_out_of_metadata(ctx):
    request = build_alert_event(numbered({"title": "x", "alert_source_config_id": "other"}), ctx)
    assert request.url.endswith(CONFIG_ID)
    assert "metadata" not in request.body


def test_no_alert_source_is_a_record_error(make_ctx):
    with pytest.raises(RecordError, match="alert_source_config_id") as caught:
        build_alert_event(numbered({"id": 1, "title": "x"}), make_ctx())
    assert caught.value.field == "alert_source_config_id"


def test_missing_title_names_stream_key_field_and_a_stream_map(ctx):
    with pytest.raises(RecordError) as caught:
        build_alert_event(numbered({"id": 7, "service": "api"}), ctx)
    message = str(caught.value)
    assert "stream 'alerts'" in message
    assert "record id=7" in message
    assert "field 'title'" in message
    assert 'stream_maps: {"alerts": {"title": ' in message


@pytest.mark.parametrize("title", ["", None])
def test_empty_title_is_missing(ctx, title):
    with pytest.raises(RecordError, match="'title' is required"):
        build_alert_event(numbered({"id": 7, "title": title}), ctx)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 404),
        ("description", ["a"]),
        ("source_url", {"u": 1}),
        ("metadata", "team=a"),
        ("deduplication_key", 1.5),
        ("status", "open"),
        ("status", 1),
    ],
)
def test_wrong_types_are_record_errors(ctx, field, value):
    record = {"id": 7, "title": "x", field: value}
    with pytest.raises(RecordError) as caught:
        build_alert_event(numbered(record), ctx)
    assert caught.value.field == field
    assert caught.value.stream == "alerts"
    assert caught.value.record_key == "id=7"
    assert "Hint:" in str(caught.value)


def test_resolved_status_and_own_deduplication_key(ctx, openapi_validator):
    record = {"id": 1, "title": "x", "status": "resolved", "deduplication_key": 4293868629}
    request = build_alert_event(numbered(record), ctx)
    assert request.body["status"] == "resolved"
    assert request.body["deduplication_key"] == "4293868629"
    assert request.order_key == f"alert:{CONFIG_ID}:4293868629"
    openapi_validator(request.method, request.url, request.body)


@pytest.mark.parametrize("key_properties", [("id",), ()])
def test_firing_and_resolved_pair_share_a_deduplication_key(make_ctx, key_properties):
    ctx = make_ctx(key_properties=key_properties, alert_source_config_id=CONFIG_ID)
    firing = build_alert_event(numbered({**RECORD, "status": "firing"}), ctx)
    resolved = build_alert_event(numbered({**RECORD, "status": "resolved"}), ctx)
    assert firing.body["deduplication_key"] == resolved.body["deduplication_key"]
    assert firing.order_key == resolved.order_key


def test_rerun_with_other_sdc_fields_keeps_the_key(make_ctx):
    ctx = make_ctx(key_properties=(), alert_source_config_id=CONFIG_ID)
    first = build_alert_event(numbered({**RECORD, "_sdc_received_at": "2024-01-01T00:00:00Z"}), ctx)
    second = build_alert_event(
        numbered({**RECORD, "_sdc_received_at": "2024-06-01T00:00:00Z"}), ctx
    )
    assert first.body["deduplication_key"] == second.body["deduplication_key"]
    # No `_sdc_*` field leaves the machine unless `add_record_metadata` is on.
    assert "_sdc_received_at" not in first.body["metadata"]
    kept = make_ctx(key_properties=(), alert_source_config_id=CONFIG_ID, add_record_metadata=True)
    with_metadata = build_alert_event(
        numbered({**RECORD, "_sdc_received_at": "2024-01-01T00:00:00Z"}), kept
    )
    assert with_metadata.body["metadata"]["_sdc_received_at"] == "2024-01-01T00:00:00Z"
    assert with_metadata.body["deduplication_key"] == first.body["deduplication_key"]


def test_different_key_properties_give_different_keys(ctx):
    one = build_alert_event(numbered({**RECORD, "id": 1}), ctx)
    two = build_alert_event(numbered({**RECORD, "id": 2}), ctx)
    assert one.body["deduplication_key"] != two.body["deduplication_key"]


def test_same_record_in_another_stream_gets_another_key(make_ctx):
    a = build_alert_event(numbered(RECORD), make_ctx("a", alert_source_config_id=CONFIG_ID))
    b = build_alert_event(numbered(RECORD), make_ctx("b", alert_source_config_id=CONFIG_ID))
    assert a.body["deduplication_key"] != b.body["deduplication_key"]


@given(
    extra=st.dictionaries(
        st.text(min_size=1).filter(
            lambda k: (
                not k.startswith("_sdc_")
                and k not in ALERT_FIELDS
                and k != "alert_source_config_id"
            )
        ),
        st.one_of(st.integers(), st.text()),
        max_size=4,
    ),
    received=st.text(),
)
def test_derived_key_is_deterministic_and_ignores_sdc(make_ctx, extra, received):
    ctx = make_ctx(key_properties=(), alert_source_config_id=CONFIG_ID)
    record = {**extra, "title": "t"}
    first = build_alert_event(numbered(record), ctx).body["deduplication_key"]
    again = build_alert_event(numbered({**record, "_sdc_received_at": received}), ctx)
    assert again.body["deduplication_key"] == first


def test_record_metadata_wins_over_top_level_fields(ctx):
    record = {"id": 1, "title": "x", "team": "top", "metadata": {"team": "meta", "env": "prod"}}
    request = build_alert_event(numbered(record), ctx)
    assert request.body["metadata"] == {"id": 1, "team": "meta", "env": "prod"}


def test_exclude_attributes_top_level_and_nested(make_ctx, openapi_validator):
    ctx = make_ctx(
        alert_source_config_id=CONFIG_ID,
        exclude_attributes=("internal", "details.secret", "metadata.token", "description"),
    )
    record = {
        "id": 1,
        "title": "x",
        "description": "dropped",
        "internal": "dropped",
        "details": {"secret": "s", "region": "eu"},
        "metadata": {"token": "t", "team": "a"},
    }
    request = build_alert_event(numbered(record), ctx)
    assert "description" not in request.body
    assert request.body["metadata"] == {"id": 1, "details": {"region": "eu"}, "team": "a"}
    assert request.records == (record,)  # the original record is reported, untouched
    assert record["details"] == {"secret": "s", "region": "eu"}
    openapi_validator(request.method, request.url, request.body)


def test_stream_cap_below_the_alert_rate_adds_a_bucket(make_ctx):
    ctx = make_ctx(alert_source_config_id=CONFIG_ID, rate_limit_per_minute=30)
    request = build_alert_event(numbered(RECORD), ctx)
    assert [(s.name, s.per_minute) for s in request.rate_scopes] == [
        (f"alert_source:{CONFIG_ID}", 120.0),
        ("stream:alerts", 30),
    ]


def test_the_api_key_rate_does_not_cap_alert_events(make_ctx):
    # Alert events do not use the API key: its 1200/minute must not pace a faster source.
    ctx = dataclasses.replace(
        make_ctx(alert_source_config_id=CONFIG_ID), alert_rate_per_minute=6000
    )
    request = build_alert_event(numbered(RECORD), ctx)
    assert [(s.name, s.per_minute) for s in request.rate_scopes] == [
        (f"alert_source:{CONFIG_ID}", 6000)
    ]


def test_custom_base_url_and_request_headers(make_ctx):
    ctx = make_ctx(
        alert_source_config_id=CONFIG_ID,
        base_url="http://127.0.0.1:8080",
        request_headers={"X-Team": "sre"},
    )
    request = build_alert_event(numbered(RECORD), ctx)
    assert request.url == f"http://127.0.0.1:8080/v2/alert_events/http/{CONFIG_ID}"
    assert request.headers == {"X-Team": "sre"}


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_record_per_call(ctx, count):
    with pytest.raises(ValueError, match="one request per record"):
        build_alert_event(numbered(*[RECORD] * count), ctx)


@pytest.mark.parametrize("bad", [".", ".."])
def test_an_alert_source_id_that_would_move_the_path_is_a_record_error(make_ctx, bad):
    # `..` would post to /v2/alert_events/ with the alert token.
    record = {"id": 1, "title": "down", "alert_source_config_id": bad}
    with pytest.raises(RecordError, match="another path") as caught:
        build_alert_event(numbered(record), make_ctx())
    assert "field 'alert_source_config_id'" in str(caught.value)
