"""The `catalog_entry` operation: upsert one catalog entry per record.

incident.io updates the entry whose `external_id` and `catalog_type_id` match, so every
entry needs an external id; without one a rerun would create duplicates.
"""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.common import (
    Reader,
    Record,
    as_number,
    identifier,
    int32,
    mapping,
    number_text,
    read_fields,
    require,
    strings,
    text,
)

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered


def bindings(record: Record, field: str) -> dict[str, t.Any] | None:
    """`attribute_values` as the record gives it: attribute id -> {value | array_value}."""
    value = mapping(record, field)
    if value is None:
        return None
    for attribute_id, binding in value.items():
        if not isinstance(binding, dict) or not set(binding) <= {"value", "array_value"}:
            raise record.error(
                f"{field}.{attribute_id}",
                f'expected {{"value": {{"literal": ...}}}} or '
                f'{{"array_value": [{{"literal": ...}}]}}, got {binding!r}.',
                "or map record fields to attribute ids with the `catalog_attributes` setting.",
            )
    return value


# CatalogCreateEntryPayloadV3, by name.
CATALOG_FIELDS: dict[str, Reader] = {
    "catalog_type_id": identifier,
    "external_id": identifier,
    "name": text,
    "aliases": strings,
    "rank": int32,
    "attribute_values": bindings,
}


def _literal(record: Record, field: str, value: object) -> dict[str, str]:
    """One `CatalogEngineParamBindingValuePayloadV3`: every literal is a string."""
    if isinstance(value, bool):
        return {"literal": "true" if value else "false"}
    if isinstance(value, str):
        return {"literal": value}
    number = as_number(value)
    if number is not None and number.is_finite():
        return {"literal": number_text(number)}
    raise record.wrong_type(
        field, value, "a string, number or boolean (or a list of them)", f"str({field})"
    )


def attribute_bindings(record: Record) -> dict[str, t.Any]:
    """Bindings for the fields the `catalog_attributes` setting maps; lists become arrays."""
    result: dict[str, t.Any] = {}
    for field, attribute_id in record.ctx.settings.catalog_attributes.items():
        value = record.get(field)
        if value is None:
            continue
        if isinstance(value, list):
            result[attribute_id] = {"array_value": [_literal(record, field, x) for x in value]}
        else:
            result[attribute_id] = {"value": _literal(record, field, value)}
    return result


def _external_id(record: Record, given: str | None) -> str:
    """The record's `external_id`, else its key properties (several joined with ':')."""
    if given:
        return given
    values = record.key_values()
    if values is not None:
        return ":".join(str(value) for value in values)
    raise record.missing(
        "external_id",
        "str(id)",
        " (it makes the upsert find the same entry on every run)",
    )


def build_catalog_entry(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Create or update the catalog entry with the record's external id."""
    record = Record.single(records, ctx, "catalog_entry")
    body = read_fields(record, CATALOG_FIELDS)
    if ctx.settings.catalog_type_id:
        body["catalog_type_id"] = ctx.settings.catalog_type_id
    elif not body.get("catalog_type_id"):
        raise record.error(
            "catalog_type_id",
            "there is no catalog type to write the entry to.",
            "set `catalog_type_id` (per stream under `streams.<name>`) or give the record a "
            "`catalog_type_id` field.",
        )
    body["external_id"] = _external_id(record, body.get("external_id"))
    require(record, body, "name", "service_name")
    body["attribute_values"] = {**body.get("attribute_values", {}), **attribute_bindings(record)}
    return record.api_key_request(
        path="/v3/catalog_entries",
        body=body,
        order_key=f"catalog:{body['catalog_type_id']}:{body['external_id']}",
    )
