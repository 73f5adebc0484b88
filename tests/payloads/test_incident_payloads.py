"""The incident, incident_edit and incident_update builders."""

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
from target_incidentio.settings import CustomFieldMap

INCIDENT = {
    "id": "INC-1",
    "name": "Checkout failing",
    "summary": "Payments return 500",
    "severity_id": "01SEV",
    "incident_type_id": "01TYPE",
    "incident_status_id": "01STATUS",
    "mode": "standard",
    "slack_channel_name_override": "inc-checkout",
    "slack_team_id": "T123",
    "incident_role_assignments": [
        {"incident_role_id": "01ROLE", "assignee": {"email": "ann@example.com"}}
    ],
    "incident_timestamp_values": [
        {"incident_timestamp_id": "01TS", "value": "2024-05-01T10:00:00Z"}
    ],
    "retrospective_incident_options": {"postmortem_document_url": "https://docs/x"},
    "custom_field_entries": [{"custom_field_id": "01OWN", "values": [{"value_text": "own"}]}],
}
CUSTOM_FIELDS = (
    CustomFieldMap("team_note", "01TEXT", "text"),
    CustomFieldMap("cost", "01NUM", "numeric"),
    CustomFieldMap("runbook", "01LINK", "link"),
    CustomFieldMap("teams", "01OPT", "option"),
    CustomFieldMap("service_id", "01CAT", "catalog_entry"),
)


def test_typical_incident_is_valid(make_ctx, openapi_validator):
    ctx = make_ctx("incidents", ("id",))
    request = build_incident(numbered(INCIDENT), ctx)
    assert request.url == "https://api.incident.io/v2/incidents"
    assert request.credential == ctx.settings.api_key
    assert request.rate_scopes == ctx.api_key_scopes()
    body = request.body
    assert body["visibility"] == "public"
    assert body["idempotency_key"].startswith("target-incidentio-")
    assert request.order_key == f"incident:{body['idempotency_key']}"
    expected = {k: v for k, v in INCIDENT.items() if k != "id"}
    assert {k: v for k, v in body.items() if k not in ("idempotency_key", "visibility")} == expected
    openapi_validator(request.method, request.url, body)


def test_minimal_incident_uses_settings_visibility(make_ctx, openapi_validator):
    ctx = make_ctx("incidents", (), incident_visibility="private")
    request = build_incident(numbered({"name": "x"}), ctx)
    assert request.body["visibility"] == "private"
    openapi_validator(request.method, request.url, request.body)
    own = build_incident(numbered({"name": "x", "visibility": "public"}), ctx)
    assert own.body["visibility"] == "public"


def test_record_idempotency_key_is_used(make_ctx):
    request = build_incident(numbered({"name": "x", "idempotency_key": 77}), make_ctx("incidents"))
    assert request.body["idempotency_key"] == "77"
    assert request.order_key == "incident:77"


def test_derived_idempotency_keys(make_ctx):
    ctx = make_ctx("incidents", ("id",))
    first = build_incident(numbered({**INCIDENT, "_sdc_received_at": "a"}), ctx).body[
        "idempotency_key"
    ]
    rerun = build_incident(numbered({**INCIDENT, "_sdc_received_at": "b"}), ctx).body[
        "idempotency_key"
    ]
    other = build_incident(numbered({**INCIDENT, "id": "INC-2"}), ctx).body["idempotency_key"]
    assert first == rerun
    assert first != other
    # Different purposes never collide, even for the same record.
    update = build_incident_update(
        numbered({"incident_id": "INC-1", "message": "m", "id": "INC-1"}), ctx
    ).body["idempotency_key"]
    assert update != first


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 12),
        ("visibility", "sideways"),
        ("mode", "drill"),
        ("severity_id", ["a"]),
        ("incident_role_assignments", {"incident_role_id": "x"}),
        ("incident_role_assignments", [{"assignee": {"id": "u"}}]),
        ("custom_field_entries", [{"custom_field_id": "x", "values": "v"}]),
        ("retrospective_incident_options", "yes"),
        ("idempotency_key", True),
    ],
)
def test_incident_wrong_types(make_ctx, field, value):
    with pytest.raises(RecordError) as caught:
        build_incident(numbered({"id": "INC-1", "name": "x", field: value}), make_ctx("incidents"))
    assert caught.value.field in (field, f"{field}[0]")
    assert "stream 'incidents', record id='INC-1'" in str(caught.value)
    assert f"field '{field}" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("name", 12, ["expected a string, got int 12.", '"name": "str(name)"']),
        (
            "notify_incident_channel",
            "yes",
            ["expected true or false, got str 'yes'.", '"notify_incident_channel": "bool('],
        ),
    ],
)
def test_a_text_or_boolean_field_of_another_type_names_the_kind_and_its_cast(
    make_ctx, field, value, says
):
    record = {"id": "INC-1", "incident_id": "01INC", "name": "x", field: value}
    with pytest.raises(RecordError) as caught:
        build_incident_edit(numbered(record), make_ctx("incidents"))
    assert [text for text in says if text not in str(caught.value)] == []


