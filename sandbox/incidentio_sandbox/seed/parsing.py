"""Reading seed JSON: the spec's enumerations and the checks every seeded item shares."""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import TYPE_CHECKING, Any

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
