"""How the account is configured: the lists that turn names into ids, and new select options.

Severities, incident statuses, incident types and incident roles come from the seed (an
account's defaults unless it names its own); a select field's options are the seeded ones
plus those created with ``POST /v1/custom_field_options``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentio_sandbox import views
from incidentio_sandbox.store.common import page

if TYPE_CHECKING:
    from incidentio_sandbox.exchange import Call, JSONObject


def _named_list(kind: str, call: Call) -> tuple[int, JSONObject]:
    stamp = call.store.seed_stamp
    return 200, {kind: [views.named(kind, item, stamp) for item in getattr(call.store.seed, kind)]}


def list_severities(call: Call) -> tuple[int, JSONObject]:
    """``GET /v1/severities``: not paginated."""
    return _named_list("severities", call)


def list_incident_statuses(call: Call) -> tuple[int, JSONObject]:
    """``GET /v1/incident_statuses``: not paginated."""
    return _named_list("incident_statuses", call)


def list_incident_types(call: Call) -> tuple[int, JSONObject]:
    """``GET /v1/incident_types``: not paginated."""
    return _named_list("incident_types", call)


def list_incident_roles(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/incident_roles``: not paginated."""
    return _named_list("incident_roles", call)


def list_custom_field_options(call: Call) -> tuple[int, JSONObject]:
    """``GET /v1/custom_field_options?custom_field_id=``: paged with ``after`` (an option id)."""
    args = call.request.args
    # Pages follow creation order, as incident.io's `after` (an option id) does.
    options = sorted(
        call.store.options.for_field(args["custom_field_id"]), key=lambda o: str(o["id"])
    )
    page_size = call.page_size()
    chosen, after = page(options, args.get("after"), page_size)
    meta: JSONObject = {"page_size": page_size}
    if after is not None:
        meta["after"] = after
    return 200, {
        "custom_field_options": [views.custom_field_option(o) for o in chosen],
        "pagination_meta": meta,
    }


def create_custom_field_option(call: Call) -> tuple[int, JSONObject]:
    """``POST /v1/custom_field_options`` (201)."""
    option = call.store.options.create(call.payload)
    return 201, {"custom_field_option": views.custom_field_option(option)}
