"""Incidents and their updates: idempotent creates, edits of the fields given, the dashboard's.

An incident is kept as ``IncidentV2`` shows it (``incident_parts`` makes its parts from the ids
a create or an edit sends). Three ways in: a create with an ``idempotency_key`` (a repeat
answers the first incident, whatever its body says), an incident made in the dashboard (the
seed's ``incidents`` or ``POST /_sandbox/incidents``: no key, so nothing de-duplicates it),
and nothing else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.store.common import (
    Account,
    InvalidError,
    NotFoundError,
    new_id,
    now_rfc3339,
)
from incidentio_sandbox.store.incident_parts import (
    FieldValues,
    configured,
    default_status_id,
    default_type_id,
    role_assignments,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from incidentio_sandbox.seed.incidents import DashboardIncident
    from incidentio_sandbox.store.catalog import CatalogStore
    from incidentio_sandbox.store.configuration import OptionStore

JSONObject = dict[str, Any]
_DIGITS = re.compile(r"[0-9]+")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def _timestamps(entries: list[JSONObject]) -> dict[str, JSONObject]:
    """Timestamp id -> ``IncidentTimestampWithValueV2``."""
    return {
        entry["incident_timestamp_id"]: {
            "incident_timestamp": {
                "id": entry["incident_timestamp_id"],
                "name": entry["incident_timestamp_id"],
                "rank": 1,
            },
            "value": {"value": entry.get("value")},
        }
        for entry in entries
    }


def _merged(kept: list[JSONObject], key: str, named: Mapping[str, JSONObject]) -> list[JSONObject]:
    """``kept`` with the items ``named`` names replaced (in place), the new ones at the end."""
    out = [named.get(item[key]["id"], item) for item in kept]
    seen = {item[key]["id"] for item in kept}
    return out + [item for item_id, item in named.items() if item_id not in seen]


class IncidentStore:
    """The account's incidents and incident updates, each created once per idempotency key."""

    def __init__(self, account: Account, options: OptionStore, catalog: CatalogStore) -> None:
        self.account = account
        self.options = options
        self.catalog = catalog
        self.incidents: dict[str, JSONObject] = {}
        self.incident_keys: dict[str, str] = {}
        self.updates: dict[str, JSONObject] = {}
        self.update_keys: dict[str, str] = {}
        self.next_reference = 1

    def create(self, payload: JSONObject, creator: JSONObject) -> tuple[JSONObject, bool]:
        """Create an incident, or return the one an earlier call with this key created."""
        key = payload["idempotency_key"]
        if key in self.incident_keys:
            return self.incidents[self.incident_keys[key]], False
        incident = self._put(payload, creator)
        self.incident_keys[key] = incident["id"]
        return incident, True

    def put_dashboard(self, made: DashboardIncident) -> JSONObject:
        """An incident declared by hand: no idempotency key, made by a user of the dashboard."""
        creator = {
            "user": {
                "id": "01SANDBOXDASHBOARDUSER0000",
                "name": "Dashboard user",
                "role": "responder",
            }
        }
        return self._put(dict(made.body), creator, incident_id=made.id, created_at=made.created_at)

    def _put(
        self,
        payload: JSONObject,
        creator: JSONObject,
        *,
        incident_id: str = "",
        created_at: str = "",
    ) -> JSONObject:
        """The one way an incident comes to be: its parts judged, rendered and numbered."""
        seed = self.account.seed
        stamp = now_rfc3339()
        fields, problems = self._fields().render(
            payload.get("custom_field_entries", []), "custom_field_entries"
        )
        if problems:
            raise InvalidError(problems)
        if incident_id in self.incidents:
            msg = f"An incident with id {incident_id!r} already exists"
            raise InvalidError([("invalid_value", msg, "id")])
        number = self.next_reference
        self.next_reference += 1
        name = payload.get("name") or f"Incident {number}"
        status_id = payload.get("incident_status_id") or default_status_id(seed)
        roles = role_assignments(seed, payload.get("incident_role_assignments", []), stamp)
        incident: JSONObject = {
            "id": incident_id or new_id(),
            "reference": f"INC-{number}",
            "name": name,
            "visibility": payload["visibility"],
            "mode": payload.get("mode", "standard"),
            "incident_status": configured(
                seed, "incident_status", status_id or "01SANDBOXSTATUSINVESTIGATE", stamp
            ),
            "custom_field_entries": list(fields.values()),
            "incident_role_assignments": list(roles.values()),
            "incident_timestamp_values": list(
                _timestamps(payload.get("incident_timestamp_values", [])).values()
            ),
            "creator": creator,
            "team_ids": [],
            "has_debrief": False,
            "slack_team_id": payload.get("slack_team_id", "T0SANDBOX"),
            "slack_channel_id": f"C{new_id()[-10:]}",
            "slack_channel_name": payload.get("slack_channel_name_override")
            or f"inc-{number}-{_slug(name)}",
            "permalink": f"https://app.incident.io/sandbox/incidents/{number}",
            "created_at": created_at or stamp,
            "updated_at": created_at or stamp,
            "last_activity_at": created_at or stamp,
        }
        if "summary" in payload:
            incident["summary"] = payload["summary"]
        if "severity_id" in payload:
            incident["severity"] = configured(seed, "severity", payload["severity_id"], stamp)
        type_id = payload.get("incident_type_id") or default_type_id(seed)
        if type_id:
            incident["incident_type"] = configured(seed, "incident_type", type_id, stamp)
        self.incidents[incident["id"]] = incident
        return incident

    def _fields(self) -> FieldValues:
        return FieldValues(self.account.seed, self.options, self.catalog)

    def get(self, incident_id: str, field: str = "id") -> JSONObject:
        """The incident by id, or by the number of its reference (``123`` for INC-123)."""
        found = self.incidents.get(incident_id)
        if found is None and _DIGITS.fullmatch(incident_id):
            reference = f"INC-{int(incident_id)}"
            found = next((i for i in self.incidents.values() if i["reference"] == reference), None)
        if found is None:
            msg = f"No incident found with id {incident_id!r}"
            raise NotFoundError(msg, field)
        return found

    def edit(self, incident_id: str, changes: JSONObject) -> JSONObject:
        """Apply only the fields provided, as the edit endpoint promises.

        Custom fields, role assignments and timestamps it names take the new values; those
        it does not name are kept.
        """
        incident = self.get(incident_id)
        seed = self.account.seed
        stamp = now_rfc3339()
        fields, problems = self._fields().render(
            changes.get("custom_field_entries", []), "incident.custom_field_entries"
        )
        if problems:
            raise InvalidError(problems)
        for simple in ("name", "summary", "call_url"):
            if simple in changes:
                incident[simple] = changes[simple]
        if "slack_channel_name_override" in changes:
            incident["slack_channel_name"] = changes["slack_channel_name_override"]
        if "severity_id" in changes:
            incident["severity"] = configured(seed, "severity", changes["severity_id"], stamp)
        if "incident_status_id" in changes:
            status_id = changes["incident_status_id"]
            incident["incident_status"] = configured(seed, "incident_status", status_id, stamp)
        incident["custom_field_entries"] = _merged(
            incident["custom_field_entries"], "custom_field", fields
        )
        roles = role_assignments(seed, changes.get("incident_role_assignments", []), stamp)
        incident["incident_role_assignments"] = _merged(
            incident["incident_role_assignments"], "role", roles
        )
        timestamps = _timestamps(changes.get("incident_timestamp_values", []))
        incident["incident_timestamp_values"] = _merged(
            incident["incident_timestamp_values"], "incident_timestamp", timestamps
        )
        incident["updated_at"] = incident["last_activity_at"] = stamp
        return incident

    def create_update(
        self, payload: dict[str, Any], updater: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Share an update once per idempotency key, moving status/severity as asked."""
        key = payload["idempotency_key"]
        if key in self.update_keys:
            return self.updates[self.update_keys[key]], False
        incident = self.get(payload["incident_id"], field="incident_id")
        stamp = now_rfc3339()
        seed = self.account.seed
        if "to_incident_status_id" in payload:
            status_id = payload["to_incident_status_id"]
            incident["incident_status"] = configured(seed, "incident_status", status_id, stamp)
        if "to_severity_id" in payload:
            severity_id = payload["to_severity_id"]
            incident["severity"] = configured(seed, "severity", severity_id, stamp)
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
