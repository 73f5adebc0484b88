"""The sandbox's records rendered as incident.io's response schemas.

The store keeps what clients sent (a catalog binding as ``{"literal": ...}``, an alert's
``resolved_at`` as ``None`` while firing) because tests read it back that way; the API
answers in the spec's shapes, which differ: bindings carry a required ``label``, optional
fields are left out rather than null, and configured objects have required fields the
sandbox has no real value for (icons, colours, templates), filled with fixed ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource

if TYPE_CHECKING:
    from incidentio_sandbox.seed.catalog import CatalogType
    from incidentio_sandbox.seed.configuration import CustomField, Named

if TYPE_CHECKING:
    from incidentio_sandbox.seed.oncall import EscalationPath, Schedule, User

JSONObject = dict[str, Any]


def _binding_value(value: Mapping[str, Any]) -> JSONObject:
    """A literal's label is the literal itself: the sandbox knows no display names."""
    out: JSONObject = {"label": str(value.get("literal", ""))}
    if "literal" in value:
        out["literal"] = value["literal"]
    return out


def catalog_bindings(values: Mapping[str, Any]) -> JSONObject:
    """Request-shaped attribute values as ``CatalogEntryEngineParamBindingV3``."""
    out: JSONObject = {}
    for attribute_id, binding in values.items():
        rendered: JSONObject = {}
        if isinstance(binding.get("value"), Mapping):
            rendered["value"] = _binding_value(binding["value"])
        if isinstance(binding.get("array_value"), list):
            rendered["array_value"] = [_binding_value(v) for v in binding["array_value"]]
        out[attribute_id] = rendered
    return out


def catalog_entry(entry: Mapping[str, Any]) -> JSONObject:
    """A stored entry as ``CatalogEntryV3``."""
    out: JSONObject = {
        "id": entry["id"],
        "catalog_type_id": entry["catalog_type_id"],
        "name": entry["name"],
        "aliases": list(entry["aliases"]),
        "rank": entry["rank"],
        "attribute_values": catalog_bindings(entry["attribute_values"]),
        "created_at": entry["created_at"],
        "updated_at": entry["updated_at"],
    }
    if entry.get("external_id"):
        out["external_id"] = entry["external_id"]
    if entry.get("archived_at"):
        out["archived_at"] = entry["archived_at"]
    return out


def catalog_type(kind: CatalogType, stamp: str, estimated_count: int) -> JSONObject:
    """A configured (or implicit) type as ``CatalogTypeV3``."""
    return {
        "id": kind.id,
        "name": kind.name,
        "description": kind.description,
        "type_name": kind.type_name,
        "engine_resource_type": f'CatalogEntry["{kind.id}"]',
        "ranked": kind.ranked,
        "schema": {
            "attributes": [
                {"id": a.id, "name": a.name, "type": a.type, "array": a.array, "mode": a.mode}
                for a in kind.attributes
            ],
            "version": kind.version,
        },
        "icon": "box",
        "categories": [],
        "color": "yellow",
        "is_editable": True,
        "annotations": dict(kind.annotations),
        "estimated_count": estimated_count,
        "created_at": stamp,
        "updated_at": stamp,
        "use_name_as_identifier": kind.use_name_as_identifier,
    }


def alert(stored: Mapping[str, Any]) -> JSONObject:
    """A stored alert as ``AlertV2``; its source id is the alert source config id."""
    out: JSONObject = {
        "id": stored["id"],
        "alert_source_id": stored["alert_source_config_id"],
        "deduplication_key": stored["deduplication_key"],
        "status": stored["status"],
        "title": stored.get("title", ""),
        "attributes": [],
        "created_at": stored["created_at"],
        "updated_at": stored["updated_at"],
    }
    for name in ("description", "source_url", "resolved_at"):
        if stored.get(name) is not None:
            out[name] = stored[name]
    return out


def _template() -> JSONObject:
    """The minimal ``AlertTemplateV2``: title and description taken from the event."""
    return {
        "expressions": [],
        "title": {"label": "Alert title", "reference": "alert.title"},
        "description": {"label": "Alert description", "reference": "alert.description"},
        "attributes": [],
        "is_private": False,
    }


