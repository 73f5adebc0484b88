"""`GET /v2/incidents`, page by page, read into the incidents a sync compares.

Pages of 250 (the endpoint's description allows no more), following `pagination_meta.after`.
Every mode is asked for (`mode[one_of]`: by default test and tutorial incidents are left out,
and a sync stream creating test incidents would open them again on every run); the type only
when the stream fixes one (`incident_type[one_of]`). The key field is never a filter: the
spec documents no operator for text fields. Each `IncidentV2` becomes a `Listed`: its id,
reference, key, status category and the owned fields' values (`values.py`).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from target_incidentio.core.lookups import follow_pages
from target_incidentio.incidents.owned import CLOSED_CATEGORIES
from target_incidentio.incidents.values import EMPTY, Value, named, scalar, slot, user, values

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from target_incidentio.incidents.owned import SyncField
    from target_incidentio.payloads.base import ApiRequest, BuildContext

INCIDENTS_PATH = "/v2/incidents"
PAGE_SIZE = 250
MODES = ("standard", "retrospective", "test", "tutorial")
NO_NAMES: Mapping[str, str] = {}


def listing_path(after: str | None = None, incident_type_id: str | None = None) -> str:
    """Path and query of one page; the caller prefixes base_url."""
    query: list[tuple[str, str]] = [("page_size", str(PAGE_SIZE))]
    query.extend(("mode[one_of]", mode) for mode in MODES)
    if incident_type_id:
        query.append(("incident_type[one_of]", incident_type_id))
    if after:
        query.append(("after", after))
    return f"{INCIDENTS_PATH}?{urlencode(query)}"


def listing_request(
    ctx: BuildContext, after: str | None = None, incident_type_id: str | None = None
) -> ApiRequest:
    """One page as a call with the API key (a look-up: paced, retried, counted)."""
    return ctx.api_key_call(
        "GET",
        listing_path(after, incident_type_id),
        order_key=f"incident-list:{ctx.stream}",
        operation="incident",
    )


@dataclass(frozen=True)
class Listed:
    """One listed incident, as a sync compares it."""

    id: str
    reference: str
    key: str | None  # the key field's text, None when empty or unset
    category: str | None  # its status's category
    values: Mapping[str, Value]  # by `values.slot` of each owned field

    @property
    def open(self) -> bool:
        """Not in a category that finishes an incident (closed, declined, canceled, merged)."""
        return self.category not in CLOSED_CATEGORIES

    def value(self, owned: SyncField) -> Value:
        """The owned field's value; EMPTY when the incident has none."""
        return self.values.get(slot(owned), EMPTY)

    @property
    def label(self) -> str:
        """`INC-12 (01F…)`."""
        return f"{self.reference} ({self.id})"


def _mapping(value: object) -> Mapping[str, t.Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[t.Any]:
    return value if isinstance(value, list) else []


def _custom_value(item: Mapping[str, t.Any]) -> tuple[str, str] | None:
    """One listed `CustomFieldValueV2` as (compared, shown)."""
    option = _mapping(item.get("value_option"))
    if isinstance(option.get("id"), str):
        return option["id"], str(option.get("value") or option["id"])
    entry = _mapping(item.get("value_catalog_entry"))
    if isinstance(entry.get("id"), str):
        return entry["id"], str(entry.get("name") or entry["id"])
    return scalar(item)


def read_incident(raw: object, key_field_id: str, owned: Sequence[SyncField]) -> Listed:
    """One `IncidentV2`; an answer without an id is refused (nothing could act on it)."""
    incident = _mapping(raw)
    ident = incident.get("id")
    if not isinstance(ident, str) or not ident:
        msg = f"a listed incident ({type(raw).__name__}) has no id"
        raise ValueError(msg)
    entries = {
        str(_mapping(e.get("custom_field")).get("id")): _list(e.get("values"))
        for e in map(_mapping, _list(incident.get("custom_field_entries")))
    }
    assignments = {
        str(_mapping(a.get("role")).get("id")): a.get("assignee")
        for a in map(_mapping, _list(incident.get("incident_role_assignments")))
    }
    key_values = [_mapping(v).get("value_text") for v in entries.get(key_field_id, ())]
    key = next((v for v in key_values if isinstance(v, str) and v), None)
    status = _mapping(incident.get("incident_status"))
    severity = _mapping(incident.get("severity"))
    found: dict[str, Value] = {}
    for field in owned:
        if field.kind in {"name", "summary"}:
            text = incident.get(field.kind)
            text = text if isinstance(text, str) else ""
            found[slot(field)] = Value((text,), text or None)
        elif field.kind == "severity":
            found[slot(field)] = named(severity.get("id"), NO_NAMES, severity.get("name"))
        elif field.kind == "incident_status":
            found[slot(field)] = named(status.get("id"), NO_NAMES, status.get("name"))
        elif field.kind == "custom_field":
            pairs = (_custom_value(_mapping(v)) for v in entries.get(str(field.id), ()))
            found[slot(field)] = values((p for p in pairs if p is not None), field)
        else:
            found[slot(field)] = user(assignments.get(str(field.id)))
    category = status.get("category")
    return Listed(
        id=ident,
        reference=str(incident.get("reference") or ident),
        key=key,
        category=category if isinstance(category, str) else None,
        values=found,
    )


@dataclass(frozen=True)
class Listing:
    """Every incident the listing returned, read, and how many pages it took."""

    incidents: tuple[Listed, ...]
    pages: int


def read_listing(
    fetch_page: Callable[[str | None], object], key_field_id: str, owned: Sequence[SyncField]
) -> Listing:
    """Follow the cursors with `fetch_page(after) -> JSON body` (the caller's GET).

    A page that is not a listing is a TypeError, a cursor seen twice a ValueError.
    """
    pages = 0

    def counted(after: str | None) -> object:
        nonlocal pages
        pages += 1
        return fetch_page(after)

    raw = follow_pages(counted, "incidents")
    return Listing(tuple(read_incident(item, key_field_id, owned) for item in raw), pages)
