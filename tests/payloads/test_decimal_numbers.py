"""The SDK reads JSON floats as Decimal; builders accept them and send plain JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from numbering import numbered

from target_incidentio.catalog.entries import build_catalog_entry
from target_incidentio.core.errors import RecordError
from target_incidentio.payloads.alerts import build_alert_event
from target_incidentio.payloads.incidents import build_incident
from target_incidentio.settings import CustomFieldMap


def test_alert_metadata_decimals_become_json_numbers(make_ctx, openapi_validator):
    ctx = make_ctx(alert_source_config_id="01A")
    record = {"id": 1, "title": "x", "ratio": Decimal("0.25"), "nested": {"n": [Decimal("2.0")]}}
    request = build_alert_event(numbered(record), ctx)
    assert request.body["metadata"] == {"id": 1, "ratio": 0.25, "nested": {"n": [2]}}
    json.dumps(request.body, allow_nan=False)
    openapi_validator(request.method, request.url, request.body)


def test_custom_field_decimals(make_ctx):
    ctx = make_ctx(
        "incidents",
        custom_fields=(
            CustomFieldMap("cost", "01NUM", "numeric"),
            CustomFieldMap("note", "01TXT", "text"),
        ),
    )
    body = build_incident(
        numbered({"name": "x", "cost": Decimal("12.50"), "note": Decimal("1E+3")}), ctx
    ).body
    assert body["custom_field_entries"] == [
        {"custom_field_id": "01NUM", "values": [{"value_numeric": "12.50"}]},
        {"custom_field_id": "01TXT", "values": [{"value_text": "1000"}]},
    ]


def test_catalog_decimals(make_ctx):
    ctx = make_ctx("services", catalog_type_id="01T", catalog_attributes={"score": "01S"})
    record = {"id": 1, "name": "x", "rank": Decimal("3.0"), "score": Decimal("0.5")}
    body = build_catalog_entry(numbered(record), ctx).body
    assert body["rank"] == 3
    assert body["attribute_values"] == {"01S": {"value": {"literal": "0.5"}}}
    with pytest.raises(RecordError, match="field 'rank'"):
        build_catalog_entry(numbered({**record, "rank": Decimal("3.5")}), ctx)
