"""What an incident.io account holds before the first request: the sandbox's seed data.

Catalog types, alert sources (HTTP, heartbeat or any other type), custom fields and the
roles of each API key are configured, not created through the API, in the real product
too. One ``Seed`` carries them all so the CLI (``--seed-file``), the Python API
(``Sandbox(seed=...)``) and ``POST /_sandbox/seed`` read the same JSON shape:

.. code-block:: json

    {
      "catalog_types": [{"id": "01T", "name": "Service",
                         "attributes": [{"id": "01A", "name": "tier", "type": "String"}]}],
      "alert_sources": [{"id": "01S", "name": "Datadog", "source_type": "datadog"}],
      "heartbeat_sources": [{"id": "01H", "name": "Nightly job", "token": "hb-token"}],
      "custom_fields": [{"id": "01F", "name": "Team", "field_type": "single_select",
                         "options": [{"id": "01O", "value": "Payments"}]}],
      "severities": [{"id": "01SEV", "name": "Critical", "rank": 3}],
      "api_key_roles": {"sandbox-api-key": ["viewer", "catalog_viewer"]},
      "reject_catalog_external_ids": ["poison"],
      "reject_catalog_names": []
    }

Severities, ``incident_statuses``, ``incident_types`` and ``incident_roles`` (``{id, name}`` plus
their kind's own fields: a status's ``category``, a role's ``role_type``) default to what a new
incident.io account has; a seed file that names one of them replaces that list.
Enumerated values (roles, field types, source types) are checked against the shipped spec.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from incidentio_sandbox.validation import load_spec

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


ATTRIBUTE_MODES = ("", "api", "dashboard", "external", "internal", "dynamic", "backlink", "path")
# Source types whose events arrive at /v2/alert_events/http/{id}.
HTTP_SOURCE_TYPES = frozenset({"http", "http_custom"})


def _check(value: str, allowed: Iterable[str], what: str) -> None:
    choices = tuple(allowed)
    if value not in choices:
        msg = f"unknown {what} {value!r}; expected one of: {', '.join(choices)}"
        raise ValueError(msg)


def _required(data: Mapping[str, Any], name: str, kind: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        msg = f"{kind} needs a non-empty string {name!r}"
        raise ValueError(msg)
    return value


def _known(data: Mapping[str, Any], cls: type, kind: str) -> None:
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        msg = f"unknown {kind} settings: {sorted(unknown)}"
        raise ValueError(msg)


@dataclass(frozen=True)
class CatalogAttribute:
    """One attribute of a catalog type's schema (``CatalogTypeAttributeV3``)."""

    id: str
    name: str
    type: str = "String"
    array: bool = False
    mode: str = ""

    def __post_init__(self) -> None:
        _check(self.mode, ATTRIBUTE_MODES, "attribute mode")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogAttribute:
        """Parse one attribute; ``id`` and ``name`` are required."""
        _known(data, cls, "catalog attribute")
        return cls(
            id=_required(data, "id", "a catalog attribute"),
            name=_required(data, "name", "a catalog attribute"),
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
        _known(data, cls, "catalog type")
        return cls(
            id=_required(data, "id", "a catalog type"),
            name=_required(data, "name", "a catalog type"),
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


@dataclass(frozen=True)
class AlertSource:
    """An alert source; HTTP ones take events with ``token``, others exist to be looked up."""

    id: str
    name: str = ""
    source_type: str = "http"
    token: str | None = None

    def __post_init__(self) -> None:
        _check(self.source_type, source_types(), "alert source type")
        if self.source_type == "heartbeat":
            msg = "configure heartbeat sources as heartbeat_sources, which carry ping settings"
            raise ValueError(msg)
        if self.source_type in HTTP_SOURCE_TYPES and not self.token:
            msg = f"HTTP alert source {self.id!r} needs a token"
            raise ValueError(msg)
        if not self.name:
            object.__setattr__(self, "name", f"Sandbox {self.source_type} source {self.id}")

    @property
    def accepts_http_events(self) -> bool:
        """Whether ``POST /v2/alert_events/http/{id}`` reaches this source."""
        return self.source_type in HTTP_SOURCE_TYPES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertSource:
        """Parse a source; ``id`` is required, HTTP sources also need ``token``."""
        _known(data, cls, "alert source")
        token = data.get("token")
        return cls(
            id=_required(data, "id", "an alert source"),
            name=str(data.get("name", "")),
            source_type=str(data.get("source_type", "http")),
            token=None if token is None else str(token),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "source_type": self.source_type,
            "token": self.token,
        }


@dataclass(frozen=True)
class HeartbeatSource:
    """A heartbeat alert source: pinged at ``/v2/heartbeat/{id}/ping`` with its token."""

    id: str
    token: str
    name: str = ""
    interval_seconds: int = 60
    grace_period_seconds: int = 0
    failure_threshold: int = 1

    def __post_init__(self) -> None:
        if not self.token:
            msg = f"heartbeat source {self.id!r} needs a token"
            raise ValueError(msg)
        if not self.name:
            object.__setattr__(self, "name", f"Sandbox heartbeat {self.id}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeartbeatSource:
        """Parse a heartbeat source; ``id`` and ``token`` are required."""
        _known(data, cls, "heartbeat source")
        return cls(
            id=_required(data, "id", "a heartbeat source"),
            token=_required(data, "token", "a heartbeat source"),
            name=str(data.get("name", "")),
            interval_seconds=int(data.get("interval_seconds", 60)),
            grace_period_seconds=int(data.get("grace_period_seconds", 0)),
            failure_threshold=int(data.get("failure_threshold", 1)),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "token": self.token,
            "name": self.name,
            "interval_seconds": self.interval_seconds,
            "grace_period_seconds": self.grace_period_seconds,
            "failure_threshold": self.failure_threshold,
        }


# -- what turns names into ids: severities, statuses, types, roles, select options --------------
SELECT_TYPES = frozenset({"single_select", "multi_select"})


@dataclass(frozen=True)
class FieldOption:
    """One option of a select custom field."""

    id: str
    value: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldOption:
        """Parse an option; ``id`` and ``value`` are required."""
        _known(data, cls, "custom field option")
        return cls(_required(data, "id", "an option"), _required(data, "value", "an option"))


@dataclass(frozen=True)
class Named:
    """A severity, incident status, incident type or incident role: an id with a name.

    ``extra`` holds the fields one kind adds (a status's ``category``, a role's
    ``role_type``); the views fill what a kind requires and the seed leaves out.
    """

    id: str
    name: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Named:
        """Parse one; ``id`` and ``name`` are required, anything else is the kind's own."""
        rest = {k: v for k, v in data.items() if k not in ("id", "name")}
        return cls(
            _required(data, "id", "a named item"), _required(data, "name", "a named item"), rest
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {"id": self.id, "name": self.name, **self.extra}


def _named(items: Iterable[tuple[str, str, dict[str, Any]]]) -> tuple[Named, ...]:
    return tuple(Named(item_id, name, extra) for item_id, name, extra in items)


# What every incident.io account starts with (incident.io's own defaults).
DEFAULT_SEVERITIES = _named(
    [
        ("01SANDBOXSEVERITYMINOR0000", "Minor", {"rank": 1}),
        ("01SANDBOXSEVERITYMAJOR0000", "Major", {"rank": 2}),
        ("01SANDBOXSEVERITYCRITICAL0", "Critical", {"rank": 3}),
    ]
)
DEFAULT_INCIDENT_STATUSES = _named(
    [
        ("01SANDBOXSTATUSTRIAGE00000", "Triage", {"category": "triage", "rank": 1}),
        ("01SANDBOXSTATUSINVESTIGATE", "Investigating", {"category": "live", "rank": 2}),
        ("01SANDBOXSTATUSFIXING00000", "Fixing", {"category": "live", "rank": 3}),
        ("01SANDBOXSTATUSMONITORING0", "Monitoring", {"category": "live", "rank": 4}),
        ("01SANDBOXSTATUSDOCUMENTING", "Documenting", {"category": "learning", "rank": 5}),
        ("01SANDBOXSTATUSCLOSED00000", "Closed", {"category": "closed", "rank": 6}),
    ]
)
DEFAULT_INCIDENT_TYPES = _named([("01SANDBOXINCIDENTTYPEDEFLT", "Default", {"is_default": True})])
DEFAULT_INCIDENT_ROLES = _named(
    [
        ("01SANDBOXROLEINCIDENTLEAD0", "Incident Lead", {"role_type": "lead", "shortform": "lead"}),
        (
            "01SANDBOXROLEREPORTER00000",
            "Reporter",
            {"role_type": "reporter", "shortform": "reporter"},
        ),
        ("01SANDBOXROLECOMMSLEAD0000", "Comms Lead", {"role_type": "custom", "shortform": "comms"}),
    ]
)
# Seed keys whose items are `Named`, with the account's defaults.
NAMED_LISTS: Mapping[str, tuple[Named, ...]] = {
    "severities": DEFAULT_SEVERITIES,
    "incident_statuses": DEFAULT_INCIDENT_STATUSES,
    "incident_types": DEFAULT_INCIDENT_TYPES,
    "incident_roles": DEFAULT_INCIDENT_ROLES,
}
# -- end of the names block -----------------------------------------------------------------


@dataclass(frozen=True)
class CustomField:
    """A custom field (``CustomFieldV2``)."""

    id: str
    name: str
    field_type: str = "text"
    description: str = ""
    catalog_type_id: str | None = None
    # A select field's options (``CustomFieldOptionV1``): id and value, in sort order.
    options: tuple[FieldOption, ...] = ()

    def __post_init__(self) -> None:
        _check(self.field_type, field_types(), "custom field type")
        object.__setattr__(self, "options", tuple(self.options))
        if self.options and self.field_type not in SELECT_TYPES:
            msg = (
                f"custom field {self.id!r} is a {self.field_type} field: only selects have options"
            )
            raise ValueError(msg)
        _by_id(self.options, f"options of custom field {self.id!r}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomField:
        """Parse a custom field; ``id`` and ``name`` are required."""
        _known(data, cls, "custom field")
        type_id = data.get("catalog_type_id")
        return cls(
            id=_required(data, "id", "a custom field"),
            name=_required(data, "name", "a custom field"),
            field_type=str(data.get("field_type", "text")),
            description=str(data.get("description", "")),
            catalog_type_id=None if type_id is None else str(type_id),
            options=tuple(FieldOption.from_json(o) for o in data.get("options", ())),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "field_type": self.field_type,
            "description": self.description,
            "catalog_type_id": self.catalog_type_id,
            "options": [{"id": o.id, "value": o.value} for o in self.options],
        }


def _by_id(items: Iterable[Any], kind: str) -> None:
    ids = [item.id for item in items]
    if len(ids) != len(set(ids)):
        msg = f"two {kind} share an id"
        raise ValueError(msg)


@dataclass(frozen=True)
class Seed:
    """Everything configured in the account; empty by default (any catalog type accepted)."""

    catalog_types: tuple[CatalogType, ...] = ()
    alert_sources: tuple[AlertSource, ...] = ()
    heartbeat_sources: tuple[HeartbeatSource, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    severities: tuple[Named, ...] = DEFAULT_SEVERITIES
    incident_statuses: tuple[Named, ...] = DEFAULT_INCIDENT_STATUSES
    incident_types: tuple[Named, ...] = DEFAULT_INCIDENT_TYPES
    incident_roles: tuple[Named, ...] = DEFAULT_INCIDENT_ROLES
    # API key -> its roles; keys not named here have every role.
    api_key_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Catalog entries with these external ids or names are refused with a 422 naming the
    # field, by upsert and (atomically) by bulk_update: a bad entry inside a batch, on purpose.
    reject_catalog_external_ids: frozenset[str] = frozenset()
    reject_catalog_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in (
            "catalog_types",
            "alert_sources",
            "heartbeat_sources",
            "custom_fields",
            *NAMED_LISTS,
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(
            self,
            "api_key_roles",
            {key: tuple(roles) for key, roles in self.api_key_roles.items()},
        )
        object.__setattr__(
            self, "reject_catalog_external_ids", frozenset(self.reject_catalog_external_ids)
        )
        object.__setattr__(self, "reject_catalog_names", frozenset(self.reject_catalog_names))
        _by_id(self.catalog_types, "catalog types")
        _by_id(self.custom_fields, "custom fields")
        for name in NAMED_LISTS:
            _by_id(getattr(self, name), name.replace("_", " "))
        _by_id((*self.alert_sources, *self.heartbeat_sources), "alert or heartbeat sources")
        for roles in self.api_key_roles.values():
            for role in roles:
                _check(role, all_roles(), "role")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Seed:
        """Parse the seed JSON shape; ``ValueError`` on anything unknown or malformed."""
        if not isinstance(data, Mapping):
            msg = "a seed is a JSON object"
            raise TypeError(msg)
        _known(data, cls, "seed")
        try:
            roles = {str(k): tuple(map(str, v)) for k, v in data.get("api_key_roles", {}).items()}
            get = data.get
            return cls(
                catalog_types=tuple(CatalogType.from_json(t) for t in get("catalog_types", ())),
                alert_sources=tuple(AlertSource.from_json(s) for s in get("alert_sources", ())),
                heartbeat_sources=tuple(
                    HeartbeatSource.from_json(s) for s in get("heartbeat_sources", ())
                ),
                custom_fields=tuple(CustomField.from_json(f) for f in get("custom_fields", ())),
                **{
                    name: tuple(Named.from_json(item) for item in get(name, ()))
                    if name in data
                    else default
                    for name, default in NAMED_LISTS.items()
                },
                api_key_roles=roles,
                reject_catalog_external_ids=frozenset(data.get("reject_catalog_external_ids", ())),
                reject_catalog_names=frozenset(data.get("reject_catalog_names", ())),
            )
        except (AttributeError, TypeError) as problem:
            msg = f"malformed seed: {problem}"
            raise ValueError(msg) from problem

    def to_json(self) -> JSONObject:
        """The JSON shape ``from_json`` reads."""
        return {
            "catalog_types": [t.to_json() for t in self.catalog_types],
            "alert_sources": [s.to_json() for s in self.alert_sources],
            "heartbeat_sources": [s.to_json() for s in self.heartbeat_sources],
            "custom_fields": [f.to_json() for f in self.custom_fields],
            **{name: [item.to_json() for item in getattr(self, name)] for name in NAMED_LISTS},
            "api_key_roles": {key: list(roles) for key, roles in self.api_key_roles.items()},
            "reject_catalog_external_ids": sorted(self.reject_catalog_external_ids),
            "reject_catalog_names": sorted(self.reject_catalog_names),
        }

    def source(self, source_id: str) -> AlertSource | HeartbeatSource | None:
        """The alert or heartbeat source with this id (its config id is its id)."""
        for source in self.alert_sources:
            if source.id == source_id:
                return source
        for heartbeat in self.heartbeat_sources:
            if heartbeat.id == source_id:
                return heartbeat
        return None

    def roles(self, api_key: str) -> tuple[str, ...]:
        """The key's configured roles, or every role."""
        return self.api_key_roles.get(api_key, all_roles())

    def merged(self, other: Seed) -> Seed:
        """This seed with ``other``'s items added, replacing those with the same id or key."""

        def merge(mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[Any, ...]:
            replaced = {item.id for item in theirs}
            return (*(item for item in mine if item.id not in replaced), *theirs)

        return replace(
            self,
            catalog_types=merge(self.catalog_types, other.catalog_types),
            alert_sources=merge(
                tuple(s for s in self.alert_sources if s.id not in _ids(other.heartbeat_sources)),
                other.alert_sources,
            ),
            heartbeat_sources=merge(
                tuple(s for s in self.heartbeat_sources if s.id not in _ids(other.alert_sources)),
                other.heartbeat_sources,
            ),
            custom_fields=merge(self.custom_fields, other.custom_fields),
            # A seed that names its own list replaces the list, as it does at the start.
            **{
                name: getattr(self, name)
                if getattr(other, name) == default
                else getattr(other, name)
                for name, default in NAMED_LISTS.items()
            },
            api_key_roles={**self.api_key_roles, **other.api_key_roles},
            reject_catalog_external_ids=self.reject_catalog_external_ids
            | other.reject_catalog_external_ids,
            reject_catalog_names=self.reject_catalog_names | other.reject_catalog_names,
        )


def _ids(items: Iterable[Any]) -> set[str]:
    return {item.id for item in items}
