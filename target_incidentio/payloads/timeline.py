"""The `incident_timeline_item` operation: a custom item on an incident's timeline."""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.common import (
    Reader,
    Record,
    date_time,
    identifier,
    read_fields,
    require,
    text,
)

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered

# IncidentTimelineItemsCreatePayloadV2.
TIMELINE_ITEM_FIELDS: dict[str, Reader] = {
    "incident_id": identifier,
    "idempotency_key": identifier,
    "timestamp": date_time,
    "title": text,
    "description": text,
}


def build_incident_timeline_item(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Add an item to an incident's timeline; a rerun of the same record adds it once."""
    record = Record.single(records, ctx, "incident_timeline_item")
    body = read_fields(record, TIMELINE_ITEM_FIELDS)
    require(record, body, "incident_id", "<field holding the incident id>")
    require(record, body, "title", "'Deployed ' + version")
    require(record, body, "timestamp", "<field holding when it happened>")
    body["idempotency_key"] = body.get("idempotency_key") or record.derived_key(
        "incident_timeline_item"
    )
    return record.api_key_request(
        path="/v2/incident_timeline_items",
        body=body,
        order_key=f"incident-id:{body['incident_id']}",
    )
