"""The `alert_event` operation: one record becomes one event on an HTTP alert source.

With `resolve_missing_alerts`, the stream's strategy (`strategies/alerts.py`) also lists the
alert source's firing alerts and resolves those the snapshot no longer holds; the requests
for that are built here too, so every alert event is shaped in one place.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote, urlencode, urlsplit

from target_incidentio.core.urls import endpoint_url, segment
from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered, RateScope
from target_incidentio.payloads.common import (
    Reader,
    Record,
    identifier,
    mapping,
    one_of,
    read_fields,
    require,
    text,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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
EVENTS_PATH = "/v2/alert_events/http/"
# The `operation` of a resolution's response record: an event no row asked for.
RESOLUTION = "alert_resolution"
# The most alerts `GET /v2/alerts` returns per page.
ALERTS_PAGE_SIZE = 50


def build_alert_event(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
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
    return record.request(
        path=EVENTS_PATH + record.segment(ALERT_SOURCE_FIELD, config_id),
        body=body,
        order_key=_order_key(config_id, body["deduplication_key"]),
        credential=ctx.settings.alert_source_token,
        rate_scopes=_event_scopes(config_id, ctx),
    )


def _event_scopes(config_id: str, ctx: BuildContext) -> tuple[RateScope, ...]:
    """The alert source's bucket (alert events do not use the API key's), and the stream's cap."""
    source = RateScope(f"alert_source:{config_id}", ctx.alert_rate_per_minute, "window")
    return (source, *ctx.stream_cap())


def _order_key(config_id: str, deduplication_key: str) -> str:
    return f"alert:{config_id}:{deduplication_key}"


def event_alert(request: ApiRequest) -> tuple[str, str]:
    """The alert source config id and deduplication key of an alert event this module built."""
    config_id = unquote(urlsplit(request.url).path.rsplit("/", 1)[-1])
    return config_id, str(request.body["deduplication_key"])


def firing_alerts_page(config_id: str, after: str | None, ctx: BuildContext) -> ApiRequest:
    """`GET /v2/alerts`: one page of the alert source's firing alerts (API key)."""
    query = {
        "status[one_of]": "firing",
        "alert_source[one_of]": config_id,
        "page_size": str(ALERTS_PAGE_SIZE),
    }
    if after:
        query["after"] = after
    settings = ctx.settings
    return ApiRequest(
        method="GET",
        url=endpoint_url(settings.base_url, f"/v2/alerts?{urlencode(query)}"),
        body=None,
        credential=settings.api_key,
        order_key=f"alerts:{config_id}",
        rate_scopes=ctx.api_key_scopes(),
        records=(),
        record_keys=(),
        headers=dict(settings.request_headers),
        stream=ctx.stream,
        operation="alert_event",
    )


def build_alert_resolution(
    alert: Mapping[str, t.Any], config_id: str, ctx: BuildContext
) -> ApiRequest:
    """A `resolved` event for a listed alert: its own key and title, through its own source.

    It carries the alert (id, key, title) as its one record, so a failure names the alert
    and its dead letter says which alert stayed firing.
    """
    key = str(alert["deduplication_key"])
    title = str(alert.get("title") or key)
    body = {"title": title, "status": "resolved", "deduplication_key": key}
    settings = ctx.settings
    return ApiRequest(
        method="POST",
        url=endpoint_url(settings.base_url, EVENTS_PATH + segment(config_id)),
        body=body,
        credential=settings.alert_source_token,
        order_key=_order_key(config_id, key),
        rate_scopes=_event_scopes(config_id, ctx),
        records=({"id": alert.get("id"), "deduplication_key": key, "title": title},),
        record_keys=(f"deduplication_key={key!r}",),
        headers=dict(settings.request_headers),
        stream=ctx.stream,
        operation=RESOLUTION,
        effect="resolve",
    )
