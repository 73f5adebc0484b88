"""A stream's catalog type: found by name, and (when the stream manages it) its schema planned.

Pure: the stream's SCHEMA and the listed types in, a `TypePlan` out: the type to create, the
attributes to add, and which attribute each record field fills. The caller
(`catalog/type_setup.py`) sends the calls and hands the bound ids to the builder.

The target changes only the types it created, which carry the `MANAGED_BY` annotation; an
attribute is never removed (the whole list goes back to `update_schema` with every listed
attribute under its id), and an attribute whose field left the stream is kept.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass

from target_incidentio.catalog.entries import CATALOG_FIELDS
from target_incidentio.core.urls import segment
from target_incidentio.payloads.fields import SDC_PREFIX

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from target_incidentio.catalog.listing import JSONObject
    from target_incidentio.settings import StreamSettings

TYPES_PATH = "/v3/catalog_types"
# The annotation on the types the target creates; its value is the stream that feeds it.
MANAGED_BY = "target-incidentio/stream"
# A JSON-schema type → the catalog attribute type its values fill.
ATTRIBUTE_TYPES: Mapping[str, str] = {
    "string": "String",
    "integer": "Number",
    "number": "Number",
    "boolean": "Bool",
}
# `CatalogTypeAttributePayloadV3`'s keys: what of a listed attribute goes back to update_schema.
_PAYLOAD_KEYS = ("id", "name", "type", "array", "mode", "backlink_attribute", "path")
# What a dry run puts where ids do not exist yet (nothing is created in a dry run).
PLANNED = "(planned) "


def schema_path(type_id: str) -> str:
    """`POST /v3/catalog_types/{id}/actions/update_schema`; the id, from an answer, is a segment."""
    return f"{TYPES_PATH}/{segment(type_id)}/actions/update_schema"


@dataclass(frozen=True)
class CatalogType:
    """One listed `CatalogTypeV3`: what the plan reads of it."""

    id: str
    name: str
    type_name: str
    annotations: Mapping[str, str]
    version: int
    attributes: tuple[JSONObject, ...]

    @classmethod
    def parse(cls, item: object) -> CatalogType:
        """A listed type; TypeError when it lacks what the plan needs."""
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            msg = f"a catalog type must be an object with an 'id': got {type(item).__name__}"
            raise TypeError(msg)
        schema = item.get("schema")
        schema = schema if isinstance(schema, Mapping) else {}
        annotations = item.get("annotations")
        return cls(
            id=item["id"],
            name=str(item.get("name") or ""),
            type_name=str(item.get("type_name") or ""),
            annotations=dict(annotations) if isinstance(annotations, Mapping) else {},
            version=int(schema.get("version") or 0),
            attributes=tuple(
                a
                for a in schema.get("attributes") or ()
                if isinstance(a, Mapping) and isinstance(a.get("id"), str)
            ),
        )

    @property
    def managed_by(self) -> str | None:
        """The stream that feeds it, if the target created it."""
        return self.annotations.get(MANAGED_BY)

    def attribute(self, wanted: str) -> JSONObject | None:
        """The attribute with this id, else with this name."""
        for key in ("id", "name"):
            for attribute in self.attributes:
                if attribute.get(key) == wanted:
                    return attribute
        return None

    def listing(self) -> str:
        """Its attributes as `name = id`, for messages."""
        return ", ".join(f"{a.get('name')} = {a['id']}" for a in self.attributes) or "none"


def parse_types(body: object) -> tuple[CatalogType, ...]:
    """A `CatalogListTypesResultV3`."""
    items = body.get("catalog_types") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        msg = f"a catalog type listing must have a 'catalog_types' list: got {type(body).__name__}"
        raise TypeError(msg)
    return tuple(CatalogType.parse(item) for item in items)


def parse_type(body: object) -> CatalogType:
    """The `catalog_type` of a create or update_schema answer."""
    return CatalogType.parse(body.get("catalog_type") if isinstance(body, Mapping) else None)


def find_type(
    types: Iterable[CatalogType], wanted: str, stream: str | None = None
) -> CatalogType | None:
    """The type whose name or `type_name` is `wanted`; ValueError when several are.

    Several types of that name that this stream's target created are one type made twice
    (a create whose answer was lost, then retried): the oldest (ids sort by creation) is
    the one, on every run; `twins` names the others.
    """
    found = [kind for kind in types if wanted in (kind.name, kind.type_name)]
    ours = [kind for kind in found if stream is not None and kind.managed_by == stream]
    if len(found) > 1 and len(ours) == len(found):
        return min(ours, key=lambda kind: kind.id)
    if len(found) > 1:
        ids = ", ".join(f"{kind.id} ({kind.type_name})" for kind in found)
        msg = f"several catalog types are named {wanted!r}: {ids}; name one by its type_name"
        raise ValueError(msg)
    return found[0] if found else None


def twins(types: Iterable[CatalogType], kind: CatalogType) -> tuple[str, ...]:
    """The ids of the other types of `kind`'s name its stream created (see `find_type`)."""
    return tuple(
        other.id
        for other in types
        if other.id != kind.id and other.name == kind.name and other.managed_by == kind.managed_by
    )


