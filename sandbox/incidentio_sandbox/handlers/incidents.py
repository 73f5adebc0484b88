"""Incidents, incident updates and timeline items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentio_sandbox.store.common import InvalidError, new_id, now_rfc3339
from incidentio_sandbox.store.incident_query import MAX_PAGE_SIZE, IncidentQuery, ordered_page
from incidentio_sandbox.validation import deep_objects

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
    """``GET /v2/incidents/{id}``: the id, or the number of the reference (``123``)."""
    return 200, {"incident": call.store.incidents.get(call.args["id"])}


def list_incidents(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/incidents``: filtered, newest first unless ``sort_by`` says otherwise, paged."""
    args = call.request.args
    page_size = call.page_size()
    if page_size > MAX_PAGE_SIZE:
        message = f"The maximum page size that can be requested is {MAX_PAGE_SIZE}"
        raise InvalidError([("invalid_value", message, "page_size")])
    query = IncidentQuery(call.store.seed, deep_objects(args), args.get("filter_mode", "all"))
    matched = [i for i in call.store.incidents.incidents.values() if query.matches(i)]
    chosen, after = ordered_page(
        matched,
        newest_first=args.get("sort_by", "created_at_newest_first") == "created_at_newest_first",
        after=args.get("after"),
        page_size=page_size,
    )
    meta: JSONObject = {"page_size": page_size, "total_record_count": len(matched)}
    if after is not None:
        meta["after"] = after
    return 200, {"incidents": chosen, "pagination_meta": meta}


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
