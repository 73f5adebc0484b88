"""The catalog type planner: a stream's SCHEMA and the listed type in, what to create out.

Pure, so no server: the type mapping table, which fields become attributes, what a managed
type gains, what an unmanaged one never does, and the update_schema body that keeps every id.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import replace

import pytest

from target_incidentio.catalog.types import (
    MANAGED_BY,
    TYPES_PATH,
    CatalogType,
    Column,
    PlanError,
    attribute_type,
    columns,
    find_type,
    parse_types,
    plan_type,
    schema_path,
)
from target_incidentio.core.errors import SettingError
from target_incidentio.operations import parse_settings
from target_incidentio.settings import StreamSettings

SCHEMA: dict[str, t.Any] = {
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "rank": {"type": "integer"},
        "tier": {"type": ["null", "integer"]},
        "cost": {"type": "number"},
        "tags": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
        "critical": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "owner_team": {"type": "string"},
        "meta": {"type": "object"},
        "secret": {"type": "string"},
        "_sdc_extracted_at": {"type": "string"},
    }
}
# A managed type's schema as listed: an attribute set in the dashboard (mode `api`), one
# whose field left the stream, with a path whose items the payload takes by id only.
LISTED = [
    {"id": "01ATIER", "name": "tier", "type": "Number", "array": False, "mode": "api"},
    {
        "id": "01AGONE",
        "name": "region",
        "type": "String",
        "array": False,
        "mode": "",
        "path": [{"attribute_id": "01AX", "attribute_name": "x"}],
    },
]
MANAGE = StreamSettings(catalog_manage_type=True, exclude_attributes=("secret",))


def _type(attributes: list[dict[str, t.Any]], *, managed: bool = True, version: int = 3):
    annotations = {MANAGED_BY: "services"} if managed else {}
    return CatalogType(
        "01T", "Service", 'Custom["Service"]', annotations, version, tuple(attributes)
    )


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, ("String", False)),
        ({"type": "integer"}, ("Number", False)),
        ({"type": "number"}, ("Number", False)),
        ({"type": "boolean"}, ("Bool", False)),
        ({"type": ["null", "boolean"]}, ("Bool", False)),
        ({"anyOf": [{"type": "null"}, {"type": "number"}]}, ("Number", False)),
        ({"type": "array", "items": {"type": "integer"}}, ("Number", True)),
        ({"type": ["array", "null"], "items": {"type": ["null", "string"]}}, ("String", True)),
        ({"type": "object"}, None),
        ({"type": "array", "items": {"type": "object"}}, None),
        ({"type": ["string", "integer"]}, None),  # a union of two types fits no attribute
        ({}, None),
        (None, None),
    ],
)
def test_the_type_mapping_table(schema, expected):
    assert attribute_type(schema) == expected


def test_every_field_but_those_that_fill_the_entry_becomes_a_column():
    found = columns(MANAGE, SCHEMA, ["id"])
    assert [c.field for c in found] == ["tier", "cost", "tags", "critical", "owner_team", "meta"]
    assert found[2] == Column("tags", "tags", "String", array=True)
    assert found[-1] == Column("meta", "meta", None)  # an object: reported, never an attribute


def test_key_properties_are_columns_when_an_external_id_field_fills_the_entry():
    schema = {"properties": {"external_id": {"type": "string"}, "id": {"type": "integer"}}}
    assert [c.field for c in columns(MANAGE, schema, ["id"])] == ["id"]


def test_catalog_attributes_lists_the_columns_and_names_their_attributes():
    settings = replace(MANAGE, catalog_attributes={"tier": "Tier", "cost": "01ACOST"})
    assert columns(settings, SCHEMA, ["id"]) == (
        Column("tier", "Tier", "Number"),
        Column("cost", "01ACOST", "Number"),
    )


def test_a_reference_column_takes_the_referenced_type_name():
    settings = replace(MANAGE, catalog_references={"owner_team": 'Custom["Team"]'})
    found = {c.field: c for c in columns(settings, SCHEMA, ["id"])}
    assert found["owner_team"] == Column("owner_team", "owner_team", 'Custom["Team"]')


def test_a_missing_managed_type_is_created_with_every_typed_column():
    found = columns(MANAGE, SCHEMA, ["id"])
    plan = plan_type("services", "Service", None, found, manage=True)
    assert plan.existing is None
    assert plan.changes
    assert [c.field for c in plan.add] == ["tier", "cost", "tags", "critical", "owner_team"]
    assert [c.field for c in plan.unattributed] == ["meta"]
    assert plan.create_body() == {
        "name": "Service",
        "description": (
            "Loaded by target-incidentio from the stream 'services'; its schema follows the "
            "stream's."
        ),
        "annotations": {MANAGED_BY: "services"},
    }
    named = plan_type("services", 'Custom["Svc"]', None, found, manage=True).create_body()
    assert (named["name"], named["type_name"]) == ("Svc", 'Custom["Svc"]')
    assert "would create catalog type Service" in plan.summary()
    assert "tags: String (array)" in plan.summary()
    assert "fields with no attribute: meta: no attribute type" in plan.summary()


def test_a_missing_type_the_stream_does_not_manage_is_an_error_naming_it():
    with pytest.raises(PlanError, match="catalog type 'Service' does not exist"):
        plan_type("services", "Service", None, (), manage=False)


def test_a_managed_type_gains_only_the_new_field_and_keeps_every_attribute_by_id():
    kind = _type(LISTED)
    found = (Column("tier", "tier", "Number"), Column("cost", "cost", "Number"))
    plan = plan_type("services", "Service", kind, found, manage=True, fields=("tier", "cost"))
    assert plan.bound == {"tier": "01ATIER"}
    assert [c.field for c in plan.add] == ["cost"]
    assert plan.left == ("region",)  # its field left the stream: kept, with a warning
    assert plan.schema_body(kind) == {
        "version": 3,
        "attributes": [
            LISTED[0],
            # A path item of the payload carries only its attribute's id.
            {**LISTED[1], "path": [{"attribute_id": "01AX"}]},
            {"name": "cost", "type": "Number", "array": False},
        ],
    }
    grown = replace(kind, attributes=(*kind.attributes, {"id": "01ACOST", "name": "cost"}))
    assert plan.settled(grown) == {"tier": "01ATIER", "cost": "01ACOST"}


def test_a_type_the_target_did_not_create_is_never_planned_to_change():
    kind = _type(
        [{"id": "01ATIER", "name": "Tier", "type": "String", "array": False}], managed=False
    )
    found = (Column("tier", "Tier", "Number"), Column("cost", "cost", "Number"))
    plan = plan_type("services", "Service", kind, found, manage=True)
    assert not plan.manage
    assert plan.add == ()
    assert not plan.changes
    assert plan.bound == {"tier": "01ATIER"}  # by name; its type is the dashboard's business
    assert [c.field for c in plan.unattributed] == ["cost"]


def test_a_managed_attribute_of_another_type_or_arity_stops_the_run_naming_it():
    kind = _type([{"id": "01ATAGS", "name": "tags", "type": "String", "array": False}])
    with pytest.raises(
        PlanError, match=r"attribute 'tags' is String but .* 'tags' is String \(array\)"
    ):
        plan_type(
            "services", "Service", kind, (Column("tags", "tags", "String", True),), manage=True
        )


def test_types_are_found_by_name_or_type_name_and_an_ambiguous_name_is_an_error():
    body = {
        "catalog_types": [
            {"id": "01A", "name": "Service", "type_name": 'Custom["Service"]', "schema": {}},
            {"id": "01B", "name": "Service", "type_name": 'Custom["Service2"]', "schema": {}},
            {"id": "01C", "name": "Team", "type_name": 'Custom["Team"]', "schema": {"version": 4}},
        ]
    }
    types = parse_types(body)
    assert find_type(types, "Team").version == 4
    assert find_type(types, 'Custom["Service2"]').id == "01B"
    assert find_type(types, "Nope") is None
    with pytest.raises(ValueError, match="several catalog types are named 'Service'"):
        find_type(types, "Service")
    with pytest.raises(TypeError):
        parse_types({"types": []})


def test_the_bodies_hold_to_the_spec_and_a_wrong_one_is_refused(openapi_validator):
    kind = _type(LISTED)
    found = (Column("tier", "tier", "Number"), Column("tags", "tags", "String", array=True))
    plan = plan_type("services", "Service", kind, found, manage=True)
    base = "https://api.incident.io"
    openapi_validator("POST", base + schema_path(kind.id), plan.schema_body(kind))
    created = plan_type("services", 'Custom["Service"]', None, found, manage=True)
    openapi_validator("POST", base + TYPES_PATH, created.create_body())
    # The validator is live: a listed path item's name is not part of the payload's schema.
    wrong = plan.schema_body(kind)
    wrong["attributes"][1]["path"] = LISTED[1]["path"]
    with pytest.raises(Exception, match="attribute_name"):
        openapi_validator("POST", base + schema_path(kind.id), wrong)


@pytest.mark.parametrize(
    ("extra", "setting", "says"),
    [
        ({"catalog_type": "Service"}, "catalog_type", "where `catalog_type_id`"),
        ({"catalog_manage_type": True}, "catalog_manage_type", "found, or created, by its name"),
    ],
)
def test_a_type_named_two_ways_is_refused_at_start(extra, setting, says):
    config = {"api_key": "k", "operation": "catalog_entry", "catalog_type_id": "01T", **extra}
    with pytest.raises(SettingError, match=f"Setting `{setting}`: .*{re.escape(says)}"):
        parse_settings(config)
    del config["catalog_type_id"]
    assert parse_settings(config).defaults.catalog_type_id is None


def test_a_listed_type_id_is_one_path_segment_whatever_the_answer_says():
    assert schema_path("01T/../x") == "/v3/catalog_types/01T%2F..%2Fx/actions/update_schema"
    with pytest.raises(ValueError, match="cannot be a URL path segment"):
        schema_path("..")