def test_custom_fields_every_kind_appended_to_own_entries(make_ctx, openapi_validator):
    lists = StaticLists(
        {
            "custom_fields": [
                {"id": "01CAT", "field_type": "single_select", "catalog_type_id": "T"}
            ],
            ("custom_field_options", "01OPT"): [
                {"id": "01OPTA", "value": "Payments"},
                {"id": "01OPTB", "value": "Search"},
            ],
            ("catalog_entries", "T"): [{"id": "01ENTRY", "name": "Payments API"}],
        }
    )
    ctx = make_ctx("incidents", ("id",), custom_fields=CUSTOM_FIELDS, directory=lists)
    record = {
        **INCIDENT,
        "team_note": "on call: ann",
        "cost": 1234.5,
        "runbook": "https://runbooks/checkout",
        "teams": ["Payments", "search"],
        "service_id": "Payments API",
    }
    request = build_incident(numbered(record), ctx)
    entries = request.body["custom_field_entries"]
    assert entries == [
        {"custom_field_id": "01OWN", "values": [{"value_text": "own"}]},
        {"custom_field_id": "01TEXT", "values": [{"value_text": "on call: ann"}]},
        {"custom_field_id": "01NUM", "values": [{"value_numeric": "1234.5"}]},
        {"custom_field_id": "01LINK", "values": [{"value_link": "https://runbooks/checkout"}]},
        {
            "custom_field_id": "01OPT",
            "values": [{"value_option_id": "01OPTA"}, {"value_option_id": "01OPTB"}],
        },
        {"custom_field_id": "01CAT", "values": [{"value_catalog_entry_id": "01ENTRY"}]},
    ]
    openapi_validator(request.method, request.url, request.body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, "3"), (0.1, "0.1"), (1e20, "100000000000000000000"), (" 12.50 ", "12.50"), (-2, "-2")],
)
def test_numeric_custom_field_is_sent_as_plain_text(make_ctx, value, expected):
    ctx = make_ctx("incidents", custom_fields=(CustomFieldMap("cost", "01NUM", "numeric"),))
    body = build_incident(numbered({"name": "x", "cost": value}), ctx).body
    assert body["custom_field_entries"] == [
        {"custom_field_id": "01NUM", "values": [{"value_numeric": expected}]}
    ]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("numeric", "lots"),
        ("numeric", True),
        ("numeric", float("nan")),
        ("text", {"a": 1}),
        ("link", 5),
        ("option", ""),
        ("catalog_entry", [3]),
    ],
)
def test_custom_field_wrong_types(make_ctx, kind, value):
    ctx = make_ctx("incidents", custom_fields=(CustomFieldMap("cf", "01CF", kind),))
    with pytest.raises(RecordError, match=f"{kind} custom field") as caught:
        build_incident(numbered({"id": 5, "name": "x", "cf": value}), ctx)
    assert caught.value.field == "cf"
    assert "record id=5" in str(caught.value)


def test_custom_field_absent_is_skipped_empty_list_clears(make_ctx):
    ctx = make_ctx("incidents", custom_fields=(CustomFieldMap("teams", "01OPT", "option"),))
    assert "custom_field_entries" not in build_incident(numbered({"name": "x"}), ctx).body
    cleared = build_incident(numbered({"name": "x", "teams": []}), ctx).body
    assert cleared["custom_field_entries"] == [{"custom_field_id": "01OPT", "values": []}]


def test_custom_field_from_nested_path(make_ctx):
    ctx = make_ctx("incidents", custom_fields=(CustomFieldMap("owner.team", "01T", "text"),))
    body = build_incident(numbered({"name": "x", "owner": {"team": "sre"}}), ctx).body
    assert body["custom_field_entries"] == [
        {"custom_field_id": "01T", "values": [{"value_text": "sre"}]}
    ]


def test_exclude_attributes_apply_to_incidents(make_ctx):
    ctx = make_ctx(
        "incidents",
        exclude_attributes=("summary", "retrospective_incident_options.slack_channel_id"),
    )
    record = {
        "name": "x",
        "summary": "secret",
        "retrospective_incident_options": {
            "slack_channel_id": "C1",
            "postmortem_document_url": "u",
        },
    }
    body = build_incident(numbered(record), ctx).body
    assert "summary" not in body
    assert body["retrospective_incident_options"] == {"postmortem_document_url": "u"}


# incident_edit


def test_typical_edit_is_valid(make_ctx, openapi_validator):
    ctx = make_ctx("incident_changes", ("id",), custom_fields=CUSTOM_FIELDS[:1])
    record = {
        "id": "01INC/1",
        "name": "Checkout failing",
        "summary": "fixed",
        "severity_id": "01SEV",
        "incident_status_id": "01CLOSED",
        "call_url": "https://zoom.us/j/1",
        "visibility": "private",  # not editable: not sent
        "team_note": "handed over",
    }
    request = build_incident_edit(numbered(record), ctx)
    assert request.url == "https://api.incident.io/v2/incidents/01INC%2F1/actions/edit"
    assert request.order_key == "incident-id:01INC/1"
    assert request.credential == ctx.settings.api_key
    assert request.body == {
        "incident": {
            "name": "Checkout failing",
            "summary": "fixed",
            "severity_id": "01SEV",
            "incident_status_id": "01CLOSED",
            "call_url": "https://zoom.us/j/1",
            "custom_field_entries": [
                {"custom_field_id": "01TEXT", "values": [{"value_text": "handed over"}]}
            ],
        },
        "notify_incident_channel": False,
    }
    openapi_validator(request.method, request.url, request.body)


