"""The sandbox's memory of incidents, alerts, catalog entries and heartbeat pings.

Kept apart from HTTP so the rules (idempotency, dedup, upsert) read plainly.
Callers hold ``Store.lock`` around every mutation and read.
"""

from __future__ import annotations

import copy
import os
import re
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed import SELECT_TYPES, CatalogAttribute, CatalogType, CustomField, Seed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_TIME_CHARS = 10
_ULID_RANDOM_CHARS = 16


_last_id = 0
_id_lock = threading.Lock()


def new_id() -> str:
    """A ULID-shaped id like incident.io's: 48-bit millisecond time + 80 random bits.

    Monotonic within the process (as ULID's monotonic mode), so sorting by id is sorting
    by creation: list pages and their ``after`` cursors rely on that order.
    """
    global _last_id  # noqa: PLW0603 - one counter shared by every store
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        value = max(value, _last_id + 1)
        _last_id = value
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


class InvalidError(ValueError):
    """The request is well formed but the account refuses it (a 422); one item per problem."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(message for _code, message, _field in errors))
        self.errors = errors  # (code, message, field)


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


def page(
    items: list[dict[str, Any]], after: str | None, page_size: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Items after the id ``after`` (ids sort by creation), and the cursor for the next page.

    Comparing ids rather than looking ``after`` up keeps a cursor valid when the record it
    names is deleted between pages. No cursor comes back on the last page.
    """
    rest = [item for item in items if after is None or str(item["id"]) > after]
    chosen = rest[:page_size]
    next_after = str(chosen[-1]["id"]) if len(rest) > page_size else None
    return chosen, next_after


# Attribute types every account has; a catalog type's `type_name` is one too.
_ATTRIBUTE_TYPES = ("String", "Number", "Bool", "Text")
_CUSTOM_TYPE_NAME = re.compile(r'Custom\["[A-Za-z][A-Za-z0-9]*"\]')


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


