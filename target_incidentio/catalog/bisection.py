"""A bulk update sent, and bisected when refused, until the refused entries stand alone.

`bulk_update` is atomic: a 422 rejects every entry of the call, so the only way to deliver
the rest is to split the batch (`BulkUpdate.split`) and send the halves, one call at a time,
from the stream's own thread. A refused single entry's errors then name the record's own
fields.
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from target_incidentio.catalog.bulk import BulkUpdate
    from target_incidentio.catalog.compare import Update
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest
    from target_incidentio.strategies import Outlet

# Refusals that splitting cannot change: the key itself is refused.
_AUTH_STATUSES = frozenset({401, 403})


def send_bisected(
    outlet: Outlet,
    batch: BulkUpdate,
    request: Callable[[BulkUpdate], ApiRequest],
    delivered: Callable[[Update], None],
    record_field: Callable[[str], str],
) -> None:
    """Send `batch` (made a call by `request`); split it while incident.io refuses it.

    Each update confirmed goes to `delivered`; every call's result is reported to the outlet,
    a split one as split; `record_field` names a body field as the record's.
    """
    result = outlet.send_now(request(batch))
    if result.ok:
        outlet.report(result)
        for update in batch.updates:
            delivered(update)
        return
    refused = result.status == "rejected" and result.status_code not in _AUTH_STATUSES
    if refused and len(batch.updates) > 1:
        outlet.report(result, split=True)
        for half in batch.split():
            send_bisected(outlet, half, request, delivered, record_field)
        return
    outlet.report(pinpointed(result, batch, record_field) if refused else result)


def pinpointed(
    result: DeliveryResult, batch: BulkUpdate, record_field: Callable[[str], str]
) -> DeliveryResult:
    """A refused single entry's result, its errors naming the record's own fields."""
    if result.error is None:
        return result
    pointers = _pointers(result.response_body)
    details = []
    for index, detail in enumerate(result.error.details):
        pointer = pointers[index] if index < len(pointers) else _pointer(detail.field)
        located = batch.locate(pointer) if pointer else None
        if located is None or located[1] is None:
            details.append(detail)
            continue
        details.append(replace(detail, field=record_field(located[1])))
    return replace(result, error=replace(result.error, details=tuple(details)))


def _pointers(body: object) -> list[str]:
    """`errors[].source.pointer` of an error body, in order ("" where one has none)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    found = []
    for item in errors if isinstance(errors, list) else ():
        source = item.get("source") if isinstance(item, dict) else None
        pointer = source.get("pointer") if isinstance(source, dict) else None
        found.append(pointer if isinstance(pointer, str) else "")
    return found


def _pointer(field_path: str | None) -> str:
    """`entries[3].attribute_values.01A` as the JSON pointer `/entries/3/attribute_values/01A`."""
    if not field_path:
        return ""
    steps = field_path.replace("[", ".").replace("]", "").split(".")
    return "".join(f"/{step}" for step in steps if step)