def test_edit_id_from_incident_id_and_notify_settings(make_ctx):
    ctx = make_ctx("changes", ("incident_id",), notify_incident_channel=True)
    request = build_incident_edit(numbered({"incident_id": "01INC", "summary": "s"}), ctx)
    assert request.url.endswith("/v2/incidents/01INC/actions/edit")
    assert request.body["notify_incident_channel"] is True
    quiet = build_incident_edit(
        numbered({"incident_id": "01INC", "summary": "s", "notify_incident_channel": False}), ctx
    )
    assert quiet.body["notify_incident_channel"] is False


def test_edit_without_id_is_a_record_error(make_ctx):
    with pytest.raises(RecordError, match=r"field 'id'.*incident") as caught:
        build_incident_edit(numbered({"name": "x"}), make_ctx("changes", ()))
    assert "stream_maps" in str(caught.value)


def test_edit_with_nothing_to_change_is_a_record_error(make_ctx):
    with pytest.raises(RecordError, match="none of the fields an incident edit can change"):
        build_incident_edit(numbered({"id": "01INC", "visibility": "private"}), make_ctx("changes"))


def test_edit_wrong_type(make_ctx):
    with pytest.raises(RecordError, match="field 'summary'"):
        build_incident_edit(numbered({"id": "01INC", "summary": 3}), make_ctx("changes"))
    with pytest.raises(RecordError, match="field 'notify_incident_channel'"):
        build_incident_edit(
            numbered({"id": "01INC", "summary": "s", "notify_incident_channel": "yes"}),
            make_ctx("changes"),
        )


# incident_update


def test_typical_update_is_valid(make_ctx, openapi_validator):
    ctx = make_ctx("updates", ("id",))
    record = {
        "id": "U1",
        "incident_id": "01INC",
        "message": "Fix shipped",
        "to_incident_status_id": "01MONITORING",
        "to_severity_id": "01MINOR",
    }
    request = build_incident_update(numbered(record), ctx)
    assert request.url == "https://api.incident.io/v2/incident_updates"
    body = request.body
    assert body["idempotency_key"].startswith("target-incidentio-")
    assert {k: v for k, v in body.items() if k != "idempotency_key"} == {
        k: v for k, v in record.items() if k != "id"
    }
    openapi_validator(request.method, request.url, body)


def test_edits_and_updates_of_one_incident_share_an_order_key(make_ctx):
    edit = build_incident_edit(numbered({"id": "01INC", "summary": "s"}), make_ctx("a"))
    update = build_incident_update(
        numbered({"incident_id": "01INC", "message": "m"}), make_ctx("b")
    )
    assert edit.order_key == update.order_key == "incident-id:01INC"


def test_update_idempotency_key_is_stable_across_reruns(make_ctx):
    ctx = make_ctx("updates", ())
    record = {"incident_id": "01INC", "message": "m"}
    first = build_incident_update(numbered({**record, "_sdc_batched_at": "1"}), ctx)
    second = build_incident_update(numbered({**record, "_sdc_batched_at": "2"}), ctx)
    other = build_incident_update(numbered({**record, "message": "n"}), ctx)
    assert first.body["idempotency_key"] == second.body["idempotency_key"]
    assert first.body["idempotency_key"] != other.body["idempotency_key"]


def test_update_without_incident_id(make_ctx):
    with pytest.raises(RecordError, match="field 'incident_id'") as caught:
        build_incident_update(numbered({"id": 3, "message": "m"}), make_ctx("updates"))
    assert 'stream_maps: {"updates": {"incident_id": ' in str(caught.value)


def test_update_needs_a_change(make_ctx):
    with pytest.raises(RecordError, match="at least one of message"):
        build_incident_update(numbered({"incident_id": "01INC"}), make_ctx("updates"))


def test_update_wrong_type(make_ctx):
    with pytest.raises(RecordError, match="record id=3, field 'message'"):
        build_incident_update(
            numbered({"id": 3, "incident_id": "1", "message": 5}), make_ctx("updates")
        )


@pytest.mark.parametrize("build", [build_incident, build_incident_edit, build_incident_update])
def test_one_record_per_call(make_ctx, build):
    with pytest.raises(ValueError, match="one request per record"):
        build(numbered({"id": 1}, {"id": 2}), make_ctx("s"))


@pytest.mark.parametrize("bad", [".", ".."])
def test_an_edit_id_that_would_move_the_path_is_a_record_error(make_ctx, bad):
    # `..` would post to /v2/actions/edit, `.` to /v2/incidents/actions/edit.
    with pytest.raises(RecordError, match="another path") as caught:
        build_incident_edit(numbered({"id": bad, "summary": "s"}), make_ctx("changes", ()))
    assert "field 'id'" in str(caught.value)
