"""Catalog entries and catalog types."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentio_sandbox import views

if TYPE_CHECKING:
    from incidentio_sandbox.exchange import Call, JSONObject


def upsert_catalog_entry(call: Call) -> tuple[int, JSONObject]:
    """``POST /v3/catalog_entries``: creates, or updates the entry with that external id."""
    entry, _created = call.store.catalog.upsert_entry(call.payload)
    return 201, {"catalog_entry": views.catalog_entry(entry)}


def bulk_update_catalog_entries(call: Call) -> tuple[int, JSONObject]:
    """``POST /v3/catalog_entries/actions/bulk_update``: all or nothing."""
    call.store.catalog.bulk_update(call.payload)
    return 204, {}


def list_catalog_entries(call: Call) -> tuple[int, JSONObject]:
    """``GET /v3/catalog_entries`` for one type, paged, optionally by identifier."""
    args = call.request.args
    type_id = args["catalog_type_id"]  # required by the spec, so validated before
    kind = call.store.catalog.catalog_type(type_id)
    page_size = call.page_size()
    entries, total, after = call.store.catalog.list_entries(
        type_id, args.get("identifier"), args.get("after"), page_size
    )
    meta: JSONObject = {"page_size": page_size, "total_record_count": total}
    if after is not None:
        meta["after"] = after
    count = call.store.catalog.count_entries(type_id)
    return 200, {
        "catalog_entries": [views.catalog_entry(e) for e in entries],
        "catalog_type": views.catalog_type(kind, call.store.seed_stamp, count),
        "pagination_meta": meta,
    }


def show_catalog_entry(call: Call) -> tuple[int, JSONObject]:
    """``GET /v3/catalog_entries/{id}`` with its type."""
    entry = call.store.catalog.get_entry(call.args["id"])
    kind = call.store.catalog.catalog_type(entry["catalog_type_id"])
    count = call.store.catalog.count_entries(kind.id)
    return 200, {
        "catalog_entry": views.catalog_entry(entry),
        "catalog_type": views.catalog_type(kind, call.store.seed_stamp, count),
    }


def delete_catalog_entry(call: Call) -> tuple[int, JSONObject]:
    """``DELETE /v3/catalog_entries/{id}``: archives it."""
    call.store.catalog.archive_entry(call.args["id"])
    return 204, {}


def list_catalog_types(call: Call) -> tuple[int, JSONObject]:
    """``GET /v3/catalog_types``."""
    stamp = call.store.seed_stamp
    return 200, {
        "catalog_types": [
            views.catalog_type(kind, stamp, call.store.catalog.count_entries(kind.id))
            for kind in call.store.catalog.catalog_types()
        ],
    }


def show_catalog_type(call: Call) -> tuple[int, JSONObject]:
    """``GET /v3/catalog_types/{id}``."""
    kind = call.store.catalog.catalog_type(call.args["id"], field="id")
    count = call.store.catalog.count_entries(kind.id)
    return 200, {"catalog_type": views.catalog_type(kind, call.store.seed_stamp, count)}


def create_catalog_type(call: Call) -> tuple[int, JSONObject]:
    """``POST /v3/catalog_types``: a type without attributes."""
    kind = call.store.catalog.create_type(call.payload)
    return 201, {"catalog_type": views.catalog_type(kind, call.store.seed_stamp, 0)}


def update_catalog_type_schema(call: Call) -> tuple[int, JSONObject]:
    """``POST /v3/catalog_types/{id}/actions/update_schema``: the list replaces the schema."""
    kind = call.store.catalog.update_schema(call.args["id"], call.payload)
    count = call.store.catalog.count_entries(kind.id)
    return 200, {"catalog_type": views.catalog_type(kind, call.store.seed_stamp, count)}
