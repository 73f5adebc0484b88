"""The account itself: the calling key's identity and the configured custom fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentio_sandbox import views
from incidentio_sandbox.exchange import bearer
from incidentio_sandbox.store.common import seeded

if TYPE_CHECKING:
    from incidentio_sandbox.exchange import Call, JSONObject


def identity(call: Call) -> tuple[int, JSONObject]:
    """``GET /v1/identity``: the key's name and roles."""
    roles = call.store.seed.roles(bearer(call.request) or "")
    return 200, {"identity": views.identity(call.actor["api_key"]["name"], roles)}


def list_custom_fields(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/custom_fields``."""
    stamp = call.store.seed_stamp
    return 200, {
        "custom_fields": [views.custom_field(f, stamp) for f in call.store.seed.custom_fields]
    }


def show_custom_field(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/custom_fields/{id}``."""
    found = seeded(call.store.seed.custom_fields, call.args["id"], "custom field")
    return 200, {"custom_field": views.custom_field(found, call.store.seed_stamp)}