def alert_source(source: AlertSource | HeartbeatSource, base_url: str) -> JSONObject:
    """A configured source as ``AlertSourceV2``; its URLs point at this sandbox."""
    out: JSONObject = {"id": source.id, "name": source.name, "template": _template()}
    if isinstance(source, HeartbeatSource):
        out["source_type"] = "heartbeat"
        out["secret_token"] = source.token
        out["heartbeat_options"] = {
            "interval_seconds": source.interval_seconds,
            "grace_period_seconds": source.grace_period_seconds,
            "failure_threshold": source.failure_threshold,
            "ping_url": f"{base_url}/v2/heartbeat/{source.id}/ping",
        }
        return out
    out["source_type"] = source.source_type
    if source.accepts_http_events:
        out["alert_events_url"] = f"{base_url}/v2/alert_events/http/{source.id}"
    if source.token is not None:
        out["secret_token"] = source.token
    return out


def custom_field(field: CustomField, stamp: str) -> JSONObject:
    """A configured field as ``CustomFieldV2``."""
    out: JSONObject = {
        "id": field.id,
        "name": field.name,
        "description": field.description,
        "field_type": field.field_type,
        "created_at": stamp,
        "updated_at": stamp,
    }
    if field.catalog_type_id is not None:
        out["catalog_type_id"] = field.catalog_type_id
    return out


def identity(name: str, roles: Sequence[str]) -> JSONObject:
    """``IdentityV1`` for an API key: its name and roles."""
    return {
        "name": name,
        "roles": list(roles),
        "dashboard_url": "https://app.incident.io/sandbox",
        "team_roles": [],
        "teams": [],
    }


# -- the lists that turn names into ids ---------------------------------------------------------
# What each kind requires besides id, name and the stamps, when the seed leaves it out.
NAMED_DEFAULTS: Mapping[str, JSONObject] = {
    "severities": {"description": "", "rank": 1},
    "incident_statuses": {"description": "", "rank": 1, "category": "live"},
    "incident_types": {
        "description": "",
        "is_default": False,
        "private_incidents_only": False,
        "create_in_triage": "optional",
    },
    "incident_roles": {
        "description": "A role of the sandbox account",
        "instructions": "",
        "role_type": "custom",
        "shortform": "role",
    },
}


def named(kind: str, item: Named, stamp: str) -> JSONObject:
    """A seeded severity, status, type or role as its ``…V1``/``…V2`` schema."""
    return {
        **NAMED_DEFAULTS[kind],
        **item.extra,
        "id": item.id,
        "name": item.name,
        "created_at": stamp,
        "updated_at": stamp,
    }


def custom_field_option(option: Mapping[str, Any]) -> JSONObject:
    """A stored option as ``CustomFieldOptionV1``."""
    return {
        "id": option["id"],
        "custom_field_id": option["custom_field_id"],
        "value": option["value"],
        "sort_key": option["sort_key"],
    }


# -- on-call: users, schedules, escalation paths ------------------------------------------------
BASE_ROLES: Mapping[str, JSONObject] = {
    role: {"id": f"01SANDBOXBASEROLE{role.upper():0<9.9}", "name": role.title(), "slug": role}
    for role in ("viewer", "responder", "administrator", "owner", "unset")
}


def user_with_roles(user: User) -> JSONObject:
    """A seeded user as ``UserWithRolesV2``: their base role, no custom roles, full seats."""
    return {
        **user.as_user_v2(),
        "base_role": dict(BASE_ROLES[user.role]),
        "custom_roles": [],
        "seats": {"on_call": "full_access", "response": "full_access"},
        "is_active": user.is_active,
    }


def schedule(item: Schedule, users: Sequence[User], stamp: str) -> JSONObject:
    """A seeded schedule as ``ScheduleV2``: its rotations with their layers and users."""
    by_id = {user.id: user for user in users}
    return {
        "id": item.id,
        "name": item.name,
        "timezone": item.timezone,
        "team_ids": list(item.team_ids),
        "annotations": dict(item.annotations),
        "permalink": f"https://app.incident.io/sandbox/on-call/schedules/{item.id}",
        "config": {
            "rotations": [
                {
                    "id": rotation.id,
                    "name": rotation.name,
                    "layers": [{"id": layer.id, "name": layer.name} for layer in rotation.layers],
                    "users": [by_id[u].as_user_v2() for u in rotation.user_ids if u in by_id],
                    "working_intervals": [],
                    "handover_start_at": rotation.handover_start_at,
                    "handovers": [
                        {"interval_type": rotation.handover_interval_type, "interval": 1}
                    ],
                }
                for rotation in item.rotations
            ]
        },
        "created_at": stamp,
        "updated_at": stamp,
    }


def escalation_path(path: EscalationPath) -> JSONObject:
    """A seeded path as ``EscalationPathV2``."""
    return {
        "id": path.id,
        "name": path.name,
        "kind": "standalone",
        "path": [dict(node) for node in path.path],
        "team_ids": list(path.team_ids),
    }
