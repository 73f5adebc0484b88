"""Setting types: how a setting's value is typed, parsed, checked and read from the environment.

Each declaration in `settings/declarations.py` names one setting type; they live here, the
value parsers they share in `values.py` and the objects some parse into in `field_maps.py`,
so that the declarations read as a list of settings. (A custom field's `kind`, the
`custom_fields` setting's key, is another thing: `core/custom_fields.KINDS`.)
"""

from __future__ import annotations

import json
import os
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from singer_sdk import typing as th
from typing_extensions import override

from target_incidentio.core.custom_fields import KINDS
from target_incidentio.core.errors import SettingError
from target_incidentio.core.secrets import Secret
from target_incidentio.settings.field_maps import CustomFieldMap, RoleMap
from target_incidentio.settings.values import (
    RESERVED_HEADERS,
    check_url,
    header_value_problem,
    parse_headers,
    parse_list,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = t.TypeVar("T")
# What `th.Property` takes as a type: a helper class or an instance of one.
SchemaType: t.TypeAlias = "th.JSONTypeHelper[t.Any] | type[th.JSONTypeHelper[t.Any]]"

CUSTOM_FIELD_KINDS = tuple(KINDS)
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off", "")


# -- setting types: how a setting is typed, parsed, checked and read from the environment -------


class SettingType(t.Generic[T]):
    """How one type of setting becomes a typed value; `where` names the setting in errors."""

    secret: bool = False

    def schema(self) -> SchemaType:
        """The JSON-schema type shown by `--about`."""
        raise NotImplementedError

    def allowed_values(self) -> list[str] | None:
        """The values the schema enumerates, if it does."""
        return None

    def default(self, value: object) -> T:
        """The typed default of a declaration (declared defaults are valid by construction)."""
        return self.parse("", value)

    def parse(self, where: str, value: object) -> T:
        """The typed value; `None` means unset and gives the default."""
        raise NotImplementedError

    def from_env(self, where: str, text: str) -> object:  # noqa: ARG002 - types that parse use it
        """The value an environment variable holds, as a config file would hold it."""
        return text


def _text(where: str, value: object, kinds: tuple[type, ...]) -> str | None:
    """A text setting's value, None when unset (`None` or empty), else `str` of one of `kinds`.

    A value of another type (an object, a list, a boolean) is refused by its type alone: the
    value is never echoed, as it may be a secret.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise SettingError(where, f"must be text, got {type(value).__name__}.")
    return str(value)


class Text(SettingType[str | None]):
    """Free text; empty means unset."""

    def __init__(self, examples: Sequence[str] = ()) -> None:
        self.examples = list(examples)

    @override
    def schema(self) -> SchemaType:
        return th.StringType

    @override
    def parse(self, where: str, value: object) -> str | None:
        return _text(where, value, (str, int, float))


class OperationName(Text):
    """An operation's name; `operations.parse_settings` checks it against the operation table."""

    @override
    def parse(self, where: str, value: object) -> str | None:
        name = super().parse(where, value)
        return None if name is None else name.strip()


# Names of the process's own standard output, whatever file or pipe it is.
STDOUT_NAMES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def is_stdout(path: str) -> bool:
    """Whether `path` is this process's standard output: by name, or the same file or pipe."""
    if os.path.normpath(path) in STDOUT_NAMES:
        return True
    try:
        return os.path.samestat(Path(path).stat(), os.fstat(1))
    except (OSError, ValueError):
        return False


class OutputFile(Text):
    """A file the target appends to; never its stdout, where Meltano reads every line as STATE."""

    @override
    def parse(self, where: str, value: object) -> str | None:
        path = super().parse(where, value)
        if path is not None and is_stdout(path):
            raise SettingError(
                where,
                f"`{path}` is the target's standard output, which carries only STATE messages: "
                "Meltano stores every line of it as state, so these lines would corrupt it.",
                "name a file, e.g. `output/incidentio-responses.jsonl`, or leave it unset.",
            )
        return path


class SecretText(SettingType[Secret | None]):
    """A credential: wrapped so that only the wire ever sees it."""

    secret = True

    @override
    def schema(self) -> SchemaType:
        return th.StringType

    @override
    def parse(self, where: str, value: object) -> Secret | None:
        # A float is refused: its text need not be the digits the secret was written with.
        text = _text(where, value, (str, int))
        # Read from a file or a Kubernetes secret, a key often ends in a newline: whitespace
        # around it is never part of it. Inside, what no header value may hold is refused.
        text = None if text is None else text.strip()
        if not text:
            return None
        if bad := header_value_problem(text):
            raise SettingError(
                where,
                f"holds {bad}, which no HTTP header value may hold (the value is not shown).",
                "copy the secret again without it.",
            )
        return Secret(text)


class Url(SettingType[str | None]):
    """An absolute https:// URL (plain http only to this machine).

    An API root (`root=True`) loses a trailing slash, so that paths join onto it.
    """

    def __init__(self, *, root: bool = False) -> None:
        self.root = root

    @override
    def schema(self) -> SchemaType:
        return th.StringType

    @override
    def parse(self, where: str, value: object) -> str | None:
        if value is None or value == "":
            return None
        url = check_url(where, str(value), root=self.root)
        return url.rstrip("/") if self.root else url


class Choice(SettingType[str | None]):
    """One of a fixed list."""

    def __init__(
        self, choices: Sequence[str], normalise: Callable[[str], str] | None = None
    ) -> None:
        self.choices = tuple(choices)
        self.normalise = normalise

    @override
    def schema(self) -> SchemaType:
        return th.StringType

    @override
    def allowed_values(self) -> list[str] | None:
        return list(self.choices)

    @override
    def default(self, value: object) -> str | None:
        return None if value is None else str(value)

    @override
    def parse(self, where: str, value: object) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if self.normalise is not None:
            text = self.normalise(text)
        if text not in self.choices:
            raise SettingError(where, f"{value!r} is not one of {', '.join(self.choices)}.")
        return text


class Boolean(SettingType[bool | None]):
    """true or false."""

    @override
    def schema(self) -> SchemaType:
        return th.BooleanType

    @override
    def parse(self, where: str, value: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise SettingError(where, f"must be true or false, got {value!r}.")

    @override
    def from_env(self, where: str, text: str) -> object:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise SettingError(where, f"must be true or false, got {text!r}.")


class Headers(SettingType[Mapping[str, str]]):
    """HTTP headers: Nexla's `name:value,name2:value2` text, or an object."""

    def __init__(self, *, secret: bool = False, reserved: Mapping[str, str] | None = None) -> None:
        self.secret = secret
        # Headers the target sets itself, each with why (a webhook may set Authorization).
        self.reserved = RESERVED_HEADERS if reserved is None else reserved

    @override
    def schema(self) -> SchemaType:
        return th.CustomType({"type": ["string", "object", "null"]})

    @override
    def parse(self, where: str, value: object) -> Mapping[str, str]:
        return parse_headers(where, value, self.reserved)

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_json(where, text, "{") if text.lstrip().startswith("{") else text


class Names(SettingType[tuple[str, ...]]):
    """A list of names: comma-separated text or an array of strings."""

    @override
    def schema(self) -> SchemaType:
        return th.CustomType({"type": ["string", "array", "null"], "items": {"type": "string"}})

    @override
    def parse(self, where: str, value: object) -> tuple[str, ...]:
        return parse_list(where, value)

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_json(where, text, "[") if text.lstrip().startswith("[") else text


@dataclass(frozen=True)
class FieldTargets(SettingType[tuple[T, ...]]):
    """`[{field, <id_key> | <name_key>}]`: record fields filling what is named by id or name.

    The shape `custom_fields` and `role_assignments` share: each entry names the record field
    and the incident.io object it fills, by id or by name (resolved once, at the start of a
    run), plus the extra keys of `extras` (`kind`).
    """

    id_key: str
    name_key: str
    example: str
    make: Callable[[str, str | None, str | None, Mapping[str, str | None]], T]
    extras: Mapping[str, Sequence[str]] = dataclass_field(default_factory=dict)

    @override
    def schema(self) -> SchemaType:
        return th.ArrayType(
            th.ObjectType(
                th.Property("field", th.StringType, required=True),
                th.Property(self.id_key, th.StringType),
                th.Property(self.name_key, th.StringType),
                *(
                    th.Property(key, th.StringType, allowed_values=list(choices))
                    for key, choices in self.extras.items()
                ),
            )
        )

    @override
    def parse(self, where: str, value: object) -> tuple[T, ...]:
        if value in (None, ""):
            return ()
        shape = f"{{field, {self.id_key} or {self.name_key}}}"
        if not isinstance(value, list):
            raise SettingError(
                where, f"must be an array of {shape} objects.", f"e.g. {self.example}."
            )
        maps = []
        for index, item in enumerate(value):
            at = f"{where}[{index}]"
            named = [
                key
                for key in (self.id_key, self.name_key)
                if isinstance(item, dict) and item.get(key)
            ]
            if not isinstance(item, dict) or not item.get("field") or len(named) != 1:
                raise SettingError(
                    at,
                    f"needs `field` (the record field) and one of `{self.id_key}` (the id) or "
                    f"`{self.name_key}` (the name, looked up at the start of the run).",
                    f"e.g. {self.example}.",
                )
            extras = {
                key: Choice(tuple(choices)).parse(f"{at}.{key}", item.get(key))
                for key, choices in self.extras.items()
            }
            unknown = set(item) - {"field", self.id_key, self.name_key, *self.extras}
            if unknown:
                raise SettingError(
                    at, f"has unknown keys: {', '.join(sorted(unknown))}.", f"e.g. {self.example}."
                )
            ident, name = item.get(self.id_key), item.get(self.name_key)
            maps.append(
                self.make(
                    str(item["field"]),
                    None if ident is None else str(ident),
                    None if name is None else str(name),
                    extras,
                )
            )
        return tuple(maps)

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_json(where, text, "[")


def _custom_field_map(
    field: str, ident: str | None, name: str | None, extras: Mapping[str, str | None]
) -> CustomFieldMap:
    return CustomFieldMap(field, ident, extras.get("kind"), name)


def _role_map(
    field: str, ident: str | None, name: str | None, _extras: Mapping[str, str | None]
) -> RoleMap:
    return RoleMap(field, ident, name)


def custom_fields_type() -> FieldTargets[CustomFieldMap]:
    """`custom_fields`: record field → custom field (by id or name); `kind` from its type."""
    return FieldTargets(
        "custom_field_id",
        "custom_field",
        '{"field": "team", "custom_field": "Team"}',
        _custom_field_map,
        {"kind": CUSTOM_FIELD_KINDS},
    )


def role_assignments_type() -> FieldTargets[RoleMap]:
    """`role_assignments`: record field holding an e-mail → incident role (by id or name)."""
    return FieldTargets(
        "incident_role_id",
        "role",
        '{"field": "lead_email", "role": "Incident Lead"}',
        _role_map,
    )


@dataclass(frozen=True)
class AttributeMap(SettingType[Mapping[str, str]]):
    """Record field → a catalog attribute (its id or name), or another text per field."""

    values: str = "catalog attribute ids or names"
    example: str = '{"tier": "01HATTRIBUTE…", "owner_team": "Owner team"}'

    @override
    def schema(self) -> SchemaType:
        return th.ObjectType(additional_properties=th.StringType)

    @override
    def parse(self, where: str, value: object) -> Mapping[str, str]:
        if value in (None, ""):
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
            raise SettingError(
                where,
                f"must be an object mapping record fields to {self.values}.",
                f"e.g. {self.example}.",
            )
        return {str(k): v for k, v in value.items()}

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_json(where, text, "{")


# -- the environment ------------------------------------------------------------------------------


def _env_json(where: str, text: str, opening: str) -> object:
    shape = "an array" if opening == "[" else "an object"
    try:
        value = json.loads(text)
    except ValueError:
        # The text is not echoed: it may hold a token.
        raise SettingError(where, f"cannot be read as JSON ({shape} was expected).") from None
    return value
