"""Incidents, incident updates and timeline items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentio_sandbox.store.common import new_id, now_rfc3339

if TYPE_CHECKING:
    from incidentio_sandbox.exchange import Call, JSONObject


def create_incident(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/incidents``; the same ``idempotency_key`` answers the same incident."""
    incident, _created = call.store.incidents.create(call.payload, call.actor)
    return 200, {"incident": incident}


def edit_incident(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/incidents/{id}/actions/edit``."""
    incident = call.store.incidents.edit(call.args["id"], call.payload["incident"])
    return 200, {"incident": incident}


def show_incident(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/incidents/{id}``."""
    return 200, {"incident": call.store.incidents.get(call.args["id"])}


def list_incidents(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/incidents``: every incident on one page."""
    incidents = list(call.store.incidents.incidents.values())
    meta = {"page_size": len(incidents), "total_record_count": len(incidents)}
    return 200, {"incidents": incidents, "pagination_meta": meta}


def create_incident_update(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/incident_updates``."""
    update, _created = call.store.incidents.create_update(call.payload, call.actor)
    return 201, {"incident_update": update}


def create_incident_timeline_item(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/incident_timeline_items``; the same ``idempotency_key`` answers the same item."""
    payload = call.payload

    def item() -> dict[str, Any]:
        incident = call.store.incidents.get(payload["incident_id"], field="incident_id")
        stamp = now_rfc3339()
        made = {
            "id": new_id(),
            "incident_id": incident["id"],
            "timestamp": payload["timestamp"],
            "title": payload["title"],
            "creator": call.actor,
            "created_at": stamp,
            "updated_at": stamp,
        }
        if "description" in payload:
            made["description"] = payload["description"]
        return made

    created, _new = call.store.create_once(
        "incident_timeline_items", payload["idempotency_key"], item
    )
    return 201, {"incident_timeline_item": created}
