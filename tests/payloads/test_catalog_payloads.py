"""The catalog_entry builder: external ids, attribute bindings and record errors."""

from __future__ import annotations

import pytest
from numbering import numbered

from target_incidentio.catalog.entries import build_catalog_entry
from target_incidentio.core.errors import RecordError

TYPE_ID = "01CATTYPE"
ATTRIBUTES = {"tier": "01ATTRTIER", "owners": "01ATTROWNERS", "paging": "01ATTRPAGING"}


@pytest.fixture
def ctx(make_ctx):
    return make_ctx("services", ("id",), catalog_type_id=TYPE_ID, catalog_attributes=ATTRIBUTES)


def test_typical_entry_is_valid(ctx, openapi_validator):
    record = {
        "id": 9,
        "external_id": "svc-checkout",
        "name": "Checkout",
        "aliases": ["checkout", "co"],
        "rank": "3",
        "tier": 1,
        "owners": ["payments", "sre"],
        "paging": True,
        "attribute_values": {"01ATTRDOCS": {"value": {"literal": "https://docs"}}},
    }
    request = build_catalog_entry(numbered(record), ctx)
    assert request.url == "https://api.incident.io/v3/catalog_entries"
    assert request.credential == ctx.settings.api_key
    assert request.order_key == f"catalog:{TYPE_ID}:svc-checkout"
    assert request.body == {
        "catalog_type_id": TYPE_ID,
        "external_id": "svc-checkout",
        "name": "Checkout",
        "aliases": ["checkout", "co"],
        "rank": 3,
        "attribute_values": {
            "01ATTRDOCS": {"value": {"literal": "https://docs"}},
            "01ATTRTIER": {"value": {"literal": "1"}},
            "01ATTROWNERS": {"array_value": [{"literal": "payments"}, {"literal": "sre"}]},
            "01ATTRPAGING": {"value": {"literal": "true"}},
        },
    }
    openapi_validator(request.method, request.url, request.body)


def test_minimal_entry_sends_empty_attribute_values(make_ctx, openapi_validator):
    ctx = make_ctx("services", ("id",), catalog_type_id=TYPE_ID)
    request = build_catalog_entry(numbered({"id": 42, "name": "x"}), ctx)
    assert request.body == {
        "catalog_type_id": TYPE_ID,
        "external_id": "42",
        "name": "x",
        "attribute_values": {},
    }
    openapi_validator(request.method, request.url, request.body)


def test_external_id_from_several_key_properties(make_ctx):
    ctx = make_ctx("services", ("region", "id"), catalog_type_id=TYPE_ID)
    request = build_catalog_entry(numbered({"region": "eu", "id": 7, "name": "x"}), ctx)
    assert request.body["external_id"] == "eu:7"
    assert request.order_key == f"catalog:{TYPE_ID}:eu:7"


@pytest.mark.parametrize(
    ("key_properties", "record"),
    [((), {"name": "x"}), (("id",), {"name": "x"}), (("a", "b"), {"a": 1, "name": "x"})],
)
def test_no_external_id_is_a_record_error(make_ctx, key_properties, record):
    ctx = make_ctx("services", key_properties, catalog_type_id=TYPE_ID)
    with pytest.raises(RecordError, match="field 'external_id'") as caught:
        build_catalog_entry(numbered(record), ctx)
    assert "stream 'services'" in str(caught.value)
    assert "stream_maps" in str(caught.value)


def test_catalog_type_from_the_record(make_ctx, openapi_validator):
    ctx = make_ctx("services", ("id",))
    request = build_catalog_entry(numbered({"id": 1, "name": "x", "catalog_type_id": "01REC"}), ctx)
    assert request.body["catalog_type_id"] == "01REC"
    openapi_validator(request.method, request.url, request.body)


def test_no_catalog_type_is_a_record_error(make_ctx):
    with pytest.raises(RecordError, match="field 'catalog_type_id'"):
        build_catalog_entry(numbered({"id": 1, "name": "x"}), make_ctx("services", ("id",)))


def test_missing_name(ctx):
    with pytest.raises(RecordError) as caught:
        build_catalog_entry(numbered({"id": 1}), ctx)
    message = str(caught.value)
    assert "stream 'services', record id=1, field 'name'" in message
    assert 'stream_maps: {"services": {"name": ' in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rank", "high"),
        ("rank", 1.5),
        ("rank", 2**31),
        ("aliases", "checkout"),
        ("aliases", ["ok", 1]),
        ("name", 3),
        ("tier", {"level": 1}),
        ("owners", [["nested"]]),
        ("attribute_values", ["x"]),
        ("attribute_values.01A", {"literal": "x"}),
    ],
)
def test_wrong_types(ctx, field, value):
    record = {"id": 1, "name": "x"}
    if field.startswith("attribute_values."):
        record["attribute_values"] = {field.split(".", 1)[1]: value}
    else:
        record[field] = value
    with pytest.raises(RecordError) as caught:
        build_catalog_entry(numbered(record), ctx)
    assert caught.value.field == field
    assert f"record id=1, field '{field}'" in str(caught.value)
    assert caught.value.hint


def test_exclude_nested_attribute_source(make_ctx):
    ctx = make_ctx(
        "services",
        ("id",),
        catalog_type_id=TYPE_ID,
        catalog_attributes={"meta.tier": "01T", "meta.owner": "01O"},
        exclude_attributes=("meta.owner",),
    )
    body = build_catalog_entry(
        numbered({"id": 1, "name": "x", "meta": {"tier": 2, "owner": "a"}}), ctx
    ).body
    assert body["attribute_values"] == {"01T": {"value": {"literal": "2"}}}


def test_one_record_per_call(ctx):
    with pytest.raises(ValueError, match="one request per record"):
        build_catalog_entry(numbered(), ctx)
