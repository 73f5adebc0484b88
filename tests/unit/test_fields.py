"""Exclusion, URL templating and the http builder: pure, no server needed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from target_incidentio.errors import RecordError
from target_incidentio.operations import parse_settings
from target_incidentio.payloads.base import BuildContext
from target_incidentio.payloads.fields import exclude, fill_template
from target_incidentio.payloads.http import build_http

RECORD = {"id": 7, "title": "Disk full", "owner": {"email": "a@b.c", "name": "Ann"}, "tags": ["x"]}


def test_exclude_top_level_nested_and_missing():
    out = exclude(RECORD, ["title", "owner.email", "missing", "owner.missing.deep", "tags.0"])
    assert out == {"id": 7, "owner": {"name": "Ann"}, "tags": ["x"]}
    assert RECORD["owner"] == {"email": "a@b.c", "name": "Ann"}  # input untouched


def test_template_fills_and_encodes():
    record = {"id": "a b/c?d", "n": 3}
    url = fill_template("https://h/v2/items/{id}/n/{n}", record, stream="s", key="id=1")
    assert url == "https://h/v2/items/a%20b%2Fc%3Fd/n/3"


@pytest.mark.parametrize("record", [{}, {"id": None}, {"id": ""}])
def test_template_missing_field_is_a_clear_error(record):
    with pytest.raises(RecordError) as info:
        fill_template("/v2/items/{id}", record, stream="tickets", key="ticket_id=9")
    message = str(info.value)
    assert "stream 'tickets'" in message
    assert "ticket_id=9" in message
    assert "field 'id'" in message
    assert "stream_maps" in message


def _ctx(**config):
    settings = parse_settings({"operation": "http", "api_key": "k-123456", **config})
    return BuildContext(stream="s", key_properties=("id",), settings=settings.for_stream("s"))


def test_http_single_record():
    request = build_http([RECORD], _ctx(api_url="/v2/items/{id}", exclude_attributes="owner.email"))
    assert request.url == "https://api.incident.io/v2/items/7"
    assert request.method == "POST"
    assert request.body == {"id": 7, "title": "Disk full", "owner": {"name": "Ann"}, "tags": ["x"]}
    assert request.record_keys == ("id=7",)


def test_http_absolute_url_and_method():
    # An absolute api_url must be on base_url's host: the API key goes nowhere else.
    ctx = _ctx(
        base_url="https://other.example", api_url="https://other.example/hook", method="PATCH"
    )
    request = build_http([RECORD], ctx)
    assert request.url == "https://other.example/hook"
    assert request.method == "PATCH"


def test_http_batch_array_and_wrapped():
    records = [{"id": i} for i in range(3)]
    plain = build_http(records, _ctx(api_url="/v2/bulk", batch_size_rows=3))
    assert plain.body == records
    assert plain.record_count == 3
    wrapped = build_http(
        records, _ctx(api_url="/v2/bulk", batch_size_rows=3, batch_wrapper_key="entries")
    )
    assert wrapped.body == {"entries": records}
    json.dumps(wrapped.body)


def test_http_body_turns_sdk_decimals_into_json_numbers():
    request = build_http(
        [{"id": 1, "cpu": Decimal("0.97"), "n": Decimal(3)}], _ctx(api_url="/v2/x")
    )
    assert request.body == {"id": 1, "cpu": 0.97, "n": 3}
    assert json.dumps(request.body) == '{"id": 1, "cpu": 0.97, "n": 3}'
