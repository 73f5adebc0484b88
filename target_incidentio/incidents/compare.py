"""A record's incident against the one incident.io lists: what differs, and the edit.

The record is read from the create body its builder made (`payloads/incidents.py`), where
names are already ids (severity, status, options, catalog entries): so both sides compare as
incident.io lists them (`values.py`). Only the owned fields the record gives are compared; a
field the record leaves out is never cleared. The edit carries only what differs; the create
carries the key field and an idempotency key of the stream and the key alone.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, replace

from target_incidentio.incidents.keys import sync_idempotency_key
from target_incidentio.incidents.values import Value, named, scalar, slot, values
from target_incidentio.reconcile.engine import Difference

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_incidentio.incidents.listing import Listed
    from target_incidentio.incidents.owned import SyncField
    from target_incidentio.payloads.base import Resolved

NOTIFY_FIELD = "notify_incident_channel"
_BODY_FIELD = {"severity": "severity_id", "incident_status": "incident_status_id"}


@dataclass(frozen=True)
class Desired:
    """What one record wants: its keyed create body, and the owned fields it gives."""

    key: str
    body: Mapping[str, t.Any]
    values: Mapping[str, Value]  # by `values.slot`; only the owned fields the record gives


def keyed_create(
    body: Mapping[str, t.Any], *, stream: str, key: str, key_field_id: str
) -> dict[str, t.Any]:
    """The create body with the key field set and the key's own idempotency key.

    A value the record gave the key field is replaced; the idempotency key comes from the
    stream and the key alone.
    """
    entries = [
        e
        for e in body.get("custom_field_entries") or ()
        if e.get("custom_field_id") != key_field_id
    ]
    entries.append({"custom_field_id": key_field_id, "values": [{"value_text": key}]})
    return {
        **body,
        "idempotency_key": sync_idempotency_key(stream, key),
        "custom_field_entries": entries,
    }


def _entry(body: Mapping[str, t.Any], field_id: str | None) -> Mapping[str, t.Any] | None:
    """The body's last custom field entry for `field_id` (the mapped one, after the record's)."""
    found = [
        e for e in body.get("custom_field_entries") or () if e.get("custom_field_id") == field_id
    ]
    return found[-1] if found else None


def _assignment(body: Mapping[str, t.Any], role_id: str | None) -> Mapping[str, t.Any] | None:
    found = [
        a
        for a in body.get("incident_role_assignments") or ()
        if a.get("incident_role_id") == role_id
    ]
    return found[-1] if found else None


def _payload_value(item: Mapping[str, t.Any], names: Mapping[str, str]) -> tuple[str, str] | None:
    """One `CustomFieldValuePayloadV2` as (compared, shown)."""
    for key in ("value_option_id", "value_catalog_entry_id"):
        if isinstance(item.get(key), str):
            return item[key], names.get(item[key], item[key])
    return scalar(item)


def _requested_user(assignee: object) -> Value:
    """The assignee a record asks for, by the one identity it gives."""
    if not isinstance(assignee, dict):
        return Value(())
    for prefix, key in (("email:", "email"), ("id:", "id"), ("slack:", "slack_user_id")):
        value = assignee.get(key)
        if isinstance(value, str) and value:
            return Value((prefix + (value.casefold() if key == "email" else value),), value)
    return Value(())


def desired(
    key: str,
    body: Mapping[str, t.Any],
    owned: Sequence[SyncField],
    resolved: Iterable[Resolved] = (),
) -> Desired:
    """A record's keyed create body and its owned values (`resolved`: the names it gave)."""
    names = {r.id: r.name for r in resolved}
    found: dict[str, Value] = {}
    for field in owned:
        if field.kind in {"name", "summary"}:
            if field.kind in body:
                text = body[field.kind] if isinstance(body[field.kind], str) else ""
                found[slot(field)] = Value((text,), text or None)
        elif field.kind in _BODY_FIELD:
            if body.get(_BODY_FIELD[field.kind]):
                found[slot(field)] = named(body[_BODY_FIELD[field.kind]], names)
        elif field.kind == "custom_field":
            entry = _entry(body, field.id)
            if entry is not None:
                pairs = (_payload_value(v, names) for v in entry.get("values") or ())
                found[slot(field)] = values((p for p in pairs if p is not None), field)
        else:
            assignment = _assignment(body, field.id)
            if assignment is not None:
                found[slot(field)] = _requested_user(assignment.get("assignee"))
    return Desired(key, body, found)


def differences(
    current: Listed, wanted: Desired, owned: Sequence[SyncField]
) -> tuple[Difference, ...]:
    """The owned fields the record gives whose value the incident does not hold."""
    changed = []
    for field in owned:
        value = wanted.values.get(slot(field))
        if value is None:
            continue
        held = current.value(field)
        if not value.same(held):
            changed.append(Difference(field.label, held.text, value.text))
    return tuple(changed)


def edit_body(
    wanted: Desired, changed: Iterable[str], owned: Sequence[SyncField], *, notify: bool
) -> dict[str, t.Any]:
    """The `IncidentsEditPayloadV2` carrying only the owned fields in `changed` (by label)."""
    labels = set(changed)
    body = wanted.body
    incident: dict[str, t.Any] = {}
    for field in owned:
        if field.label not in labels or slot(field) not in wanted.values:
            continue
        if field.kind in {"name", "summary"}:
            incident[field.kind] = body[field.kind]
        elif field.kind in _BODY_FIELD:
            incident[_BODY_FIELD[field.kind]] = body[_BODY_FIELD[field.kind]]
        elif field.kind == "custom_field":
            entry = _entry(body, field.id)
            incident.setdefault("custom_field_entries", []).append(dict(entry or {}))
        else:
            assignment = _assignment(body, field.id)
            incident.setdefault("incident_role_assignments", []).append(dict(assignment or {}))
    return {"incident": incident, NOTIFY_FIELD: notify}


def after_edit(
    current: Listed, wanted: Desired, changed: Iterable[str], owned: Sequence[SyncField]
) -> Listed:
    """The incident once a confirmed edit of `changed` (labels) applied: what later rows meet."""
    labels = set(changed)
    values = dict(current.values)
    for field in owned:
        if field.label in labels and slot(field) in wanted.values:
            values[slot(field)] = wanted.values[slot(field)]
    return replace(current, values=values)


def close_body(status_id: str, *, notify: bool) -> dict[str, t.Any]:
    """The edit that moves an incident whose row left the source to the close status."""
    return {"incident": {"incident_status_id": status_id}, NOTIFY_FIELD: notify}


def stale_fields(answer: object, body: Mapping[str, t.Any]) -> tuple[str, ...]:
    """`incident_mode: create`: what the answered incident says otherwise than the create.

    incident.io answers a create whose idempotency key it has seen with the incident it made
    then; when its name, summary or severity differ from the body, the change was not applied
    (the caller warns once per stream, pointing at `incident_mode: sync`). No call is made.
    """
    incident = answer.get("incident") if isinstance(answer, dict) else None
    if not isinstance(incident, dict):
        return ()
    severity = incident.get("severity")
    held = {
        "name": incident.get("name"),
        "summary": incident.get("summary") or None,
        "severity_id": severity.get("id") if isinstance(severity, dict) else None,
    }
    # Only what the create gave: a field it left out was not asked for.
    return tuple(
        field.removesuffix("_id")
        for field, value in held.items()
        if field in body and value != (body[field] or None)
    )
