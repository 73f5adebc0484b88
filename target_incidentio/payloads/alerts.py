"""The `alert_event` operation: one record becomes one event on an HTTP alert source."""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.base import ApiRequest, BuildContext, RateScope
from target_incidentio.payloads.common import (
    Reader,
    Record,
    identifier,
    mapping,
    one_of,
    read_fields,
    require,
    segment,
    text,
)

if t.TYPE_CHECKING:
    from collections.abc import Sequence

# AlertEventsCreateHTTPPayloadV2, by name; every other field goes into `metadata`.
ALERT_FIELDS: dict[str, Reader] = {
    "title": text,
    "status": one_of("firing", "resolved"),
    "description": text,
    "source_url": text,
    "deduplication_key": identifier,
    "metadata": mapping,
}
# Chooses the alert source (the URL), so it is never copied into metadata.
ALERT_SOURCE_FIELD = "alert_source_config_id"


def build_alert_event(records: Sequence[dict[str, t.Any]], ctx: BuildContext) -> ApiRequest:
    """POST the record to its alert source; a firing/resolved pair shares a deduplication key."""
    record = Record.single(records, ctx, "alert_event")
    config_id = ctx.settings.alert_source_config_id or identifier(record, ALERT_SOURCE_FIELD)
    if not config_id:
        raise record.error(
            ALERT_SOURCE_FIELD,
            "there is no alert source to send the event to.",
            "set `alert_source_config_id` (per stream under `streams.<name>`) or give the "
            "record an `alert_source_config_id` field.",
        )
    body = read_fields(record, ALERT_FIELDS)
    require(record, body, "title", "service + ' is down'")
    body.setdefault("status", "firing")
    if not body.get("deduplication_key"):
        body["deduplication_key"] = record.derived_key("alert", ignore=("status",))
    extra = {
        name: value
        for name, value in record.data.items()
        if name not in ALERT_FIELDS and name != ALERT_SOURCE_FIELD
    }
    # The record's own `metadata` object wins over a top-level field of the same name.
    metadata = {**extra, **body.get("metadata", {})}
    if metadata:
        body["metadata"] = metadata
    else:
        body.pop("metadata", None)
    # The alert source's bucket (alert events do not use the API key's), and the stream's cap.
    source = RateScope(f"alert_source:{config_id}", ctx.alert_rate_per_minute, "window")
    scopes = (source, *ctx.stream_cap())
    return record.request(
        path=f"/v2/alert_events/http/{segment(config_id)}",
        body=body,
        order_key=f"alert:{config_id}:{body['deduplication_key']}",
        credential=ctx.settings.alert_source_token,
        rate_scopes=scopes,
    )
