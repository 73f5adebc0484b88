"""Incidents and their updates: idempotent creates, edits of the fields given."""

from __future__ import annotations

import copy
import re
from typing import Any

from incidentio_sandbox.store.common import Account, NotFoundError, new_id, now_rfc3339


def _named(item_id: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A stand-in for a configured object (status, severity...) the sandbox only knows by id."""
    stamp = now_rfc3339()
    return {
        "id": item_id,
        "name": item_id,
        "description": "",
        "rank": 1,
        "created_at": stamp,
        "updated_at": stamp,
        **extra,
    }


_DEFAULT_STATUS_ID = "01SANDBOXSTATUSINVESTIGATE"


def _status(status_id: str | None) -> dict[str, Any]:
    if status_id is None:
        return {**_named(_DEFAULT_STATUS_ID, category="live"), "name": "Investigating"}
    return _named(status_id, category="live")


def _custom_fields(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "custom_field": {
                "id": entry["custom_field_id"],
                "name": entry["custom_field_id"],
                "description": "",
                "field_type": "text",
                "options": [],
            },
            "values": copy.deepcopy(entry.get("values", [])),
        }
        for entry in entries
    ]


def _role_assignments(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "assignee": copy.deepcopy(entry.get("assignee", {})),
            "role": _named(entry["incident_role_id"], role_type="custom", shortform="role"),
        }
        for entry in entries
    ]


def _timestamps(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "incident_timestamp": {
                "id": entry["incident_timestamp_id"],
                "name": entry["incident_timestamp_id"],
                "rank": 1,
            },
            "value": {"value": entry.get("value")},
        }
        for entry in entries
    ]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


class IncidentStore:
    """The account's incidents and incident updates, each created once per idempotency key."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.incidents: dict[str, dict[str, Any]] = {}
        self.incident_keys: dict[str, str] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.update_keys: dict[str, str] = {}
        self.next_reference = 1

    def create(
        self, payload: dict[str, Any], creator: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create an incident, or return the one an earlier call with this key created."""
        key = payload["idempotency_key"]
        if key in self.incident_keys:
            return self.incidents[self.incident_keys[key]], False
        number = self.next_reference
        self.next_reference += 1
        stamp = now_rfc3339()
        name = payload.get("name") or f"Incident {number}"
        incident: dict[str, Any] = {
            "id": new_id(),
            "reference": f"INC-{number}",
            "name": name,
            "visibility": payload["visibility"],
            "mode": payload.get("mode", "standard"),
            "incident_status": _status(payload.get("incident_status_id")),
            "custom_field_entries": _custom_fields(payload.get("custom_field_entries", [])),
            "incident_role_assignments": _role_assignments(
                payload.get("incident_role_assignments", []),
            ),
            "incident_timestamp_values": _timestamps(payload.get("incident_timestamp_values", [])),
            "creator": creator,
            "team_ids": [],
            "has_debrief": False,
            "slack_team_id": payload.get("slack_team_id", "T0SANDBOX"),
            "slack_channel_id": f"C{new_id()[-10:]}",
            "slack_channel_name": payload.get("slack_channel_name_override")
            or f"inc-{number}-{_slug(name)}",
            "permalink": f"https://app.incident.io/sandbox/incidents/{number}",
            "created_at": stamp,
            "updated_at": stamp,
            "last_activity_at": stamp,
        }
        if "summary" in payload:
            incident["summary"] = payload["summary"]
        if "severity_id" in payload:
            incident["severity"] = _named(payload["severity_id"])
        if "incident_type_id" in payload:
            incident["incident_type"] = _named(
                payload["incident_type_id"],
                is_default=False,
                private_incidents_only=False,
                create_in_triage="optional",
            )
        self.incidents[incident["id"]] = self._seeded_names(incident)
        self.incident_keys[key] = incident["id"]
        return incident, True

    def get(self, incident_id: str, field: str = "id") -> dict[str, Any]:
        """The incident, or ``NotFoundError`` naming ``field``."""
        try:
            return self.incidents[incident_id]
        except KeyError:
            msg = f"No incident found with id {incident_id!r}"
            raise NotFoundError(msg, field) from None

    def edit(self, incident_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply only the fields provided, as the edit endpoint promises."""
        incident = self.get(incident_id)
        for simple in ("name", "summary", "call_url"):
            if simple in changes:
                incident[simple] = changes[simple]
        if "slack_channel_name_override" in changes:
            incident["slack_channel_name"] = changes["slack_channel_name_override"]
        if "severity_id" in changes:
            incident["severity"] = _named(changes["severity_id"])
        if "incident_status_id" in changes:
            incident["incident_status"] = _status(changes["incident_status_id"])
        if "custom_field_entries" in changes:
            replaced = {e["custom_field_id"] for e in changes["custom_field_entries"]}
            kept = [
                e
                for e in incident["custom_field_entries"]
                if e["custom_field"]["id"] not in replaced
            ]
            incident["custom_field_entries"] = kept + _custom_fields(
                changes["custom_field_entries"],
            )
        if "incident_role_assignments" in changes:
            incident["incident_role_assignments"] = _role_assignments(
                changes["incident_role_assignments"],
            )
        if "incident_timestamp_values" in changes:
            incident["incident_timestamp_values"] = _timestamps(
                changes["incident_timestamp_values"],
            )
        incident["updated_at"] = incident["last_activity_at"] = now_rfc3339()
        return self._seeded_names(incident)

    def _seeded_names(self, incident: dict[str, Any]) -> dict[str, Any]:
        """The seed's names (and a status's category) for the ids the incident holds."""
        shown = [
            (incident.get(key), kind)
            for key, kind in (
                ("severity", "severities"),
                ("incident_status", "incident_statuses"),
                ("incident_type", "incident_types"),
            )
        ]
        shown += [(a["role"], "incident_roles") for a in incident["incident_role_assignments"]]
        for item, kind in shown:
            if item is None:
                continue
            found = next((n for n in getattr(self.account.seed, kind) if n.id == item["id"]), None)
            if found is not None:
                item["name"] = found.name
                item.update({k: v for k, v in found.extra.items() if k in item})
        return incident

    def create_update(
        self, payload: dict[str, Any], updater: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Share an update once per idempotency key, moving status/severity as asked."""
        key = payload["idempotency_key"]
        if key in self.update_keys:
            return self.updates[self.update_keys[key]], False
        incident = self.get(payload["incident_id"], field="incident_id")
        if "to_incident_status_id" in payload:
            incident["incident_status"] = _status(payload["to_incident_status_id"])
        if "to_severity_id" in payload:
            incident["severity"] = _named(payload["to_severity_id"])
        self._seeded_names(incident)
        stamp = now_rfc3339()
        incident["updated_at"] = incident["last_activity_at"] = stamp
        update: dict[str, Any] = {
            "id": new_id(),
            "incident_id": incident["id"],
            "message": payload.get("message", ""),
            "new_incident_status": incident["incident_status"],
            "updater": updater,
            "created_at": stamp,
        }
        if "to_severity_id" in payload:
            update["new_severity"] = incident["severity"]
        self.updates[update["id"]] = update
        self.update_keys[key] = update["id"]
        return update, True

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of incidents."""
        return {
            "incidents": list(self.incidents.values()),
            "incident_updates": list(self.updates.values()),
        }

    def counts(self) -> dict[str, int]:
        """The incident counts of ``GET /_sandbox/state``."""
        return {"incidents": len(self.incidents), "incident_updates": len(self.updates)}
