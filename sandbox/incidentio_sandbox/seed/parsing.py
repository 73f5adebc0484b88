"""Reading seed JSON: the spec's enumerations and the checks every seeded item shares."""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from openapi_schema_validator import OAS30Validator

from incidentio_sandbox.validation import load_spec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

JSONObject = dict[str, Any]


def _enum(schema: str, *path: str) -> tuple[str, ...]:
    node: Any = load_spec()["components"]["schemas"][schema]
    for step in path:
        node = node[step]
    return tuple(node["enum"])


@functools.cache
def all_roles() -> tuple[str, ...]:
    """Every role an API key can have, per the spec; a key's default."""
    return _enum("IdentityV1", "properties", "roles", "items")


@functools.cache
def field_types() -> tuple[str, ...]:
    """The custom field types the spec names."""
    return _enum("CustomFieldV2", "properties", "field_type")


@functools.cache
def source_types() -> tuple[str, ...]:
    """The alert source types the spec names."""
    return _enum("AlertSourceV2", "properties", "source_type")


def check_choice(value: str, allowed: Iterable[str], what: str) -> None:
    """A ``ValueError`` naming the choices unless ``value`` is one of them."""
    choices = tuple(allowed)
    if value not in choices:
        msg = f"unknown {what} {value!r}; expected one of: {', '.join(choices)}"
        raise ValueError(msg)


def required(data: Mapping[str, Any], name: str, kind: str) -> str:
    """The non-empty string ``data[name]``; ``kind`` names the item in the error."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        msg = f"{kind} needs a non-empty string {name!r}"
        raise ValueError(msg)
    return value


def known_keys(data: Mapping[str, Any], cls: type, kind: str) -> None:
    """Refuse keys ``cls`` has no field for: a misspelt seed key must not vanish."""
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        msg = f"unknown {kind} settings: {sorted(unknown)}"
        raise ValueError(msg)


def unique_ids(items: Iterable[Any], kind: str) -> None:
    """Refuse two items with one id."""
    ids = [item.id for item in items]
    if len(ids) != len(set(ids)):
        msg = f"two {kind} share an id"
        raise ValueError(msg)


def spec_problems(
    schema: str | Mapping[str, Any], value: object, *, where: str, many: bool = False
) -> list[str]:
    """Why ``value`` does not fit the spec's schema (by name, or a schema made from one)."""
    spec = load_spec()
    node: Any = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    if many:
        node = {"type": "array", "items": node}
    validator = OAS30Validator({**node, "components": spec["components"]})
    return sorted(
        f"{where}{''.join(f'[{p}]' if isinstance(p, int) else f'.{p}' for p in e.absolute_path)}: "
        f"{e.message}"
        for e in validator.iter_errors(value)
    )
