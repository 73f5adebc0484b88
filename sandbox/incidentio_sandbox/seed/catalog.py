"""Catalog types and their attribute schemas, as the account is configured with them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from incidentio_sandbox.seed.parsing import (
    SeedItem,
    check_choice,
    items_of,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

ATTRIBUTE_MODES = ("", "api", "dashboard", "external", "internal", "dynamic", "backlink", "path")


@dataclass(frozen=True)
class CatalogAttribute(SeedItem):
    """One attribute of a catalog type's schema (``CatalogTypeAttributeV3``)."""

    KIND = "catalog attribute"

    id: str
    name: str
    type: str = "String"
    array: bool = False
    mode: str = ""

    def __post_init__(self) -> None:
        check_choice(self.mode, ATTRIBUTE_MODES, "attribute mode")


def _type_name(name: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", " ", name).title().replace(" ", "")
    return f'Custom["{words or "Type"}"]'


@dataclass(frozen=True)
class CatalogType(SeedItem):
    """A catalog type and its attribute schema (``CatalogTypeV3``)."""

    KIND = "catalog type"

    id: str
    name: str
    attributes: tuple[CatalogAttribute, ...] = items_of(CatalogAttribute.from_json)
    description: str = ""
    type_name: str = ""
    ranked: bool = False
    use_name_as_identifier: bool = False
    # Tags a tool sets to recognise its own types (catalog-importer's, target-incidentio's).
    annotations: Mapping[str, str] = field(default_factory=dict)
    # The schema's version: `update_schema` must name it, and each update moves it on.
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", tuple(self.attributes))
        object.__setattr__(self, "annotations", dict(self.annotations))
        if not self.type_name:
            object.__setattr__(self, "type_name", _type_name(self.name))
        ids = [a.id for a in self.attributes]
        if len(ids) != len(set(ids)):
            msg = f"catalog type {self.id!r} names an attribute id twice"
            raise ValueError(msg)

    def attribute(self, attribute_id: str) -> CatalogAttribute | None:
        """The attribute with this id, if the schema has it."""
        return next((a for a in self.attributes if a.id == attribute_id), None)
