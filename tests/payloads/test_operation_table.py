"""The operation table, unplaced fields, and proof that the spec validator bites."""

from __future__ import annotations

import typing as t
from dataclasses import replace

import pytest
from numbering import numbered
from support import StaticLists

from target_incidentio.operation_entry import AlsoNeeds
from target_incidentio.operations import OPERATIONS, config_schema
from target_incidentio.payloads.http import build_http
from target_incidentio.settings import (
    STREAM_OVERRIDABLE,
    CustomFieldMap,
    PerStreamSetting,
    StreamSettings,
)
from target_incidentio.settings.declarations import overridable
from target_incidentio.settings.spec import declared

BASE = "https://api.incident.io"


def unplaced_fields(operation, record, settings, key_properties=()):
    return OPERATIONS[operation].unplaced_fields(record, settings, key_properties)


def test_every_operation_has_a_builder_credential_and_placement():
    # One table entry per operation; the `operation` setting offers exactly those names.
    allowed = config_schema()["properties"]["operation"]["enum"]
    assert allowed == list(OPERATIONS)
    assert all(op.name == name for name, op in OPERATIONS.items())
    assert OPERATIONS["http"].build is build_http
    assert OPERATIONS["alert_event"].credential == "alert_source_token"
    assert {op.credential for name, op in OPERATIONS.items() if name != "alert_event"} == {
        "api_key"
    }


