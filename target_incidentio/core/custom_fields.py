"""incident.io's custom fields: each kind a `custom_fields` mapping may name, declared once.

The setting's allowed kinds, the key a builder puts the value under and the field types
`--check` accepts for a kind all come from `KINDS`.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SELECT = frozenset({"single_select", "multi_select"})


@dataclass(frozen=True)
class CustomFieldKind:
    """One kind of custom field value."""

    # The key of `CustomFieldValuePayloadV2` its value is sent under.
    value_key: str
    # The `CustomFieldV2.field_type`s of the fields it fits. A select field holds options, or
    # catalog entries when it names a catalog type.
    field_types: frozenset[str]


KINDS: Mapping[str, CustomFieldKind] = {
    "text": CustomFieldKind("value_text", frozenset({"text"})),
    "numeric": CustomFieldKind("value_numeric", frozenset({"numeric"})),
    "link": CustomFieldKind("value_link", frozenset({"link"})),
    "option": CustomFieldKind("value_option_id", SELECT),
    "catalog_entry": CustomFieldKind("value_catalog_entry_id", SELECT),
}


def kind_of(field: Mapping[str, t.Any]) -> str | None:
    """The kind that fits an incident.io custom field (`CustomFieldV2`), if any does."""
    field_type = field.get("field_type")
    if field_type in SELECT:
        return "catalog_entry" if field.get("catalog_type_id") else "option"
    return next((name for name, kind in KINDS.items() if field_type in kind.field_types), None)
