"""Payload builders, one per operation, and what each needs and places.

The sink picks a builder with `BUILDERS[operation]` and warns once per stream about
`unplaced_fields`; the settings refuse a run whose operation lacks the credential named by
`REQUIRED_CREDENTIAL[operation]`.
"""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.alerts import build_alert_event
from target_incidentio.payloads.catalog import CATALOG_FIELDS, build_catalog_entry
from target_incidentio.payloads.common import top_level
from target_incidentio.payloads.fields import SDC_PREFIX
from target_incidentio.payloads.http import build_http
from target_incidentio.payloads.incidents import (
    INCIDENT_EDIT_FIELDS,
    INCIDENT_FIELDS,
    INCIDENT_ID_FIELDS,
    INCIDENT_UPDATE_FIELDS,
    NOTIFY_FIELD,
    build_incident,
    build_incident_edit,
    build_incident_update,
)

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import PayloadBuilder
    from target_incidentio.settings import StreamSettings

__all__ = [
    "BUILDERS",
    "PLACED_FIELDS",
    "REQUIRED_CREDENTIAL",
    "build_alert_event",
    "build_catalog_entry",
    "build_http",
    "build_incident",
    "build_incident_edit",
    "build_incident_update",
    "unplaced_fields",
]

BUILDERS: dict[str, PayloadBuilder] = {
    "alert_event": build_alert_event,
    "incident": build_incident,
    "incident_edit": build_incident_edit,
    "incident_update": build_incident_update,
    "catalog_entry": build_catalog_entry,
    "http": build_http,
}

# The setting whose secret authenticates each operation's requests.
REQUIRED_CREDENTIAL: dict[str, t.Literal["api_key", "alert_source_token"]] = {
    "alert_event": "alert_source_token",
    "incident": "api_key",
    "incident_edit": "api_key",
    "incident_update": "api_key",
    "catalog_entry": "api_key",
    "http": "api_key",
}

# Record fields each operation takes by name; None: it sends every field (alert metadata,
# the http body), so nothing is left unplaced.
PLACED_FIELDS: dict[str, frozenset[str] | None] = {
    "alert_event": None,
    "http": None,
    "incident": frozenset(INCIDENT_FIELDS),
    "incident_edit": frozenset({*INCIDENT_EDIT_FIELDS, *INCIDENT_ID_FIELDS, NOTIFY_FIELD}),
    "incident_update": frozenset(INCIDENT_UPDATE_FIELDS),
    "catalog_entry": frozenset(CATALOG_FIELDS),
}


def unplaced_fields(
    operation: str,
    record: dict[str, t.Any],
    settings: StreamSettings,
    key_properties: Sequence[str] = (),
) -> set[str]:
    """Top-level record fields the operation would silently drop, for a once-per-stream warning.

    Not counted: fields the operation takes by name, fields the settings map
    (`custom_fields`, `catalog_attributes`), key properties (they make the idempotency key
    or external id), fields `exclude_attributes` drops on purpose, and `_sdc_*` metadata.
    """
    placed = PLACED_FIELDS[operation]
    if placed is None:
        return set()
    used = set(placed) | set(key_properties) | set(settings.exclude_attributes)
    if operation in ("incident", "incident_edit"):
        used |= top_level(mapped.field for mapped in settings.custom_fields)
    if operation == "catalog_entry":
        used |= top_level(settings.catalog_attributes)
    return {name for name in record if name not in used and not name.startswith(SDC_PREFIX)}
