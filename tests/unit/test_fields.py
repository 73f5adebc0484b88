"""Exclusion, URL templating and the http builder: pure, no server needed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from numbering import numbered

from target_incidentio.core.errors import RecordError
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
    request = build_http(
        numbered(RECORD), _ctx(api_url="/v2/items/{id}", exclude_attributes="owner.email")
    )
    assert request.url == "https://api.incident.io/v2/items/7"
    assert request.method == "POST"
    assert request.body == {"id": 7, "title": "Disk full", "owner": {"name": "Ann"}, "tags": ["x"]}
    assert request.record_keys == ("id=7",)


def test_http_absolute_url_and_method():
    # An absolute api_url must be on base_url's host: the API key goes nowhere else.
    ctx = _ctx(
        base_url="https://other.example", api_url="https://other.example/hook", method="PATCH"
    )
    request = build_http(numbered(RECORD), ctx)
    assert request.url == "https://other.example/hook"
    assert request.method == "PATCH"


def test_http_batch_array_and_wrapped():
    records = [{"id": i} for i in range(3)]
    plain = build_http(numbered(*records), _ctx(api_url="/v2/bulk", batch_size_rows=3))
    assert plain.body == records
    assert plain.record_count == 3
    wrapped = build_http(
        numbered(*records), _ctx(api_url="/v2/bulk", batch_size_rows=3, batch_wrapper_key="entries")
    )
    assert wrapped.body == {"entries": records}
    json.dumps(wrapped.body)


def test_http_body_turns_sdk_decimals_into_json_numbers():
    request = build_http(
        numbered({"id": 1, "cpu": Decimal("0.97"), "n": Decimal(3)}), _ctx(api_url="/v2/x")
    )
    assert request.body == {"id": 1, "cpu": 0.97, "n": 3}
    assert json.dumps(request.body) == '{"id": 1, "cpu": 0.97, "n": 3}'


def test_exclude_reaches_into_arrays_of_objects():
    record = {
        "id": 1,
        "lines": [{"sku": "a", "secret": "s1"}, {"sku": "b"}, "plain", {"secret": "s3"}],
        "groups": [{"members": [{"name": "x", "email": "x@y"}, {"name": "z", "email": "z@y"}]}],
        "owner": {"secret": "kept-unless-named"},
    }
    out = exclude(record, ["lines.secret", "groups.members.email"])
    assert out["lines"] == [{"sku": "a"}, {"sku": "b"}, "plain", {}]
    assert out["groups"] == [{"members": [{"name": "x"}, {"name": "z"}]}]
    assert out["owner"] == {"secret": "kept-unless-named"}
    assert record["lines"][0] == {"sku": "a", "secret": "s1"}  # input untouched
    # The whole array goes when the path names it.
    assert "lines" not in exclude(record, ["lines"])


def test_http_body_without_excluded_array_fields():
    record = {"id": 3, "lines": [{"sku": "a", "secret": "s1"}, {"sku": "b", "secret": "s2"}]}
    request = build_http(
        numbered(record), _ctx(api_url="/v2/items/{id}", exclude_attributes="lines.secret")
    )
    assert request.body == {"id": 3, "lines": [{"sku": "a"}, {"sku": "b"}]}
    assert "s1" not in json.dumps(request.body)


@pytest.mark.parametrize("value", [".", ".."])
def test_template_refuses_dot_segments(value):
    with pytest.raises(RecordError) as info:
        fill_template("/v2/things/{id}/sub", {"id": value}, stream="things", key="#abc")
    message = str(info.value)
    assert "stream 'things'" in message
    assert "#abc" in message
    assert "field 'id'" in message
    assert "another path" in message


@pytest.mark.parametrize(
    ("value", "segment"),
    [("...", "..."), ("a..b", "a..b"), ("../x", "..%2Fx"), ("%2e%2e", "%252e%252e"), (".x", ".x")],
)
def test_template_keeps_other_dotted_values_to_one_segment(value, segment):
    url = fill_template("/v2/things/{id}/sub", {"id": value}, stream="s", key="k")
    assert url == f"/v2/things/{segment}/sub"


def test_sdc_fields_never_leave_unless_record_metadata_is_on():
    record = {"id": 1, "_sdc_filename": "/home/me/export.jsonl", "_sdc_stream": "s", "n": 2}
    plain = build_http(numbered(record), _ctx(api_url="/v2/items/{id}"))
    assert plain.body == {"id": 1, "n": 2}
    kept = build_http(numbered(record), _ctx(api_url="/v2/items/{id}", add_record_metadata=True))
    assert kept.body == record


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_one_check_for_every_path_segment(value):
    # Builders and templates share it; a server's id (a catalog entry to delete) too.
    from target_incidentio.core.urls import UnsafeSegmentError, segment  # noqa: PLC0415

    with pytest.raises(UnsafeSegmentError):
        segment(value)
    assert segment("a/b?c#d") == "a%2Fb%3Fc%23d"
