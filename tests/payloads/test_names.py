"""Names instead of ids, resolved by the builders against lists given directly (no server)."""

from __future__ import annotations

import pytest
from numbering import numbered
from support import StaticLists

from target_incidentio.core.errors import RecordError
from target_incidentio.payloads.incidents import (
    build_incident,
    build_incident_edit,
    build_incident_update,
)
from target_incidentio.payloads.names import LISTS, find, is_id, known
from target_incidentio.settings import CustomFieldMap, RoleMap

SEVERITIES = [
    {"id": "01SEVMINOR", "name": "Minor"},
    {"id": "01SEVMAJOR", "name": "Major"},
    {"id": "01SEVCRITICAL", "name": "Critical"},
]
STATUSES = [{"id": "01STTRIAGE", "name": "Triage"}, {"id": "01STFIX", "name": "Fixing"}]
TYPES = [{"id": "01TYDEFAULT", "name": "Default"}, {"id": "01TYSEC", "name": "Security"}]
ROLES = [{"id": "01ROLELEAD", "name": "Incident Lead"}, {"id": "01ROLECOMMS", "name": "Comms"}]
FIELDS = [
    {"id": "01FTEAM", "name": "Team", "field_type": "single_select"},
    {"id": "01FAREAS", "name": "Areas", "field_type": "multi_select"},
    {"id": "01FSVC", "name": "Service", "field_type": "single_select", "catalog_type_id": "01T"},
    {"id": "01FNOTES", "name": "Notes", "field_type": "text"},
]
OPTIONS = [{"id": "01OPAY", "value": "Payments"}, {"id": "01OSEARCH", "value": "Search"}]
AREAS = [{"id": "01AWEB", "value": "Web"}, {"id": "01AAPI", "value": "API"}]
ENTRIES = [
    {"id": "01EPAY", "external_id": "svc-pay", "name": "Payments API", "aliases": ["payments"]},
    {"id": "01ESEARCH", "external_id": "svc-search", "name": "Search", "aliases": []},
]


def lists() -> StaticLists:
    return StaticLists(
        {
            "severities": SEVERITIES,
            "incident_statuses": STATUSES,
            "incident_types": TYPES,
            "incident_roles": ROLES,
            "custom_fields": FIELDS,
            ("custom_field_options", "01FTEAM"): OPTIONS,
            ("custom_field_options", "01FAREAS"): AREAS,
            ("catalog_entries", "01T"): ENTRIES,
        }
    )


def test_names_in_any_case_become_ids_and_are_kept_for_the_response(make_ctx, openapi_validator):
    ctx = make_ctx("tickets", ("ticket_id",), directory=lists())
    record = {
        "ticket_id": 1,
        "name": "Checkout down",
        "severity": "cRiTiCaL",
        "incident_status": " fixing ",
        "incident_type": "security",
    }
    request = build_incident(numbered(record), ctx)
    assert request.body["severity_id"] == "01SEVCRITICAL"
    assert request.body["incident_status_id"] == "01STFIX"
    assert request.body["incident_type_id"] == "01TYSEC"
    assert "severity" not in request.body
    assert [(r.field, r.name, r.id) for r in request.resolved] == [
        ("incident_status", " fixing ", "01STFIX"),
        ("incident_type", "security", "01TYSEC"),
        ("severity", "cRiTiCaL", "01SEVCRITICAL"),
    ]
    openapi_validator(request.method, request.url, request.body)


def test_an_id_field_wins_over_its_name_and_ids_cost_no_look_up(make_ctx):
    given = lists()
    ctx = make_ctx("tickets", ("ticket_id",), directory=given)
    record = {"ticket_id": 1, "name": "x", "severity_id": "01EXPLICIT", "severity": "Nonsense"}
    assert build_incident(numbered(record), ctx).body["severity_id"] == "01EXPLICIT"
    ulid = "01HSEVERITY000000000000000"
    assert is_id(ulid)
    assert (
        build_incident(numbered({"ticket_id": 2, "severity": ulid}), ctx).body["severity_id"]
        == ulid
    )
    assert given.reads == []


def test_an_unknown_name_fails_the_record_with_the_closest_names(make_ctx):
    ctx = make_ctx("tickets", ("ticket_id",), directory=lists())
    with pytest.raises(RecordError) as caught:
        build_incident(numbered({"ticket_id": 7, "name": "x", "severity": "Critcal"}), ctx)
    error = caught.value
    assert error.field == "severity"
    assert error.record_key == "ticket_id=7"
    assert error.stream == "tickets"
    assert "severity 'Critcal' is not a severity; closest: Critical; known: Critical, Minor" in (
        error.problem
    )
    assert "'severity_id'" in error.hint
    nothing_close = known("Catastrophic", SEVERITIES, LISTS["severities"])
    assert nothing_close == "known: Minor, Major, Critical"


