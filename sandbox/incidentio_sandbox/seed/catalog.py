"""Catalog types and their attribute schemas, as the account is configured with them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.parsing import JSONObject, check_choice, known_keys, required

if TYPE_CHECKING:
    from collections.abc import Mapping

ATTRIBUTE_MODES = ("", "api", "dashboard", "external", "internal", "dynamic", "backlink", "path")


@dataclass(frozen=True)
class CatalogAttribute:
    """One attribute of a catalog type's schema (``CatalogTypeAttributeV3``)."""

    id: str
    name: str
    type: str = "String"
    array: bool = False
    mode: str = ""

    def __post_init__(self) -> None:
        check_choice(self.mode, ATTRIBUTE_MODES, "attribute mode")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogAttribute:
        """Parse one attribute; ``id`` and ``name`` are required."""
        known_keys(data, cls, "catalog attribute")
        return cls(
            id=required(data, "id", "a catalog attribute"),
            name=required(data, "name", "a catalog attribute"),
            type=str(data.get("type", "String")),
            array=bool(data.get("array", False)),
            mode=str(data.get("mode", "")),
        )


def _type_name(name: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", " ", name).title().replace(" ", "")
    return f'Custom["{words or "Type"}"]'


@dataclass(frozen=True)
class CatalogType:
    """A catalog type and its attribute schema (``CatalogTypeV3``)."""

    id: str
    name: str
    attributes: tuple[CatalogAttribute, ...] = ()
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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogType:
        """Parse a type; ``id`` and ``name`` are required, attributes optional."""
        known_keys(data, cls, "catalog type")
        return cls(
            id=required(data, "id", "a catalog type"),
            name=required(data, "name", "a catalog type"),
            attributes=tuple(CatalogAttribute.from_json(a) for a in data.get("attributes", ())),
            description=str(data.get("description", "")),
            type_name=str(data.get("type_name", "")),
            ranked=bool(data.get("ranked", False)),
            use_name_as_identifier=bool(data.get("use_name_as_identifier", False)),
            annotations={str(k): str(v) for k, v in data.get("annotations", {}).items()},
            version=int(data.get("version", 1)),
        )

    def to_json(self) -> JSONObject:
        """The seed shape, for ``GET /_sandbox/seed``."""
        return {
            "id": self.id,
            "name": self.name,
            "attributes": [
                {"id": a.id, "name": a.name, "type": a.type, "array": a.array, "mode": a.mode}
                for a in self.attributes
            ],
            "description": self.description,
            "type_name": self.type_name,
            "ranked": self.ranked,
            "use_name_as_identifier": self.use_name_as_identifier,
            "annotations": dict(self.annotations),
            "version": self.version,
        }
