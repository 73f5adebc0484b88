"""What one entry of the operation table declares: the `Operation` type and the kinds of look-up.

An `Operation` names its builder, credential, placed and mapped fields, the per-stream settings
it reads and requires, how its stream's calls reach incident.io and what `--check` looks up for
it (`ID_CHECKS`; those of the run as a whole in `RUN_CHECKS`). Each checks at creation that the
settings it names are declared per stream. The table itself is `operations.OPERATIONS`.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_incidentio.payloads.fields import SDC_PREFIX
from target_incidentio.settings import STREAM_OVERRIDABLE
from target_incidentio.strategies import Prepare, Strategy, as_given

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from target_incidentio.payloads.base import PayloadBuilder
    from target_incidentio.settings import PerStreamSetting, StreamSettings


Credential = t.Literal["api_key", "alert_source_token"]
# Per-stream settings every operation reads.
COMMON_SETTINGS: tuple[PerStreamSetting, ...] = (
    "operation",
    "exclude_attributes",
    "request_headers",
    "rate_limit_per_minute",
)


def _no_mapped_fields(_settings: StreamSettings) -> Iterable[str]:
    return ()


def _send_as_built(_settings: StreamSettings) -> type[Strategy]:
    return Strategy


def _any_stream(_settings: StreamSettings, _stream: str, _key_properties: Sequence[str]) -> None:
    """Most operations take any stream."""


@dataclass(frozen=True)
class AlsoNeeds:
    """A per-stream setting that, when on, makes the stream need a second credential."""

    setting: PerStreamSetting
    credential: Credential
    # Why, for the error that says so.
    because: str


# What `--check` can look up before any data flows, and the settings each reads: an alert
# source by id, a catalog type by id or name, custom fields by id or name, roles by name.
IdCheck = t.Literal[
    "alert_source",
    "catalog_type",
    "custom_fields",
    "role_assignments",
    "incident_sync",
    "schedules",
]
ID_CHECKS: Mapping[IdCheck, tuple[PerStreamSetting, ...]] = {
    "alert_source": ("alert_source_config_id",),
    "catalog_type": ("catalog_type_id", "catalog_type", "catalog_manage_type"),
    "custom_fields": ("custom_fields",),
    "role_assignments": ("role_assignments",),
    "incident_sync": (
        "incident_mode",
        "incident_key_field",
        "incident_sync_fields",
        "close_missing_incidents",
    ),
    "schedules": ("override_schedules",),
}
# What `--check` looks up for the run as a whole (settings of no operation, read once per
# run, in `DeliverySettings`), and the settings each reads: the heartbeat source by id.
RunCheck = t.Literal["heartbeat"]
RUN_CHECKS: Mapping[RunCheck, tuple[str, ...]] = {
    "heartbeat": ("heartbeat_alert_source_config_id", "heartbeat_token"),
}


@dataclass(frozen=True)
class Operation:
    """One kind of write."""

    name: str
    build: PayloadBuilder
    credential: Credential
    # Record fields taken by name; None: every field is sent (alert metadata, an http body).
    places: frozenset[str] | None
    # Record fields the stream's settings map (custom fields, catalog attributes).
    maps: Callable[[StreamSettings], Iterable[str]] = _no_mapped_fields
    # Whether several records may share one call (`batch_size_rows`).
    batches: bool = False
    # Per-stream settings it reads besides COMMON_SETTINGS.
    reads: tuple[PerStreamSetting, ...] = ()
    # Settings it cannot do without, each with an example for the error that says so.
    requires: tuple[tuple[PerStreamSetting, str], ...] = ()
    # Credentials its settings may add to `credential`.
    also_needs: tuple[AlsoNeeds, ...] = ()
    # How a stream's calls reach incident.io, by its settings (see strategies/).
    strategy: Callable[[StreamSettings], type[Strategy]] = _send_as_built
    # What the stream's settings name that must be looked up (or made) before its first
    # record is built: a catalog type by name, its schema. Gives the settings the ids.
    prepare: Prepare = as_given
    # What a stream must be for it, checked at its SCHEMA (key properties for incident sync):
    # a `SettingError` before any record.
    check_stream: Callable[[StreamSettings, str, Sequence[str]], None] = _any_stream
    # Said after its name where the `operation` setting lists the operations.
    note: str = ""
    # The API key roles its calls need, as `GET /v1/identity` names them; None: they depend
    # on the endpoint. `--check` checks them; docs/production.md's table is generated from them.
    roles: tuple[str, ...] | None = ()
    # The scopes incident.io's spec names for its calls, for docs/production.md's table.
    scopes: str = ""
    # What `--check` looks up for it (`ID_CHECKS`), in that order; each reads its settings.
    checks: tuple[IdCheck, ...] = ()
    # The key under which incident.io's answer wraps what the call created or changed; its
    # `id` becomes the response record's `resource_id`. None: any operation's (`http`), or
    # none (an alert event's answer names its `deduplication_key`).
    answer: str | None = None

    def __post_init__(self) -> None:
        """A setting named here that the model does not declare per stream is a typo."""
        named = [
            *self.reads,
            *(name for name, _example in self.requires),
            *(rule.setting for rule in self.also_needs),
        ]
        unknown = [name for name in named if name not in STREAM_OVERRIDABLE]
        if unknown:
            msg = f"operation {self.name!r} names settings no stream has: {', '.join(unknown)}"
            raise ValueError(msg)
        unread = [
            name for check in self.checks for name in ID_CHECKS[check] if name not in self.reads
        ]
        if unread:
            msg = f"operation {self.name!r} checks settings it does not read: {', '.join(unread)}"
            raise ValueError(msg)

    def unplaced_fields(
        self,
        record: Mapping[str, t.Any],
        settings: StreamSettings,
        key_properties: Sequence[str] = (),
    ) -> set[str]:
        """Top-level record fields this operation would silently drop, for a warning.

        Not counted: fields taken by name, fields the settings map, key properties (they
        make the idempotency key or external id), fields `exclude_attributes` drops on
        purpose, and `_sdc_*` metadata.
        """
        if self.places is None:
            return set()
        used = {*self.places, *key_properties, *settings.exclude_attributes}
        used.update(self.maps(settings))
        return {name for name in record if name not in used and not name.startswith(SDC_PREFIX)}


_unknown_settings = [name for name in COMMON_SETTINGS if name not in STREAM_OVERRIDABLE]
if _unknown_settings:
    raise ValueError(f"COMMON_SETTINGS names settings no stream has: {_unknown_settings}")