def with_type(types: tuple[CatalogType, ...], kind: CatalogType) -> tuple[CatalogType, ...]:
    """`types` with `kind` added, or in place of the listed type with its id."""
    return (*(other for other in types if other.id != kind.id), kind)


# -- the stream's columns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A record field that fills an attribute: the attribute's name (or id), type and arity."""

    field: str
    attribute: str
    # None: the field's schema has no attribute type (an object, a union of types).
    type: str | None
    array: bool = False

    @property
    def shown(self) -> str:
        """`tier: Number`, `tags: String (array)`."""
        return f"{self.attribute}: {_type_text(self.type, array=self.array)}"

    def payload(self) -> dict[str, t.Any]:
        """A new `CatalogTypeAttributePayloadV3`."""
        return {"name": self.attribute, "type": self.type, "array": self.array}


def attribute_type(schema: object) -> tuple[str, bool] | None:
    """A field's JSON schema as (attribute type, array); None where no type fits.

    Nullable unions count as their non-null type; an array of a scalar is that scalar's type
    with `array: true`.
    """
    kind = _single_type(schema)
    if kind == "array" and isinstance(schema, Mapping):
        items = ATTRIBUTE_TYPES.get(_single_type(schema.get("items")) or "")
        return (items, True) if items else None
    scalar = ATTRIBUTE_TYPES.get(kind or "")
    return (scalar, False) if scalar else None


def _single_type(schema: object) -> str | None:
    """The one non-null JSON type of a schema (`type` or `anyOf`), else None."""
    kinds = _types(schema) - {"null"}
    return kinds.pop() if len(kinds) == 1 else None


def _types(schema: object) -> set[str]:
    """Every JSON type a schema allows, `null` included."""
    if not isinstance(schema, Mapping):
        return set()
    declared = schema.get("type")
    if declared is None and isinstance(schema.get("anyOf"), list):
        return set().union(*(_types(option) for option in schema["anyOf"]))
    listed = declared if isinstance(declared, list) else [declared]
    return {kind for kind in listed if isinstance(kind, str)}


def columns(
    settings: StreamSettings, schema: Mapping[str, t.Any], key_properties: Sequence[str]
) -> tuple[Column, ...]:
    """The fields that fill attributes, with the type each would have.

    `catalog_attributes` lists them when set; else every field of the SCHEMA but those that
    fill the entry itself (`external_id` or the key properties, `name`, `aliases`, `rank`),
    `exclude_attributes` and `_sdc_*` metadata. `catalog_references` makes a field a
    reference to another type.
    """
    properties = schema.get("properties") or {}
    if settings.catalog_attributes:
        chosen = dict(settings.catalog_attributes)
    else:
        fills_entry = {*CATALOG_FIELDS, *settings.exclude_attributes}
        if "external_id" not in properties:
            fills_entry.update(key_properties)
        chosen = {
            name: name
            for name in properties
            if name not in fills_entry and not name.startswith(SDC_PREFIX)
        }
    found = []
    for field, attribute in chosen.items():
        typed = attribute_type(properties.get(field))
        reference = settings.catalog_references.get(field)
        if reference is not None:
            typed = (reference, typed is not None and typed[1])
        kind, array = typed or (None, False)
        found.append(Column(field, attribute, kind, array))
    return tuple(found)


# -- the plan -----------------------------------------------------------------------------------


class PlanError(ValueError):
    """The type cannot serve the stream; the message names the type and the attribute."""


