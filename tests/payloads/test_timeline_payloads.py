"""The incident_timeline_item builder, against incident.io's spec."""

from __future__ import annotations

import pytest
from numbering import numbered

from target_incidentio.core.errors import RecordError
from target_incidentio.payloads.timeline import build_incident_timeline_item

ITEM = {
    "deploy_id": "d-4f2c",
    "incident_id": "01HINCIDENT",
    "timestamp": "2026-09-01T15:30:00Z",
    "title": "Rolled back payments-api",
    "description": "Error rate hit **12%**.",
}


def test_a_timeline_item_is_valid_and_keyed_for_reruns(make_ctx, openapi_validator):
    ctx = make_ctx("deploys", ("deploy_id",))
    request = build_incident_timeline_item(numbered(ITEM), ctx)
    assert request.url == "https://api.incident.io/v2/incident_timeline_items"
    assert request.credential == ctx.settings.api_key
    assert request.order_key == "incident-id:01HINCIDENT"
    body = request.body
    assert {k: v for k, v in body.items() if k != "idempotency_key"} == {
        k: v for k, v in ITEM.items() if k != "deploy_id"
    }
    openapi_validator(request.method, request.url, body)
    # The same record keys the same item; another record another one.
    again = build_incident_timeline_item(numbered(dict(ITEM)), ctx).body["idempotency_key"]
    other = build_incident_timeline_item(numbered({**ITEM, "deploy_id": "d-5"}), ctx)
    assert again == body["idempotency_key"] != other.body["idempotency_key"]
    # The record's own key wins.
    own = build_incident_timeline_item(numbered({**ITEM, "idempotency_key": "deploy-4f2c"}), ctx)
    assert own.body["idempotency_key"] == "deploy-4f2c"


def test_the_validator_refuses_an_item_without_its_key(make_ctx, openapi_validator):
    body = build_incident_timeline_item(numbered(ITEM), make_ctx("deploys", ("deploy_id",))).body
    with pytest.raises(AssertionError):
        openapi_validator(
            "POST",
            "https://api.incident.io/v2/incident_timeline_items",
            {k: v for k, v in body.items() if k != "idempotency_key"},
        )


@pytest.mark.parametrize("field", ["incident_id", "title", "timestamp"])
def test_a_required_field_missing_is_named(make_ctx, field):
    record = {k: v for k, v in ITEM.items() if k != field}
    with pytest.raises(RecordError) as info:
        build_incident_timeline_item(numbered(record), make_ctx("deploys", ("deploy_id",)))
    assert info.value.field == field
    assert "deploy_id='d-4f2c'" in str(info.value)


@pytest.mark.parametrize("value", ["2026-09-01T15:30:00", "yesterday", 1767225600])
def test_a_timestamp_without_offset_or_not_a_date_time_is_refused(make_ctx, value):
    with pytest.raises(RecordError, match="RFC 3339") as info:
        build_incident_timeline_item(
            numbered({**ITEM, "timestamp": value}), make_ctx("deploys", ("deploy_id",))
        )
    assert info.value.field == "timestamp"
