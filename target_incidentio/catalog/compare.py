"""One row against its listed entry, normalised: what differs, and the update that mends it.

Comparison works on what the target would send, normalised the way incident.io returns it
(see `normalise`), so an unchanged row is never rewritten: the bug catalog-importer users hit
with empty arrays.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from target_incidentio.payloads.common import canonical_number

if t.TYPE_CHECKING:
    from target_incidentio.catalog.listing import JSONObject
    from target_incidentio.payloads.base import ApiRequest

# A normalised attribute value: one literal, or the literals of an array, in order.
Value: t.TypeAlias = str | tuple[str, ...]
# Attribute types (`catalog_type.schema.attributes[].type`) whose literals have one meaning
# under several spellings; every other type compares its literals exactly.
NUMBER_TYPE = "Number"
BOOL_TYPE = "Bool"
NO_TYPES: Mapping[str, str] = {}


@dataclass(frozen=True)
class EntryState:
    """What merge compares: name, aliases, rank, managed attributes, as incident.io keeps them."""

    name: str
    aliases: tuple[str, ...]
    rank: int
    # (attribute id, value) sorted by id; attributes without a value are left out.
    attributes: tuple[tuple[str, Value], ...]

    def differences(self, other: EntryState) -> tuple[str, ...]:
        """The fields that differ, e.g. `("name", "attribute_values.01ATTR")`."""
        changed = [
            name
            for name in ("name", "aliases", "rank")
            if getattr(self, name) != getattr(other, name)
        ]
        mine, theirs = dict(self.attributes), dict(other.attributes)
        changed.extend(
            f"attribute_values.{attribute_id}"
            for attribute_id in sorted(mine.keys() | theirs.keys())
            if mine.get(attribute_id) != theirs.get(attribute_id)
        )
        return tuple(changed)


def managed_attributes(payload: JSONObject, mapped: Iterable[str]) -> frozenset[str]:
    """The attribute ids a row owns: those `catalog_attributes` maps plus the row's own keys.

    A mapped attribute is managed even when the record's field is null (the row says "no
    value", so merge clears it); an attribute neither mapped nor given by the record is
    someone else's (the dashboard's, another stream's) and is never compared or written.
    """
    values = payload.get("attribute_values")
    return frozenset(mapped) | frozenset(values if isinstance(values, Mapping) else ())


def normalise(
    source: JSONObject, managed: Iterable[str], attribute_types: Mapping[str, str] = NO_TYPES
) -> EntryState:
    """A create payload or a listed `CatalogEntryV3` as an `EntryState`, restricted to `managed`.

    Both use the same field names; the rules make what the target sends equal to what
    incident.io returns for it:
    - name compares exactly;
    - aliases: absent or null is `[]`; order counts (incident.io keeps it);
    - rank: absent or null is 0 (an entry without a rank lists as 0);
    - an attribute absent, null, `{}`, `{"array_value": []}` or with only empty literals has
      no value (incident.io omits empty arrays), so all of these are equal;
    - a value is its `literal` (a listed value's `label`, `sort_key` and other keys are
      display data), falling back to `label` when the literal is empty, which the spec
      allows for String, Text, Number and Bool attributes;
    - Number literals compare as numbers ("1.50" == "1.5") and Bool literals ignore case,
      when `attribute_types` says so; other literals compare exactly ("1.0" != "1");
    - a single value and a one-item array differ: the attribute's arity is the type's.
    """
    attribute_values = source.get("attribute_values")
    bindings = attribute_values if isinstance(attribute_values, Mapping) else {}
    attributes: list[tuple[str, Value]] = []
    for attribute_id in sorted(managed):
        value = _binding(bindings.get(attribute_id), attribute_types.get(attribute_id))
        if value is not None:
            attributes.append((attribute_id, value))
    rank = source.get("rank")
    return EntryState(
        name=str(source.get("name") or ""),
        aliases=tuple(source.get("aliases") or ()),
        rank=int(rank) if rank is not None else 0,
        attributes=tuple(attributes),
    )


def _binding(binding: object, kind: str | None) -> Value | None:
    """A binding's literals: a tuple for a non-empty array, else the single literal, else None."""
    if not isinstance(binding, Mapping):
        return None
    items = binding.get("array_value")
    if isinstance(items, list):
        literals = tuple(x for x in (_literal(item, kind) for item in items) if x is not None)
        if literals:
            return literals
    return _literal(binding.get("value"), kind)


