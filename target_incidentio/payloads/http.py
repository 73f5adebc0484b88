"""The generic `http` operation: records as JSON to any incident.io endpoint."""

from __future__ import annotations

import typing as t

from target_incidentio.core.urls import endpoint_url
from target_incidentio.payloads.fields import fill_template, plain_json, record_key, sendable

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered


def build_http(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """One call for the batch: a record as the body, or an array (optionally wrapped)."""
    settings = ctx.settings
    if not settings.api_url:  # pragma: no cover - settings reject this before any record
        msg = "the http operation needs api_url"
        raise ValueError(msg)
    rows = [row for _sequence, row in records]
    keys = tuple(record_key(r, ctx.key_properties, ctx.schema_fields) for r in rows)
    template = endpoint_url(settings.base_url, settings.api_url)
    # A batch shares one URL: placeholders are filled from its first record.
    url = fill_template(template, rows[0], stream=ctx.stream, key=keys[0])
    # The SDK reads JSON numbers as Decimal; the wire wants plain JSON numbers.
    bodies = [plain_json(sendable(r, ctx)) for r in rows]
    body: t.Any
    if settings.batch_size_rows == 1:
        body = bodies[0]
    elif settings.batch_wrapper_key:
        body = {settings.batch_wrapper_key: bodies}
    else:
        body = bodies
    return ctx.request(
        records,
        method=settings.method,
        url=url,
        body=body,
        credential=settings.api_key,
        order_key=f"{ctx.stream}|{url}" if url != template else f"{ctx.stream}|{keys[0]}",
        rate_scopes=ctx.api_key_scopes(),
        record_keys=keys,
    )