@dataclass(frozen=True)
class TypePlan:
    """What settling the stream's type takes, and which attribute each field fills."""

    wanted: str
    stream: str
    # None: the type does not exist yet, and is created.
    existing: CatalogType | None
    manage: bool
    # Field -> attribute id, for the fields whose attribute the type has.
    bound: Mapping[str, str]
    # Columns whose attribute is added (a managed type), in stream order.
    add: tuple[Column, ...]
    # Fields with no attribute that stay so: an unmanaged type's, or of no attribute type.
    unattributed: tuple[Column, ...]
    # Attributes of a managed type whose field left the stream (kept).
    left: tuple[str, ...]

    @property
    def changes(self) -> bool:
        """Whether settling sends anything (a create, an update_schema)."""
        return self.existing is None or bool(self.add)

    def create_body(self) -> dict[str, t.Any]:
        """`CatalogCreateTypePayloadV3`: the name (or type_name), a description, the annotation."""
        body: dict[str, t.Any] = {
            "name": _display_name(self.wanted),
            "description": (
                f"Loaded by target-incidentio from the stream '{self.stream}'; its schema "
                "follows the stream's."
            ),
            "annotations": {MANAGED_BY: self.stream},
        }
        if self.wanted.startswith("Custom["):
            body["type_name"] = self.wanted
        return body

    def schema_body(self, kind: CatalogType) -> dict[str, t.Any]:
        """`CatalogUpdateTypeSchemaPayloadV3`: every listed attribute by id, then the new ones."""
        kept = [_as_payload(attribute) for attribute in kind.attributes]
        return {"version": kind.version, "attributes": [*kept, *(c.payload() for c in self.add)]}

    def settled(self, kind: CatalogType) -> dict[str, str]:
        """Field -> attribute id once `kind` holds the added attributes."""
        bound = dict(self.bound)
        for column in self.add:
            attribute = kind.attribute(column.attribute)
            if attribute is None:
                msg = (
                    f"catalog type {kind.name} ({kind.id}) did not keep the attribute "
                    f"'{column.attribute}' (field '{column.field}') that update_schema added"
                )
                raise PlanError(msg)
            bound[column.field] = attribute["id"]
        return bound

    def planned(self) -> dict[str, str]:
        """Field -> attribute id in a dry run, where added attributes have no id yet."""
        return {**self.bound, **{c.field: f"{PLANNED}{c.attribute}" for c in self.add}}

    def summary(self) -> str:
        """The dry run's words for it."""
        added = ", ".join(column.shown for column in self.add) or "none"
        if self.existing is None:
            head = f"would create catalog type {self.wanted} (managed by this stream)"
            text = f"{head} with attributes: {added}"
        elif self.add:
            text = f"would add to catalog type {self.wanted} ({self.existing.id}): {added}"
        else:
            text = f"catalog type {self.wanted} ({self.existing.id}) has every attribute"
        if self.unattributed:
            text += "; fields with no attribute: " + ", ".join(c.shown for c in self.unattributed)
        return text


def plan_type(  # noqa: PLR0913 - the stream, its settings and the account
    stream: str,
    wanted: str,
    kind: CatalogType | None,
    found: tuple[Column, ...],
    *,
    manage: bool,
    fields: Iterable[str] = (),
) -> TypePlan:
    """Which attributes the type has for `found`, and those a managed type gets added.

    `fields` are the stream's SCHEMA fields, to name a managed attribute whose field left.
    """
    if kind is None and not manage:
        msg = (
            f"catalog type {wanted!r} does not exist; create it in incident.io (Catalog), or set "
            "`catalog_manage_type: true` to let the target create it from the stream"
        )
        raise PlanError(msg)
    managed = manage and (kind is None or kind.managed_by is not None)
    bound: dict[str, str] = {}
    add: list[Column] = []
    unattributed: list[Column] = []
    for column in found:
        attribute = kind.attribute(column.attribute) if kind is not None else None
        if attribute is not None:
            if managed:
                _check_fits(wanted, column, attribute)
            bound[column.field] = attribute["id"]
        elif managed and column.type is not None:
            add.append(column)
        else:
            unattributed.append(column)
    left: tuple[str, ...] = ()
    if managed and kind is not None:
        present = set(fields)
        used = {c.attribute for c in found if c.field in present}
        left = tuple(
            str(a.get("name"))
            for a in kind.attributes
            if a.get("name") not in used and a["id"] not in used
        )
    return TypePlan(
        wanted=wanted,
        stream=stream,
        existing=kind,
        manage=managed,
        bound=bound,
        add=tuple(add),
        unattributed=tuple(unattributed),
        left=left,
    )


def _check_fits(wanted: str, column: Column, attribute: JSONObject) -> None:
    """A managed attribute's type and arity must be the field's: values would be refused."""
    if column.type is None:
        return
    kind, array = attribute.get("type"), bool(attribute.get("array"))
    if (kind, array) != (column.type, column.array):
        msg = (
            f"catalog type {wanted}: attribute '{attribute.get('name')}' is "
            f"{_type_text(kind, array=array)} but the stream's field '{column.field}' is "
            f"{_type_text(column.type, array=column.array)}; the target never changes an "
            "attribute's type (its values would be lost): rename the field with stream_maps, "
            "or change or remove the attribute in incident.io"
        )
        raise PlanError(msg)


def _type_text(kind: object, *, array: bool) -> str:
    """`Number`, `String (array)`."""
    return f"{kind or 'no attribute type'}{' (array)' if array else ''}"


def _as_payload(attribute: JSONObject) -> dict[str, t.Any]:
    """A listed attribute as update_schema takes it back: same id, nothing of it changed."""
    payload = {key: attribute[key] for key in _PAYLOAD_KEYS if key in attribute}
    if isinstance(payload.get("path"), list):
        payload["path"] = [
            {"attribute_id": step["attribute_id"]}
            for step in payload["path"]
            if isinstance(step, Mapping) and "attribute_id" in step
        ]
    return payload


def _display_name(wanted: str) -> str:
    """`Custom["Service"]` names its type `Service`; a plain name is itself."""
    if wanted.startswith('Custom["') and wanted.endswith('"]'):
        return wanted[len('Custom["') : -2]
    return wanted