class Store:
    """All sandbox state, wiped by ``clear``; ``seed`` is what the account is configured with."""

    def __init__(self, seed: Seed | None = None) -> None:
        self.lock = threading.RLock()
        self.seed = seed or Seed()
        self.seed_stamp = now_rfc3339()
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
            self.archived_catalog_entries: list[dict[str, Any]] = []
            self.heartbeat_pings: list[dict[str, Any]] = []
            # Items of the simpler resources (`create_once`): collection -> idempotency key -> item.
            self.collections: dict[str, dict[str, dict[str, Any]]] = {}
            # Options created through the API, by custom field id (the seed holds the rest).
            self.created_options: dict[str, list[dict[str, Any]]] = {}
            self.next_reference = 1

    def create_once(
        self, collection: str, idempotency_key: str, build: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """An item of `collection` made by `build` once per idempotency key.

        A repeat answers the first item, as incident.io's creates that take an
        ``idempotency_key`` do. A resource with no more behaviour than that needs no store code
        of its own: its handler calls this, and ``GET /_sandbox/state`` lists the collection.
        """
        items = self.collections.setdefault(collection, {})
        if idempotency_key in items:
            return items[idempotency_key], False
        item = items[idempotency_key] = build()
        return item, True

    # -- incidents -------------------------------------------------------------

    # -- the options of select custom fields -------------------------------------------------

    def custom_field(self, field_id: str, field: str = "custom_field_id") -> CustomField:
        """The seeded custom field, or ``NotFoundError`` naming ``field``."""
        found = next((f for f in self.seed.custom_fields if f.id == field_id), None)
        if found is None:
            msg = f"No custom field found with id {field_id!r}"
            raise NotFoundError(msg, field)
        return found

    def options(self, field_id: str) -> list[dict[str, Any]]:
        """A select field's options: the seeded ones, then those created."""
        custom_field = self.custom_field(field_id)
        seeded = [
            {"id": o.id, "custom_field_id": field_id, "value": o.value, "sort_key": 10 * number}
            for number, o in enumerate(custom_field.options, start=1)
        ]
        made = self.created_options.get(field_id, [])
        return [*seeded, *made]

    def create_option(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A new option; a value the field already has is refused, as the dashboard does."""
        field_id = payload["custom_field_id"]
        custom_field = self.custom_field(field_id)
        value = payload["value"]
        if custom_field.field_type not in SELECT_TYPES:
            msg = f"Custom field {field_id!r} is a {custom_field.field_type} field, not a select"
            raise InvalidError([("invalid_value", msg, "custom_field_id")])
        if value != value.strip() or any(c in value for c in "\t\n") or not value:
            msg = "Values must not start or end with whitespace, or contain tabs or newlines"
            raise InvalidError([("invalid_value", msg, "value")])
        if any(o["value"] == value for o in self.options(field_id)):
            msg = f"Custom field {field_id!r} already has an option {value!r}"
            raise InvalidError([("duplicate_value", msg, "value")])
        option = {
            "id": new_id(),
            "custom_field_id": field_id,
            "value": value,
            "sort_key": payload.get("sort_key", 1000),
        }
        self.created_options.setdefault(field_id, []).append(option)
        return option

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
        self.incidents[incident["id"]] = self._seeded_names(incident)
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
            found = next((n for n in getattr(self.seed, kind) if n.id == item["id"]), None)
            if found is not None:
                item["name"] = found.name
                item.update({k: v for k, v in found.extra.items() if k in item})
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

    def list_alerts(
        self, wanted: Callable[[dict[str, Any]], bool], after: str | None, page_size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the matching alerts in creation (id) order, and the next cursor."""
        matched = sorted((a for a in self.alerts.values() if wanted(a)), key=lambda a: a["id"])
        return page(matched, after, page_size)

    def get_alert(self, alert_id: str) -> dict[str, Any]:
        """The alert, or ``NotFoundError`` naming ``id``."""
        found = next((a for a in self.alerts.values() if a["id"] == alert_id), None)
        if found is None:
            msg = f"No alert found with id {alert_id!r}"
            raise NotFoundError(msg, "id")
        return found

    # -- catalog ---------------------------------------------------------------

    def catalog_type(self, type_id: str, field: str = "catalog_type_id") -> CatalogType:
        """The configured type; with no types configured every id is a type of its own."""
        configured = self.seed.catalog_types
        found = next((kind for kind in configured if kind.id == type_id), None)
        if found is not None:
            return found
        if configured:
            msg = f"No catalog type found with id {type_id!r}"
            raise NotFoundError(msg, field)
        return CatalogType(id=type_id, name=type_id)

    def catalog_types(self) -> list[CatalogType]:
        """Configured types, or (none configured) the implicit types entries were put in."""
        if self.seed.catalog_types:
            return list(self.seed.catalog_types)
        ids = dict.fromkeys(e["catalog_type_id"] for e in self._ordered_entries())
        return [CatalogType(id=type_id, name=type_id) for type_id in ids]

    def count_entries(self, type_id: str) -> int:
        """How many entries a type holds."""
        return sum(1 for e in self.catalog_entries.values() if e["catalog_type_id"] == type_id)

    def _entry_problems(  # noqa: PLR0913 - one entry's every checked part
        self,
        kind: CatalogType,
        *,
        values: Mapping[str, Any],
        name: str | None,
        external_id: str | None,
        prefix: str,
        only: list[str] | None = None,
    ) -> list[tuple[str, str, str]]:
        """Why the account would refuse this entry: rejected on purpose, or off-schema."""
        problems: list[tuple[str, str, str]] = []
        if external_id is not None and external_id in self.seed.reject_catalog_external_ids:
            message = f"External ID {external_id!r} is refused (sandbox reject list)"
            problems.append(("invalid_value", message, f"{prefix}external_id"))
        if name is not None and name in self.seed.reject_catalog_names:
            message = f"Name {name!r} is refused (sandbox reject list)"
            problems.append(("invalid_value", message, f"{prefix}name"))
        if not self.seed.catalog_types:
            return problems
        for attribute_id in [*values, *(only or ())]:
            attribute = kind.attribute(attribute_id)
            where = f"{prefix}attribute_values.{attribute_id}"
            if attribute is None:
                message = f"Catalog type {kind.id!r} has no attribute {attribute_id!r}"
                problems.append(("invalid_value", message, where))
                continue
            binding = values.get(attribute_id, {})
            if attribute.array and "value" in binding:
                message = f"Attribute {attribute.name!r} is an array: use array_value"
                problems.append(("invalid_value", message, f"{where}.value"))
            if not attribute.array and "array_value" in binding:
                message = f"Attribute {attribute.name!r} is not an array: use value"
                problems.append(("invalid_value", message, f"{where}.array_value"))
        return problems

    def upsert_catalog_entry(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create, or update the entry with the same (catalog_type_id, external_id)."""
        type_id = payload["catalog_type_id"]
        kind = self.catalog_type(type_id)
        external_id = payload.get("external_id")
        problems = self._entry_problems(
            kind,
            values=payload["attribute_values"],
            name=payload["name"],
            external_id=external_id,
            prefix="",
        )
        if problems:
            raise InvalidError(problems)
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
        """All or nothing, like the real endpoint: unknown or refused entries abort the batch."""
        type_id = payload["catalog_type_id"]
        kind = self.catalog_type(type_id)
        only: list[str] | None = payload.get("update_attributes")
        problems: list[tuple[str, str, str]] = []
        for index, item in enumerate(payload["entries"]):
            entry = self.catalog_entries.get(item["entry_id"])
            if entry is None or entry["catalog_type_id"] != type_id:
                msg = f"No catalog entry {item['entry_id']!r} in type {type_id!r}"
                raise NotFoundError(msg, f"entries[{index}].entry_id")
            problems += self._entry_problems(
                kind,
                values=item["attribute_values"],
                name=item.get("name", entry["name"]),
                external_id=item.get("external_id", entry.get("external_id")),
                prefix=f"entries[{index}].",
                only=only if index == 0 else None,  # update_attributes is checked once
            )
        if problems:
            raise InvalidError(problems)
        stamp = now_rfc3339()
        for item in payload["entries"]:
            entry = self.catalog_entries[item["entry_id"]]
            values = copy.deepcopy(item["attribute_values"])
            if only is not None:
                # Named attributes take the payload's value (or none); the rest are kept.
                kept = {k: v for k, v in entry["attribute_values"].items() if k not in only}
                values = {**kept, **{k: v for k, v in values.items() if k in only}}
            entry["attribute_values"] = values
            for name in ("name", "aliases"):
                if name in item:
                    entry[name] = copy.deepcopy(item[name])
            # The spec: an omitted rank is set to null, which the entry shows as 0.
            entry["rank"] = item.get("rank", 0)
            if item.get("external_id"):
                self.catalog_external_ids.pop((type_id, entry.get("external_id", "")), None)
                entry["external_id"] = item["external_id"]
                self.catalog_external_ids[(type_id, item["external_id"])] = entry["id"]
            entry["updated_at"] = stamp

    def _ordered_entries(self) -> list[dict[str, Any]]:
        return sorted(self.catalog_entries.values(), key=lambda e: str(e["id"]))

    def list_catalog_entries(
        self, type_id: str, identifier: str | None, after: str | None, page_size: int
    ) -> tuple[list[dict[str, Any]], int, str | None]:
        """One page in creation (id) order, the total that matched, and the next cursor.

        ``identifier`` matches id, external id or an alias, and the name too when the type
        has ``use_name_as_identifier`` (the spec's rule).
        """
        by_name = self.catalog_type(type_id).use_name_as_identifier
        matched = [
            e
            for e in self._ordered_entries()
            if e["catalog_type_id"] == type_id
            and (
                identifier is None
                or identifier in (e["id"], e.get("external_id"))
                or identifier in e["aliases"]
                or (by_name and identifier == e["name"])
            )
        ]
        chosen, next_after = page(matched, after, page_size)
        return chosen, len(matched), next_after

    def get_catalog_entry(self, entry_id: str) -> dict[str, Any]:
        """The entry, or ``NotFoundError`` naming ``id``."""
        try:
            return self.catalog_entries[entry_id]
        except KeyError:
            msg = f"No catalog entry found with id {entry_id!r}"
            raise NotFoundError(msg, "id") from None

    def archive_catalog_entry(self, entry_id: str) -> dict[str, Any]:
        """Take the entry out of its type (and free its external id); keep it for the record."""
        entry = self.get_catalog_entry(entry_id)
        del self.catalog_entries[entry_id]
        external_id: str = entry.get("external_id") or ""
        key = (str(entry["catalog_type_id"]), external_id)
        if external_id and self.catalog_external_ids.get(key) == entry_id:
            del self.catalog_external_ids[key]
        entry["archived_at"] = entry["updated_at"] = now_rfc3339()
        self.archived_catalog_entries.append(entry)
        return entry

    # -- catalog types -------------------------------------------------------------

    def create_catalog_type(self, payload: Mapping[str, Any]) -> CatalogType:
        """A new type with no attributes (its schema is `update_catalog_type_schema`'s)."""
        type_name = str(payload.get("type_name") or "")
        if type_name and not _CUSTOM_TYPE_NAME.fullmatch(type_name):
            message = f'type_name must look like Custom["SomeName"], got {type_name!r}'
            raise InvalidError([("invalid_value", message, "type_name")])
        taken = {other.type_name for other in self.seed.catalog_types}
        if type_name in taken:
            message = f"A catalog type with type_name {type_name!r} already exists"
            raise InvalidError([("invalid_value", message, "type_name")])
        kind = CatalogType(
            id=new_id(),
            name=str(payload["name"]),
            description=str(payload["description"]),
            type_name=type_name,
            ranked=bool(payload.get("ranked", False)),
            use_name_as_identifier=bool(payload.get("use_name_as_identifier", False)),
            annotations=dict(payload.get("annotations") or {}),
        )
        derived, suffix = kind.type_name, 2
        while kind.type_name in taken:  # a name given twice: its derived type_name is made unique
            kind = replace(kind, type_name=f'{derived[:-2]}{suffix}"]')
            suffix += 1
        self.seed = self.seed.merged(Seed(catalog_types=(kind,)))
        return kind

    def update_catalog_type_schema(self, type_id: str, payload: Mapping[str, Any]) -> CatalogType:
        """The schema becomes `payload`'s list; attributes left out go, with their values.

        `version` must be the schema's current one (optimistic concurrency); an attribute
        with an `id` keeps it, one without gets a new id.
        """
        kind = self.catalog_type(type_id, field="id")
        if payload["version"] != kind.version:
            message = (
                f"Schema version {payload['version']} is stale: the schema of catalog type "
                f"{kind.id!r} is at version {kind.version}"
            )
            raise InvalidError([("invalid_value", message, "version")])
        known = {a.id: a for a in kind.attributes}
        type_names = {other.type_name for other in self.seed.catalog_types}
        problems: list[tuple[str, str, str]] = []
        attributes: list[CatalogAttribute] = []
        for index, item in enumerate(payload["attributes"]):
            where = f"attributes[{index}]"
            if "id" in item and item["id"] not in known:
                message = f"Catalog type {kind.id!r} has no attribute {item['id']!r}"
                problems.append(("invalid_value", message, f"{where}.id"))
            if item["type"] not in (*_ATTRIBUTE_TYPES, *type_names):
                message = f"Unknown attribute type {item['type']!r}"
                problems.append(("invalid_value", message, f"{where}.type"))
            if any(a.name == item["name"] for a in attributes):
                message = f"Two attributes are named {item['name']!r}"
                problems.append(("invalid_value", message, f"{where}.name"))
            attributes.append(
                CatalogAttribute(
                    id=str(item.get("id") or new_id()),
                    name=str(item["name"]),
                    type=str(item["type"]),
                    array=bool(item["array"]),
                    mode=str(item.get("mode", "")),
                )
            )
        if problems:
            raise InvalidError(problems)
        kept = {a.id for a in attributes}
        for entry in self.catalog_entries.values():
            if entry["catalog_type_id"] == kind.id:
                values = entry["attribute_values"]
                entry["attribute_values"] = {k: v for k, v in values.items() if k in kept}
        updated = replace(kind, attributes=tuple(attributes), version=kind.version + 1)
        self.seed = self.seed.merged(Seed(catalog_types=(updated,)))
        return updated

    # -- heartbeats --------------------------------------------------------------

    def record_heartbeat_ping(self, source_id: str, method: str) -> dict[str, Any]:
        """Note a ping; the sandbox has no monitor, so pings are only counted."""
        ping = {"heartbeat_source_id": source_id, "method": method, "received_at": now_rfc3339()}
        self.heartbeat_pings.append(ping)
        return ping

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
                "archived_catalog_entries": self.archived_catalog_entries,
                "heartbeat_pings": self.heartbeat_pings,
                "created_options": [o for made in self.created_options.values() for o in made],
                **{name: list(items.values()) for name, items in self.collections.items()},
                "counts": {
                    "incidents": len(self.incidents),
                    "incident_updates": len(self.incident_updates),
                    "alerts": len(alerts),
                    "alerts_firing": sum(1 for a in alerts if a["status"] == "firing"),
                    "alerts_resolved": sum(1 for a in alerts if a["status"] == "resolved"),
                    "alert_events": len(self.alert_events),
                    "catalog_entries": len(self.catalog_entries),
                    "catalog_entries_archived": len(self.archived_catalog_entries),
                    "heartbeat_pings": len(self.heartbeat_pings),
                    **{name: len(items) for name, items in self.collections.items()},
                },
            }
            return copy.deepcopy(state)