def test_a_name_that_names_two_things_fails_naming_both_ids(make_ctx):
    doubled = lists()
    doubled.lists[("custom_field_options", "01FTEAM")] = [
        {"id": "01OPAY1", "value": "Payments"},
        {"id": "01OPAY2", "value": "payments"},
    ]
    mapped = (CustomFieldMap("team", None, None, "Team"),)
    ctx = make_ctx("tickets", ("ticket_id",), custom_fields=mapped, directory=doubled)
    # Exact case picks one; any other case matches both.
    body = build_incident(numbered({"ticket_id": 1, "team": "payments"}), ctx).body
    assert body["custom_field_entries"][0]["values"] == [{"value_option_id": "01OPAY2"}]
    with pytest.raises(RecordError, match=r"names 2 of them: 01OPAY1 \('Payments'\), 01OPAY2"):
        build_incident(numbered({"ticket_id": 2, "team": "PAYMENTS"}), ctx)


def test_custom_fields_by_name_take_their_kind_from_the_field(make_ctx, openapi_validator):
    mapped = (
        CustomFieldMap("team", None, None, "team"),
        CustomFieldMap("areas", None, None, "Areas"),
        CustomFieldMap("service", None, None, "Service"),
        CustomFieldMap("aliases", "01FSVC"),
        CustomFieldMap("notes", None, None, "Notes"),
    )
    ctx = make_ctx("tickets", ("ticket_id",), custom_fields=mapped, directory=lists())
    record = {
        "ticket_id": 1,
        "team": "Payments",
        "areas": ["web", "01AAPI"],
        "service": "svc-pay",
        "aliases": ["payments", "Search"],
        "notes": "seen by ann",
    }
    request = build_incident(numbered(record), ctx)
    assert request.body["custom_field_entries"] == [
        {"custom_field_id": "01FTEAM", "values": [{"value_option_id": "01OPAY"}]},
        {
            "custom_field_id": "01FAREAS",
            "values": [{"value_option_id": "01AWEB"}, {"value_option_id": "01AAPI"}],
        },
        {"custom_field_id": "01FSVC", "values": [{"value_catalog_entry_id": "01EPAY"}]},
        {
            "custom_field_id": "01FSVC",
            "values": [
                {"value_catalog_entry_id": "01EPAY"},
                {"value_catalog_entry_id": "01ESEARCH"},
            ],
        },
        {"custom_field_id": "01FNOTES", "values": [{"value_text": "seen by ann"}]},
    ]
    openapi_validator(request.method, request.url, request.body)


def test_an_unknown_option_fails_unless_the_stream_creates_missing_ones(make_ctx):
    mapped = (CustomFieldMap("team", None, None, "Team"),)
    strict = make_ctx("tickets", ("ticket_id",), custom_fields=mapped, directory=lists())
    with pytest.raises(
        RecordError, match="option 'Billing' is not an option; known: Payments"
    ) as caught:
        build_incident(numbered({"ticket_id": 1, "team": "Billing"}), strict)
    assert caught.value.hint.endswith("or send the option's id.")

    given = lists()
    creating = make_ctx(
        "tickets",
        ("ticket_id",),
        custom_fields=mapped,
        create_missing_options=True,
        directory=given,
    )
    first = build_incident(numbered({"ticket_id": 1, "team": "Billing"}), creating)
    second = build_incident(numbered({"ticket_id": 2, "team": "billing"}), creating)
    sent = [
        r.body["custom_field_entries"][0]["values"][0]["value_option_id"] for r in (first, second)
    ]
    assert sent[0] == sent[1]
    assert given.created == [("01FTEAM", "Billing")]
    assert first.resolved[0].name == "Billing"


def test_roles_are_assigned_by_role_name_to_an_email(make_ctx, openapi_validator):
    roles = (RoleMap("lead_email", None, "incident lead"), RoleMap("comms", "01ROLEBYID"))
    ctx = make_ctx("tickets", ("ticket_id",), role_assignments=roles, directory=lists())
    record = {"ticket_id": 1, "name": "x", "lead_email": "ann@example.com", "comms": None}
    request = build_incident(numbered(record), ctx)
    assert request.body["incident_role_assignments"] == [
        {"incident_role_id": "01ROLELEAD", "assignee": {"email": "ann@example.com"}}
    ]
    openapi_validator(request.method, request.url, request.body)
    with pytest.raises(RecordError, match="an e-mail address") as caught:
        build_incident(numbered({"ticket_id": 2, "lead_email": "ann"}), ctx)
    assert caught.value.field == "lead_email"


def test_edits_and_updates_take_names(make_ctx, openapi_validator):
    ctx = make_ctx("sync", ("id",), directory=lists())
    edit = build_incident_edit(numbered({"id": "01INC", "severity": "major"}), ctx)
    assert edit.body["incident"] == {"severity_id": "01SEVMAJOR"}
    openapi_validator(edit.method, edit.url, edit.body)
    update = build_incident_update(
        numbered(
            {
                "id": 9,
                "incident_id": "01INC",
                "to_severity": "Minor",
                "to_incident_status": "triage",
            }
        ),
        ctx,
    )
    assert update.body["to_severity_id"] == "01SEVMINOR"
    assert update.body["to_incident_status_id"] == "01STTRIAGE"
    openapi_validator(update.method, update.url, update.body)


def test_aliases_and_external_ids_match_entries():
    kind = LISTS["catalog_entries"]
    assert find("PAYMENTS", ENTRIES, kind)["id"] == "01EPAY"
    assert find("svc-search", ENTRIES, kind)["id"] == "01ESEARCH"
    assert find("01ESEARCH", ENTRIES, kind)["id"] == "01ESEARCH"