def _literal(value: object, kind: str | None) -> str | None:
    """One value's literal (or label), canonical for its attribute type; None when empty."""
    if not isinstance(value, Mapping):
        return None
    text = value.get("literal") or value.get("label")
    if text is None or text == "":
        return None
    return _canonical(text if isinstance(text, str) else str(text), kind)


def _canonical(text: str, kind: str | None) -> str:
    """Number and Bool literals in one spelling; other types keep theirs."""
    if kind == NUMBER_TYPE:
        return canonical_number(text) or text
    if kind == BOOL_TYPE and text.strip().lower() in {"true", "false"}:
        return text.strip().lower()
    return text


# -- rows and what becomes of them ---------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One record's create payload (as `build_catalog_entry` made it), key and input record."""

    payload: JSONObject
    record_key: str
    record: JSONObject
    # The record's checkpoint sequence number(s): whatever call answers for the row settles them.
    sequences: tuple[int, ...] = ()

    @classmethod
    def from_request(cls, request: ApiRequest) -> Row:
        """The row of a built `POST /v3/catalog_entries` request (one record per request)."""
        return cls(request.body, request.record_keys[0], request.records[0], request.sequences)

    @property
    def external_id(self) -> str:
        """The entry's external id; every catalog payload the target builds has one."""
        value = self.payload.get("external_id")
        if not isinstance(value, str) or not value:
            msg = (
                f"record {self.record_key}: a catalog payload without external_id cannot be merged"
            )
            raise ValueError(msg)
        return value


class _FromRows:
    """Records an update answers for: several when an external id repeated (the last wins)."""

    rows: tuple[Row, ...]

    @property
    def record_keys(self) -> tuple[str, ...]:
        """Keys of every record behind this action, for its response record."""
        return tuple(row.record_key for row in self.rows)

    @property
    def records(self) -> tuple[JSONObject, ...]:
        """Every input record behind this action."""
        return tuple(row.record for row in self.rows)

    @property
    def sequences(self) -> tuple[int, ...]:
        """Checkpoint numbers of every record behind this action."""
        return tuple(number for row in self.rows for number in row.sequences)


@dataclass(frozen=True)
class Update(_FromRows):
    """An existing entry that differs: one `PartialEntryPayloadV3` of a bulk update."""

    entry_id: str
    external_id: str
    # The PartialEntryPayloadV3: entry_id, name, aliases, rank (when set), managed attributes.
    body: JSONObject
    # The bulk call's `update_attributes`: every attribute this row manages, sorted.
    update_attributes: tuple[str, ...]
    # What differs, as `EntryState.differences` names it; for dry runs and logs.
    changed: tuple[str, ...]
    rows: tuple[Row, ...]


def entry_id_of(entry: JSONObject) -> str:
    """A listed entry's id, which every `CatalogEntryV3` has."""
    entry_id = entry.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        msg = f"a listed catalog entry ({type(entry).__name__}) has no id"
        raise ValueError(msg)
    return entry_id


def update_body(entry_id: str, payload: JSONObject, managed: Iterable[str]) -> dict[str, t.Any]:
    """The `PartialEntryPayloadV3` that leaves the entry as `payload` would create it.

    Aliases are always sent (omitted, the API keeps the old ones, and the entry would differ
    on every run); rank only when set (omitted, the API clears it, which is what a payload
    without rank means). A managed attribute without a value is sent as `{}`, the shape the
    API lists an empty value in, so it is cleared whatever `update_attributes` does with a
    key missing from `attribute_values`.
    """
    values = payload.get("attribute_values") or {}
    body: dict[str, t.Any] = {
        "entry_id": entry_id,
        "name": payload["name"],
        "aliases": list(payload.get("aliases") or ()),
        "attribute_values": {a: values.get(a, {}) for a in sorted(managed)},
    }
    if payload.get("rank") is not None:
        body["rank"] = payload["rank"]
    return body