# The on-call lists the escalation and override builders resolve names against.
_ON_CALL = StaticLists(
    {
        "escalation_paths": [{"id": "01EDATA", "name": "Data platform"}],
        "users": [{"id": "01UANN", "name": "Ann", "email": "ann@example.com"}],
        "schedules": [
            {
                "id": "01SPRIMARY",
                "name": "Primary",
                "config": {
                    "rotations": [
                        {
                            "id": "01RWEEK",
                            "name": "Weekly",
                            "layers": [{"id": "01LDAY", "name": "Day"}],
                        }
                    ]
                },
            }
        ],
    }
)
# For each operation, records it can build and the stream settings it needs.
_BUILDABLE: dict[str, tuple[list[dict[str, t.Any]], dict[str, t.Any]]] = {
    "alert_event": ([{"id": 1, "title": "t"}], {"alert_source_config_id": "01SRC"}),
    "incident": ([{"id": 1, "name": "x"}], {}),
    "incident_edit": ([{"id": "01INC", "summary": "s"}], {}),
    "incident_update": ([{"id": 1, "incident_id": "01INC", "message": "m"}], {}),
    "incident_timeline_item": (
        [{"id": 1, "incident_id": "01INC", "timestamp": "2026-09-01T15:30:00Z", "title": "t"}],
        {},
    ),
    "catalog_entry": ([{"id": 1, "name": "x"}], {"catalog_type_id": "01TYPE"}),
    "escalation": (
        [{"id": 1, "title": "t", "escalation_path": "Data platform"}],
        {"directory": _ON_CALL},
    ),
    "schedule_override": (
        [
            {
                "id": 1,
                "schedule": "primary",
                "user": "ann@example.com",
                "start_at": "2031-03-02T09:00:00+01:00",
                "end_at": "2031-03-02T17:00:00+01:00",
            }
        ],
        {"directory": _ON_CALL},
    ),
    "http": ([{"id": 1}, {"id": 2}], {"api_url": "/v2/x", "batch_size_rows": 2}),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_builder_returns_the_whole_request(operation, make_ctx):
    # Stream, operation, the records' numbers, the answer's keys and the stream's headers
    # come from the builder: nothing patches the request after it is built.
    records, settings = _BUILDABLE[operation]
    ctx = make_ctx(
        "s",
        ("id",),
        operation=operation,
        request_headers={"X-Team": "sre"},
        answer_keys=("wrapped",),
        **settings,
    )
    request = OPERATIONS[operation].build(numbered(*records, first=7), ctx)
    assert request.stream == "s"
    assert request.operation == operation
    assert request.sequences == tuple(range(7, 7 + len(records)))
    assert request.records == tuple(records)
    assert request.answer_keys == ("wrapped",)
    assert request.headers == {"X-Team": "sre"}


@pytest.mark.parametrize("operation", ["alert_event", "http"])
def test_operations_that_send_everything_leave_nothing_unplaced(operation):
    assert unplaced_fields(operation, {"anything": 1, "else": 2}, StreamSettings()) == set()


def test_incident_unplaced_fields():
    settings = StreamSettings(
        custom_fields=(
            CustomFieldMap("team", "01T", "text"),
            CustomFieldMap("owner.name", "01O", "text"),
        ),
        exclude_attributes=("internal", "owner.email"),
    )
    record = {
        "id": 1,
        "name": "x",
        "summary": "s",
        "team": "sre",
        "owner": {"name": "a"},
        "internal": "dropped on purpose",
        "_sdc_received_at": "now",
        "priority": "high",
        "created_at": "2024",
    }
    assert unplaced_fields("incident", record, settings) == {"id", "priority", "created_at"}
    assert unplaced_fields("incident", record, settings, key_properties=("id",)) == {
        "priority",
        "created_at",
    }


def test_edit_update_and_catalog_unplaced_fields():
    settings = StreamSettings(
        custom_fields=(CustomFieldMap("team", "01T", "text"),),
        catalog_attributes={"tier": "01TIER"},
    )
    edit = {
        "id": "1",
        "summary": "s",
        "visibility": "private",
        "team": "t",
        "notify_incident_channel": True,
    }
    assert unplaced_fields("incident_edit", edit, settings) == {"visibility"}
    update = {"incident_id": "1", "message": "m", "team": "t", "author": "ann"}
    # custom_fields do not apply to updates.
    assert unplaced_fields("incident_update", update, settings) == {"team", "author"}
    entry = {"external_id": "e", "name": "n", "tier": 1, "aliases": [], "colour": "red"}
    assert unplaced_fields("catalog_entry", entry, settings) == {"colour"}


def test_placed_fields_follow_the_spec_names():
    assert {"name", "summary", "severity_id", "idempotency_key", "visibility", "mode"} <= (
        OPERATIONS["incident"].places or set()
    )
    assert "call_url" in (OPERATIONS["incident_edit"].places or set())
    assert "visibility" not in (OPERATIONS["incident_edit"].places or set())


# The validator fixture must reject what the API would reject, or the other tests prove nothing.


def test_validator_rejects_an_alert_without_title(openapi_validator):
    with pytest.raises(AssertionError, match="title"):
        openapi_validator("POST", f"{BASE}/v2/alert_events/http/01ABC", {"status": "firing"})


def test_validator_rejects_a_sideways_incident(openapi_validator):
    body = {"idempotency_key": "k", "visibility": "sideways"}
    with pytest.raises(AssertionError, match="sideways"):
        openapi_validator("POST", f"{BASE}/v2/incidents", body)


@pytest.mark.parametrize(
    ("url", "body", "match"),
    [
        (f"{BASE}/v2/incident_updates", {"incident_id": "1", "message": "m"}, "idempotency_key"),
        (f"{BASE}/v2/incidents/01/actions/edit", {"incident": {}}, "notify_incident_channel"),
        (
            f"{BASE}/v3/catalog_entries",
            {
                "catalog_type_id": "t",
                "name": "n",
                "attribute_values": {"a": {"value": {"lit": "x"}}},
            },
            "lit",
        ),
        (
            f"{BASE}/v3/catalog_entries",
            {"catalog_type_id": "t", "name": "n", "attribute_values": {}, "rank": "3"},
            "rank",
        ),
        (f"{BASE}/v2/no_such_endpoint", {}, "not found"),
    ],
)
def test_validator_rejects_other_mismatches(openapi_validator, url, body, match):
    with pytest.raises(AssertionError, match=match):
        openapi_validator("POST", url, body)


def test_validator_strictness_and_auth(openapi_validator):
    body = {"idempotency_key": "k", "visibility": "public", "titel": "typo"}
    with pytest.raises(AssertionError, match="titel"):
        openapi_validator("POST", f"{BASE}/v2/incidents", body)
    openapi_validator("POST", f"{BASE}/v2/incidents", body, strict=False)
    with pytest.raises(AssertionError, match="Security"):
        openapi_validator(
            "POST", f"{BASE}/v2/incidents", {"idempotency_key": "k", "visibility": "public"}, {}
        )
    # Any host: a sandbox URL is judged by its path.
    openapi_validator(
        "POST",
        "http://127.0.0.1:9999/v2/alert_events/http/01ABC?token=abc",
        {"title": "t", "status": "resolved"},
        {"Authorization": "Bearer alert-token"},
    )


@pytest.mark.parametrize(
    "names",
    [
        {"reads": ("custom_fields", "notify_incidnet_channel")},
        {"requires": (("api_ur1", "`/v2/x`"),)},
        {"also_needs": (AlsoNeeds("resolve_missing_alert", "api_key", "lists alerts"),)},
        {"reads": ("max_retries",)},  # declared, but not a per-stream setting
    ],
)
def test_a_setting_the_table_misnames_fails_when_the_entry_is_made(names):
    table_entry = OPERATIONS["incident_edit"]
    with pytest.raises(ValueError, match="names settings no stream has"):
        replace(table_entry, **names)


def test_a_check_the_operation_cannot_read_fails_when_the_entry_is_made():
    # `--check` looks up what an operation declares; a check of settings it never reads is
    # a table error, not a silent skip.
    with pytest.raises(ValueError, match="checks settings it does not read: alert_source"):
        replace(OPERATIONS["incident_edit"], checks=("alert_source",))
    assert replace(OPERATIONS["incident_edit"], checks=()).checks == ()


def test_the_checks_are_declared_on_the_operations_that_read_their_ids():
    declared = {name: op.checks for name, op in OPERATIONS.items() if op.checks}
    assert declared == {
        "alert_event": ("alert_source",),
        "incident": ("custom_fields", "role_assignments", "incident_sync"),
        "incident_edit": ("custom_fields", "role_assignments"),
        "catalog_entry": ("catalog_type",),
        "schedule_override": ("schedules",),
    }


def test_the_per_stream_setting_type_is_the_one_list_of_per_stream_settings():
    # The type checker judges the table's setting names by this Literal, and the schema and
    # the parser read the list made from it: the same names, in declaration order.
    assert set(STREAM_OVERRIDABLE) == set(t.get_args(PerStreamSetting))
    assert (
        tuple(n for n, _ in declared(StreamSettings) if n in STREAM_OVERRIDABLE)
        == STREAM_OVERRIDABLE
    )


@pytest.mark.parametrize("names", [("operation", "opertion"), ("operation", "max_retries")])
def test_a_per_stream_name_the_stream_settings_do_not_declare_fails_at_import(names):
    # A typo, or a setting of another group (`max_retries` is a delivery setting).
    with pytest.raises(ValueError, match=f"StreamSettings declares no setting '{names[1]}'"):
        overridable(StreamSettings, names)
    assert overridable(StreamSettings, ("rate_limit_per_minute", "operation")) == (
        "operation",
        "rate_limit_per_minute",
    )
