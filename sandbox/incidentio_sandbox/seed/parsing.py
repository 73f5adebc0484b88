"""Reading seed JSON: the spec's enumerations and the checks every seeded item shares."""

from __future__ import annotations

import functools
from dataclasses import MISSING, Field, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from openapi_schema_validator import OAS30Validator

from incidentio_sandbox.validation import load_spec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from typing_extensions import Self

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


def items_of(read: Callable[[Any], Any]) -> Any:  # noqa: ANN401 - a dataclass field
    """A list field whose items ``read`` parses (``SeedItem`` reads other lists as text)."""
    return field(default=(), metadata={"items": read})


class SeedItem:
    """One item of the seed, read from its JSON and written back field by field.

    A field without a default is a required non-empty string. One with a default is read as
    that default says: text, a whole number, true or false, text or null (a ``None``
    default), text keyed by text (a ``dict`` factory), or a list (of text, or of what
    ``items_of`` names). A missing or null value leaves the default; an unknown key is
    refused. ``KIND`` names the item in errors.
    """

    KIND: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse one item of the seed."""
        known_keys(data, cls, cls.KIND)
        article = "an" if cls.KIND[0] in "aeio" else "a"  # "an alert source", "a user"
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.default is MISSING and item.default_factory is MISSING:
                values[item.name] = required(data, item.name, f"{article} {cls.KIND}")
            elif data.get(item.name) is not None:
                values[item.name] = _read(item, data[item.name])
        return cls(**values)

    def to_json(self) -> JSONObject:
        """The seed shape: what ``from_json`` reads back to this item."""
        return {item.name: _plain(getattr(self, item.name)) for item in fields(self)}


def _read(item: Field[Any], value: Any) -> Any:  # noqa: ANN401 - as the seed holds it
    default = item.default
    if "items" in item.metadata or isinstance(default, tuple):
        read = item.metadata.get("items", str)
        return tuple(read(one) for one in value)
    if item.default_factory is dict:
        return {str(key): str(one) for key, one in value.items()}
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, int):
        return int(value)
    return str(value)


def _plain(value: object) -> object:
    if isinstance(value, SeedItem):
        return value.to_json()
    if isinstance(value, tuple):
        return [_plain(one) for one in value]
    if isinstance(value, dict):
        return {key: _plain(one) for key, one in value.items()}
    return value
