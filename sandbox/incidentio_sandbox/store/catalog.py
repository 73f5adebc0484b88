"""Catalog entries (upserted by external id, bulk-updated atomically) and catalog types."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed import Seed
from incidentio_sandbox.seed.catalog import CatalogAttribute, CatalogType
from incidentio_sandbox.store.common import (
    Account,
    InvalidError,
    NotFoundError,
    new_id,
    now_rfc3339,
    page,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


# Attribute types every account has; a catalog type's `type_name` is one too.
_ATTRIBUTE_TYPES = ("String", "Number", "Bool", "Text")
_CUSTOM_TYPE_NAME = re.compile(r'Custom\["[A-Za-z][A-Za-z0-9]*"\]')


class CatalogStore:
    """Entries by id, the external-id index, archived entries; types live in the seed."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.entries: dict[str, dict[str, Any]] = {}
        self.external_ids: dict[tuple[str, str], str] = {}
        self.archived: list[dict[str, Any]] = []

    def catalog_type(self, type_id: str, field: str = "catalog_type_id") -> CatalogType:
        """The configured type; with no types configured every id is a type of its own."""
        configured = self.account.seed.catalog_types
        found = next((kind for kind in configured if kind.id == type_id), None)
        if found is not None:
            return found
        if configured:
            msg = f"No catalog type found with id {type_id!r}"
            raise NotFoundError(msg, field)
        return CatalogType(id=type_id, name=type_id)

    def catalog_types(self) -> list[CatalogType]:
        """Configured types, or (none configured) the implicit types entries were put in."""
        if self.account.seed.catalog_types:
            return list(self.account.seed.catalog_types)
        ids = dict.fromkeys(e["catalog_type_id"] for e in self._ordered_entries())
        return [CatalogType(id=type_id, name=type_id) for type_id in ids]

    def count_entries(self, type_id: str) -> int:
        """How many entries a type holds."""
        return sum(1 for e in self.entries.values() if e["catalog_type_id"] == type_id)

    def _entry_problems(  # noqa: PLR0913 - one entry's every checked part
        self,
        kind: CatalogType,
        *,
        values: Mapping[str, Any],
        name: str | None,
        external_id: str | None,
        prefix: str,
        only: list[str] | None = None,
    ) -> list[tuple[str, str, str]]:
        """Why the account would refuse this entry: rejected on purpose, or off-schema."""
        problems: list[tuple[str, str, str]] = []
        if external_id is not None and external_id in self.account.seed.reject_catalog_external_ids:
            message = f"External ID {external_id!r} is refused (sandbox reject list)"
            problems.append(("invalid_value", message, f"{prefix}external_id"))
        if name is not None and name in self.account.seed.reject_catalog_names:
            message = f"Name {name!r} is refused (sandbox reject list)"
            problems.append(("invalid_value", message, f"{prefix}name"))
        if not self.account.seed.catalog_types:
            return problems
        for attribute_id in [*values, *(only or ())]:
            attribute = kind.attribute(attribute_id)
            where = f"{prefix}attribute_values.{attribute_id}"
            if attribute is None:
                message = f"Catalog type {kind.id!r} has no attribute {attribute_id!r}"
                problems.append(("invalid_value", message, where))
                continue
            binding = values.get(attribute_id, {})
            if attribute.array and "value" in binding:
                message = f"Attribute {attribute.name!r} is an array: use array_value"
                problems.append(("invalid_value", message, f"{where}.value"))
            if not attribute.array and "array_value" in binding:
                message = f"Attribute {attribute.name!r} is not an array: use value"
                problems.append(("invalid_value", message, f"{where}.array_value"))
        return problems

    def upsert_entry(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create, or update the entry with the same (catalog_type_id, external_id)."""
        type_id = payload["catalog_type_id"]
        kind = self.catalog_type(type_id)
        external_id = payload.get("external_id")
        problems = self._entry_problems(
            kind,
            values=payload["attribute_values"],
            name=payload["name"],
            external_id=external_id,
            prefix="",
        )
        if problems:
            raise InvalidError(problems)
        existing_id = self.external_ids.get((type_id, external_id)) if external_id else None
        stamp = now_rfc3339()
        if existing_id is not None:
            entry = self.entries[existing_id]
            created = False
        else:
            entry = {"id": new_id(), "catalog_type_id": type_id, "created_at": stamp}
            created = True
        entry.update(
            {
                "name": payload["name"],
                "aliases": list(payload.get("aliases", [])),
                "rank": payload.get("rank", 0),
                "attribute_values": copy.deepcopy(payload["attribute_values"]),
                "updated_at": stamp,
            },
        )
        if external_id:
            entry["external_id"] = external_id
            self.external_ids[(type_id, external_id)] = entry["id"]
        self.entries[entry["id"]] = entry
        return entry, created

    def bulk_update(self, payload: dict[str, Any]) -> None:
        """All or nothing, like the real endpoint: unknown or refused entries abort the batch."""
        type_id = payload["catalog_type_id"]
        kind = self.catalog_type(type_id)
        only: list[str] | None = payload.get("update_attributes")
        problems: list[tuple[str, str, str]] = []
        for index, item in enumerate(payload["entries"]):
            entry = self.entries.get(item["entry_id"])
            if entry is None or entry["catalog_type_id"] != type_id:
                msg = f"No catalog entry {item['entry_id']!r} in type {type_id!r}"
                raise NotFoundError(msg, f"entries[{index}].entry_id")
            problems += self._entry_problems(
                kind,
                values=item["attribute_values"],
                name=item.get("name", entry["name"]),
                external_id=item.get("external_id", entry.get("external_id")),
                prefix=f"entries[{index}].",
                only=only if index == 0 else None,  # update_attributes is checked once
            )
        if problems:
            raise InvalidError(problems)
        stamp = now_rfc3339()
        for item in payload["entries"]:
            entry = self.entries[item["entry_id"]]
            values = copy.deepcopy(item["attribute_values"])
            if only is not None:
                # Named attributes take the payload's value (or none); the rest are kept.
                kept = {k: v for k, v in entry["attribute_values"].items() if k not in only}
                values = {**kept, **{k: v for k, v in values.items() if k in only}}
            entry["attribute_values"] = values
            for name in ("name", "aliases"):
                if name in item:
                    entry[name] = copy.deepcopy(item[name])
            # The spec: an omitted rank is set to null, which the entry shows as 0.
            entry["rank"] = item.get("rank", 0)
            if item.get("external_id"):
                self.external_ids.pop((type_id, entry.get("external_id", "")), None)
                entry["external_id"] = item["external_id"]
                self.external_ids[(type_id, item["external_id"])] = entry["id"]
            entry["updated_at"] = stamp

    def _ordered_entries(self) -> list[dict[str, Any]]:
        return sorted(self.entries.values(), key=lambda e: str(e["id"]))

    def list_entries(
        self, type_id: str, identifier: str | None, after: str | None, page_size: int
    ) -> tuple[list[dict[str, Any]], int, str | None]:
        """One page in creation (id) order, the total that matched, and the next cursor.

        ``identifier`` matches id, external id or an alias, and the name too when the type
        has ``use_name_as_identifier`` (the spec's rule).
        """
        by_name = self.catalog_type(type_id).use_name_as_identifier
        matched = [
            e
            for e in self._ordered_entries()
            if e["catalog_type_id"] == type_id
            and (
                identifier is None
                or identifier in (e["id"], e.get("external_id"))
                or identifier in e["aliases"]
                or (by_name and identifier == e["name"])
            )
        ]
        chosen, next_after = page(matched, after, page_size)
        return chosen, len(matched), next_after

    def get_entry(self, entry_id: str) -> dict[str, Any]:
        """The entry, or ``NotFoundError`` naming ``id``."""
        try:
            return self.entries[entry_id]
        except KeyError:
            msg = f"No catalog entry found with id {entry_id!r}"
            raise NotFoundError(msg, "id") from None

    def archive_entry(self, entry_id: str) -> dict[str, Any]:
        """Take the entry out of its type (and free its external id); keep it for the record."""
        entry = self.get_entry(entry_id)
        del self.entries[entry_id]
        external_id: str = entry.get("external_id") or ""
        key = (str(entry["catalog_type_id"]), external_id)
        if external_id and self.external_ids.get(key) == entry_id:
            del self.external_ids[key]
        entry["archived_at"] = entry["updated_at"] = now_rfc3339()
        self.archived.append(entry)
        return entry

    # -- catalog types: configured in the seed, created and reshaped through the API --------

    def create_type(self, payload: Mapping[str, Any]) -> CatalogType:
        """A new type with no attributes (its schema is `update_catalog_type_schema`'s)."""
        type_name = str(payload.get("type_name") or "")
        if type_name and not _CUSTOM_TYPE_NAME.fullmatch(type_name):
            message = f'type_name must look like Custom["SomeName"], got {type_name!r}'
            raise InvalidError([("invalid_value", message, "type_name")])
        taken = {other.type_name for other in self.account.seed.catalog_types}
        if type_name in taken:
            message = f"A catalog type with type_name {type_name!r} already exists"
            raise InvalidError([("invalid_value", message, "type_name")])
        kind = CatalogType(
            id=new_id(),
            name=str(payload["name"]),
            description=str(payload["description"]),
            type_name=type_name,
            ranked=bool(payload.get("ranked", False)),
            use_name_as_identifier=bool(payload.get("use_name_as_identifier", False)),
            annotations=dict(payload.get("annotations") or {}),
        )
        derived, suffix = kind.type_name, 2
        while kind.type_name in taken:  # a name given twice: its derived type_name is made unique
            kind = replace(kind, type_name=f'{derived[:-2]}{suffix}"]')
            suffix += 1
        self.account.seed = self.account.seed.merged(Seed(catalog_types=(kind,)))
        return kind

    def update_schema(self, type_id: str, payload: Mapping[str, Any]) -> CatalogType:
        """The schema becomes `payload`'s list; attributes left out go, with their values.

        `version` must be the schema's current one (optimistic concurrency); an attribute
        with an `id` keeps it, one without gets a new id.
        """
        kind = self.catalog_type(type_id, field="id")
        if payload["version"] != kind.version:
            message = (
                f"Schema version {payload['version']} is stale: the schema of catalog type "
                f"{kind.id!r} is at version {kind.version}"
            )
            raise InvalidError([("invalid_value", message, "version")])
        known = {a.id: a for a in kind.attributes}
        type_names = {other.type_name for other in self.account.seed.catalog_types}
        problems: list[tuple[str, str, str]] = []
        attributes: list[CatalogAttribute] = []
        for index, item in enumerate(payload["attributes"]):
            where = f"attributes[{index}]"
            if "id" in item and item["id"] not in known:
                message = f"Catalog type {kind.id!r} has no attribute {item['id']!r}"
                problems.append(("invalid_value", message, f"{where}.id"))
            if item["type"] not in (*_ATTRIBUTE_TYPES, *type_names):
                message = f"Unknown attribute type {item['type']!r}"
                problems.append(("invalid_value", message, f"{where}.type"))
            if any(a.name == item["name"] for a in attributes):
                message = f"Two attributes are named {item['name']!r}"
                problems.append(("invalid_value", message, f"{where}.name"))
            attributes.append(
                CatalogAttribute(
                    id=str(item.get("id") or new_id()),
                    name=str(item["name"]),
                    type=str(item["type"]),
                    array=bool(item["array"]),
                    mode=str(item.get("mode", "")),
                )
            )
        if problems:
            raise InvalidError(problems)
        kept = {a.id for a in attributes}
        for entry in self.entries.values():
            if entry["catalog_type_id"] == kind.id:
                values = entry["attribute_values"]
                entry["attribute_values"] = {k: v for k, v in values.items() if k in kept}
        updated = replace(kind, attributes=tuple(attributes), version=kind.version + 1)
        self.account.seed = self.account.seed.merged(Seed(catalog_types=(updated,)))
        return updated

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of the catalog."""
        return {
            "catalog_entries": list(self.entries.values()),
            "archived_catalog_entries": self.archived,
        }

    def counts(self) -> dict[str, int]:
        """The catalog counts of ``GET /_sandbox/state``."""
        return {
            "catalog_entries": len(self.entries),
            "catalog_entries_archived": len(self.archived),
        }
