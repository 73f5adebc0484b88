"""What turns names into ids: severities, statuses, types, roles, custom fields and options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.parsing import (
    JSONObject,
    SeedItem,
    check_choice,
    field_types,
    items_of,
    required,
    unique_ids,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SELECT_TYPES = frozenset({"single_select", "multi_select"})


@dataclass(frozen=True)
class FieldOption(SeedItem):
    """One option of a select custom field."""

    KIND = "custom field option"

    id: str
    value: str


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
            required(data, "id", "a named item"), required(data, "name", "a named item"), rest
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


@dataclass(frozen=True)
class CustomField(SeedItem):
    """A custom field (``CustomFieldV2``)."""

    KIND = "custom field"

    id: str
    name: str
    field_type: str = "text"
    description: str = ""
    catalog_type_id: str | None = None
    # A select field's options (``CustomFieldOptionV1``): id and value, in sort order.
    options: tuple[FieldOption, ...] = items_of(FieldOption.from_json)

    def __post_init__(self) -> None:
        check_choice(self.field_type, field_types(), "custom field type")
        object.__setattr__(self, "options", tuple(self.options))
        if self.options and self.field_type not in SELECT_TYPES:
            msg = (
                f"custom field {self.id!r} is a {self.field_type} field: only selects have options"
            )
            raise ValueError(msg)
        unique_ids(self.options, f"options of custom field {self.id!r}")
