"""The sandbox's memory of incidents, alerts and catalog entries.

Kept apart from HTTP so the rules (idempotency, dedup, upsert) read plainly.
Callers hold ``Store.lock`` around every mutation and read.
"""

from __future__ import annotations

import copy
import os
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_TIME_CHARS = 10
_ULID_RANDOM_CHARS = 16


def new_id() -> str:
    """A ULID-shaped id like incident.io's: 48-bit millisecond time + 80 random bits."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(_ULID_TIME_CHARS + _ULID_RANDOM_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def now_rfc3339() -> str:
    """Current UTC time the way incident.io prints timestamps."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class NotFoundError(LookupError):
    """A referenced resource does not exist; ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


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


class Store:
    """All sandbox state, wiped by ``clear``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        """Forget everything, as if freshly started."""
        with self.lock:
            self.incidents: dict[str, dict[str, Any]] = {}
            self.incident_keys: dict[str, str] = {}
            self.incident_updates: dict[str, dict[str, Any]] = {}
            self.update_keys: dict[str, str] = {}
            self.alerts: dict[tuple[str, str], dict[str, Any]] = {}
            self.alert_events: list[dict[str, Any]] = []
            self.catalog_entries: dict[str, dict[str, Any]] = {}
            self.catalog_external_ids: dict[tuple[str, str], str] = {}
            self.next_reference = 1

    # -- incidents -------------------------------------------------------------

    def create_incident(
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
        self.incidents[incident["id"]] = incident
        self.incident_keys[key] = incident["id"]
        return incident, True

    def get_incident(self, incident_id: str, field: str = "id") -> dict[str, Any]:
        """The incident, or ``NotFoundError`` naming ``field``."""
        try:
            return self.incidents[incident_id]
        except KeyError:
            msg = f"No incident found with id {incident_id!r}"
            raise NotFoundError(msg, field) from None

    def edit_incident(self, incident_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply only the fields provided, as the edit endpoint promises."""
        incident = self.get_incident(incident_id)
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
        return incident

    def create_incident_update(
        self, payload: dict[str, Any], updater: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Share an update once per idempotency key, moving status/severity as asked."""
        key = payload["idempotency_key"]
        if key in self.update_keys:
            return self.incident_updates[self.update_keys[key]], False
        incident = self.get_incident(payload["incident_id"], field="incident_id")
        if "to_incident_status_id" in payload:
            incident["incident_status"] = _status(payload["to_incident_status_id"])
        if "to_severity_id" in payload:
            incident["severity"] = _named(payload["to_severity_id"])
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
        self.incident_updates[update["id"]] = update
        self.update_keys[key] = update["id"]
        return update, True

    # -- alerts ----------------------------------------------------------------

    def record_alert_event(self, config_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Fold an event into its alert: same dedup key, same alert; ``resolved`` resolves it."""
        key = payload.get("deduplication_key") or new_id()
        stamp = now_rfc3339()
        self.alert_events.append(
            {"alert_source_config_id": config_id, "received_at": stamp, "payload": payload},
        )
        alert = self.alerts.get((config_id, key))
        if alert is None:
            alert = {
                "id": new_id(),
                "alert_source_config_id": config_id,
                "deduplication_key": key,
                "created_at": stamp,
                "event_count": 0,
                "resolved_at": None,
            }
            self.alerts[(config_id, key)] = alert
        alert["event_count"] += 1
        alert["updated_at"] = stamp
        for name in ("title", "description", "source_url", "metadata"):
            if name in payload:
                alert[name] = payload[name]
        alert["status"] = payload["status"]
        if payload["status"] == "resolved":
            alert["resolved_at"] = alert["resolved_at"] or stamp
        else:
            alert["resolved_at"] = None
        return alert

    # -- catalog ---------------------------------------------------------------

    def upsert_catalog_entry(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create, or update the entry with the same (catalog_type_id, external_id)."""
        type_id = payload["catalog_type_id"]
        external_id = payload.get("external_id")
        existing_id = self.catalog_external_ids.get((type_id, external_id)) if external_id else None
        stamp = now_rfc3339()
        if existing_id is not None:
            entry = self.catalog_entries[existing_id]
            created = False
        else:
            entry = {"id": new_id(), "catalog_type_id": type_id, "created_at": stamp}
            created = True
        entry.update(
            {
                "name": payload["name"],
                "aliases": list(payload.get("aliases", [])),
                "rank": payload.get("rank", 0),
                "attribute_values": copy.deepcopy(payload["attribute_values"]),
                "updated_at": stamp,
            },
        )
        if external_id:
            entry["external_id"] = external_id
            self.catalog_external_ids[(type_id, external_id)] = entry["id"]
        self.catalog_entries[entry["id"]] = entry
        return entry, created

    def bulk_update_catalog_entries(self, payload: dict[str, Any]) -> None:
        """All or nothing, like the real endpoint: unknown entries abort the batch."""
        type_id = payload["catalog_type_id"]
        for index, item in enumerate(payload["entries"]):
            entry = self.catalog_entries.get(item["entry_id"])
            if entry is None or entry["catalog_type_id"] != type_id:
                msg = f"No catalog entry {item['entry_id']!r} in type {type_id!r}"
                raise NotFoundError(msg, f"entries[{index}].entry_id")
        only = payload.get("update_attributes")
        stamp = now_rfc3339()
        for item in payload["entries"]:
            entry = self.catalog_entries[item["entry_id"]]
            values = copy.deepcopy(item["attribute_values"])
            if only is not None:
                values = {
                    **entry["attribute_values"],
                    **{k: v for k, v in values.items() if k in only},
                }
            entry["attribute_values"] = values
            for name in ("name", "aliases", "rank"):
                if name in item:
                    entry[name] = copy.deepcopy(item[name])
            if item.get("external_id"):
                self.catalog_external_ids.pop((type_id, entry.get("external_id", "")), None)
                entry["external_id"] = item["external_id"]
                self.catalog_external_ids[(type_id, item["external_id"])] = entry["id"]
            entry["updated_at"] = stamp

    # -- views -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything, for ``GET /_sandbox/state``."""
        with self.lock:
            alerts = list(self.alerts.values())
            state = {
                "incidents": list(self.incidents.values()),
                "incident_updates": list(self.incident_updates.values()),
                "alerts": alerts,
                "alert_events": self.alert_events,
                "catalog_entries": list(self.catalog_entries.values()),
                "counts": {
                    "incidents": len(self.incidents),
                    "incident_updates": len(self.incident_updates),
                    "alerts": len(alerts),
                    "alerts_firing": sum(1 for a in alerts if a["status"] == "firing"),
                    "alerts_resolved": sum(1 for a in alerts if a["status"] == "resolved"),
                    "alert_events": len(self.alert_events),
                    "catalog_entries": len(self.catalog_entries),
                },
            }
            return copy.deepcopy(state)
