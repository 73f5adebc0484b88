"""The incident operations: declare an incident, edit one, share an update on one."""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.common import (
    Reader,
    Record,
    boolean,
    identifier,
    mapping,
    objects,
    one_of,
    read_fields,
    require,
    required_identifier,
    stream_map_hint,
    text,
)
from target_incidentio.payloads.incident_fields import (
    INCIDENT_NAMES,
    UPDATE_NAMES,
    add_names,
    with_custom_fields,
    with_role_assignments,
)

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered

# Every incident field the three payloads take, by its name in the spec.
_READERS: dict[str, Reader] = {
    "idempotency_key": identifier,
    "visibility": one_of("public", "private"),
    "name": text,
    "summary": text,
    "severity_id": text,
    "incident_type_id": text,
    "incident_status_id": text,
    "mode": one_of("standard", "retrospective", "test", "tutorial"),
    "slack_channel_name_override": text,
    "slack_team_id": text,
    "call_url": text,
    "custom_field_entries": objects(custom_field_id=str, values=list),
    "incident_role_assignments": objects(incident_role_id=str),
    "incident_timestamp_values": objects(incident_timestamp_id=str),
    "retrospective_incident_options": mapping,
    "notify_incident_channel": boolean,
    "incident_id": identifier,
    "message": text,
    "to_incident_status_id": text,
    "to_severity_id": text,
}


def _fields(*names: str) -> dict[str, Reader]:
    return {name: _READERS[name] for name in names}


# IncidentsCreatePayloadV2.
INCIDENT_FIELDS = _fields(
    "idempotency_key",
    "visibility",
    "name",
    "summary",
    "severity_id",
    "incident_type_id",
    "incident_status_id",
    "mode",
    "slack_channel_name_override",
    "slack_team_id",
    "custom_field_entries",
    "incident_role_assignments",
    "incident_timestamp_values",
    "retrospective_incident_options",
)
# IncidentEditPayloadV2: what an edit may change (visibility, type and mode are fixed).
INCIDENT_EDIT_FIELDS = _fields(
    "name",
    "summary",
    "severity_id",
    "incident_status_id",
    "call_url",
    "slack_channel_name_override",
    "custom_field_entries",
    "incident_role_assignments",
    "incident_timestamp_values",
)
# The record fields a create or an edit may give by name (`severity` for `severity_id`).
INCIDENT_NAME_FIELDS = frozenset(INCIDENT_NAMES)
INCIDENT_EDIT_NAME_FIELDS = frozenset(
    name for name, target in INCIDENT_NAMES.items() if target.id_field in INCIDENT_EDIT_FIELDS
)
UPDATE_NAME_FIELDS = frozenset(UPDATE_NAMES)
# Where an edit finds its incident, in order of preference.
INCIDENT_ID_FIELDS = ("id", "incident_id")
NOTIFY_FIELD = "notify_incident_channel"
# IncidentUpdatesCreatePayloadV2.
INCIDENT_UPDATE_FIELDS = _fields(
    "incident_id", "idempotency_key", "message", "to_incident_status_id", "to_severity_id"
)
# The API refuses an update that carries none of these.
UPDATE_CHANGES = ("message", "to_incident_status_id", "to_severity_id")


def _add_named(record: Record, body: dict[str, t.Any], fields: frozenset[str]) -> None:
    """Ids from the record's names, custom fields and role assignments the settings map."""
    add_names(record, body, {name: INCIDENT_NAMES[name] for name in sorted(fields)})
    entries = with_custom_fields(record, body.get("custom_field_entries"))
    if entries:
        body["custom_field_entries"] = entries
    assignments = with_role_assignments(record, body.get("incident_role_assignments"))
    if assignments:
        body["incident_role_assignments"] = assignments


def build_incident(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Declare an incident; the idempotency key makes a rerun find the same incident."""
    record = Record.single(records, ctx, "incident")
    body = read_fields(record, INCIDENT_FIELDS)
    body["idempotency_key"] = body.get("idempotency_key") or record.derived_key("incident")
    body.setdefault("visibility", ctx.settings.incident_visibility)
    _add_named(record, body, INCIDENT_NAME_FIELDS)
    return record.api_key_request(
        path="/v2/incidents", body=body, order_key=f"incident:{body['idempotency_key']}"
    )


def build_incident_edit(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Edit the incident the record names with the editable fields the record has."""
    record = Record.single(records, ctx, "incident_edit")
    incident_id = required_identifier(
        record, INCIDENT_ID_FIELDS, "<field holding the incident id>", " to find the incident"
    )
    incident = read_fields(record, INCIDENT_EDIT_FIELDS)
    _add_named(record, incident, INCIDENT_EDIT_NAME_FIELDS)
    if not incident:
        raise record.error(
            None,
            "the record has none of the fields an incident edit can change: "
            f"{', '.join(INCIDENT_EDIT_FIELDS)} (or a name, a mapped custom field or role).",
            "map the fields to change with stream_maps, or choose another operation.",
        )
    notify = boolean(record, NOTIFY_FIELD)
    body = {
        "incident": incident,
        NOTIFY_FIELD: ctx.settings.notify_incident_channel if notify is None else notify,
    }
    return record.api_key_request(
        path=f"/v2/incidents/{record.segment(INCIDENT_ID_FIELDS[0], incident_id)}/actions/edit",
        body=body,
        order_key=f"incident-id:{incident_id}",
    )


def build_incident_update(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Share an update on an incident; a rerun of the same record is not shared twice."""
    record = Record.single(records, ctx, "incident_update")
    body = read_fields(record, INCIDENT_UPDATE_FIELDS)
    require(record, body, "incident_id", "<field holding the incident id>")
    add_names(record, body, UPDATE_NAMES)
    if not any(body.get(name) for name in UPDATE_CHANGES):
        raise record.error(
            None,
            f"an incident update needs at least one of {', '.join(UPDATE_CHANGES)}.",
            stream_map_hint(ctx.stream, "message", "'Update: ' + status"),
        )
    body["idempotency_key"] = body.get("idempotency_key") or record.derived_key("incident_update")
    return record.api_key_request(
        path="/v2/incident_updates",
        body=body,
        order_key=f"incident-id:{body['incident_id']}",
    )
