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
      "reject_catalog_names": [],
      "incidents": [{"name": "Made in the dashboard", "severity_id": "01SEV"}],
      "users": [{"id": "01U1", "name": "Ann", "email": "ann@example.com"}],
      "schedules": [{"id": "01S1", "name": "Primary", "rotations": [
          {"id": "01R1", "name": "Weekly", "user_ids": ["01U1"],
           "layers": [{"id": "01L1", "name": "Layer 1"}]}]}],
      "escalation_paths": [{"id": "01E1", "name": "Payments urgent", "user_ids": ["01U1"]}]
    }

Severities, ``incident_statuses``, ``incident_types`` and ``incident_roles`` (``{id, name}`` plus
their kind's own fields: a status's ``category``, a role's ``role_type``) default to what a new
incident.io account has; a seed file that names one of them replaces that list.
Enumerated values (roles, field types, source types) are checked against the shipped spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource
from incidentio_sandbox.seed.catalog import CatalogType
from incidentio_sandbox.seed.configuration import (
    DEFAULT_INCIDENT_ROLES,
    DEFAULT_INCIDENT_STATUSES,
    DEFAULT_INCIDENT_TYPES,
    DEFAULT_SEVERITIES,
    NAMED_LISTS,
    CustomField,
    Named,
)
from incidentio_sandbox.seed.incidents import DashboardIncident
from incidentio_sandbox.seed.oncall import EscalationPath, Schedule, User
from incidentio_sandbox.seed.parsing import (
    JSONObject,
    all_roles,
    check_choice,
    known_keys,
    unique_ids,
)


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
    # Incidents made in the dashboard (no idempotency key), put in at the start and each reset.
    incidents: tuple[DashboardIncident, ...] = ()
    # People: incident role assignees, override and escalation targets (`GET /v2/users`).
    users: tuple[User, ...] = ()
    # On-call schedules (rotations, layers) and escalation paths; overrides are the API's.
    schedules: tuple[Schedule, ...] = ()
    escalation_paths: tuple[EscalationPath, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "catalog_types",
            "alert_sources",
            "heartbeat_sources",
            "custom_fields",
            "incidents",
            "users",
            "schedules",
            "escalation_paths",
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
        unique_ids(self.catalog_types, "catalog types")
        unique_ids(self.custom_fields, "custom fields")
        unique_ids((i for i in self.incidents if i.id), "incidents")
        unique_ids(self.users, "users")
        unique_ids(self.schedules, "schedules")
        unique_ids(self.escalation_paths, "escalation paths")
        for name in NAMED_LISTS:
            unique_ids(getattr(self, name), name.replace("_", " "))
        unique_ids((*self.alert_sources, *self.heartbeat_sources), "alert or heartbeat sources")
        for roles in self.api_key_roles.values():
            for role in roles:
                check_choice(role, all_roles(), "role")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Seed:
        """Parse the seed JSON shape; ``ValueError`` on anything unknown or malformed."""
        if not isinstance(data, Mapping):
            msg = "a seed is a JSON object"
            raise TypeError(msg)
        known_keys(data, cls, "seed")
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
                incidents=tuple(DashboardIncident.from_json(i) for i in get("incidents", ())),
                users=tuple(User.from_json(u) for u in get("users", ())),
                schedules=tuple(Schedule.from_json(s) for s in get("schedules", ())),
                escalation_paths=tuple(
                    EscalationPath.from_json(p) for p in get("escalation_paths", ())
                ),
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
            "incidents": [i.to_json() for i in self.incidents],
            "users": [u.to_json() for u in self.users],
            "schedules": [s.to_json() for s in self.schedules],
            "escalation_paths": [p.to_json() for p in self.escalation_paths],
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
            replaced = {item.id for item in theirs if item.id}  # a seeded incident may have none
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
            incidents=merge(self.incidents, other.incidents),
            users=merge(self.users, other.users),
            schedules=merge(self.schedules, other.schedules),
            escalation_paths=merge(self.escalation_paths, other.escalation_paths),
        )


def _ids(items: Iterable[Any]) -> set[str]:
    return {item.id for item in items}


__all__ = ["Seed", "all_roles"]
