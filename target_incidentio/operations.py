"""The operation table: each kind of write declared once, and what is derived from it.

An entry names the operation, its payload builder, the credential its calls carry, the record
fields it takes by name, the fields its settings map, whether it batches records, and the
per-stream settings it reads. The `operation` setting's allowed values, the sink chosen, the
credential check, the "setting does nothing here" checks, the unplaced-field warning, the
roles `--check` asks for, the key of the answer's resource and docs/production.md's credentials
table all come from this table. Every setting an entry names is checked at import against
the declared per-stream settings. An entry's type, `Operation`, and the kinds of look-up
`--check` makes are declared in `operation_entry.py`. docs/architecture.md walks through
adding an operation.
"""

from __future__ import annotations

import logging
import typing as t

from target_incidentio.catalog.entries import CATALOG_FIELDS, build_catalog_entry
from target_incidentio.catalog.sync import CatalogMerge, CatalogSync
from target_incidentio.catalog.type_setup import prepare_catalog_type
from target_incidentio.core.errors import SettingError
from target_incidentio.incidents.keys import require_key_properties
from target_incidentio.incidents.setup import prepare_incident_sync
from target_incidentio.incidents.sync import IncidentCreate, IncidentSyncStrategy
from target_incidentio.operation_entry import COMMON_SETTINGS, AlsoNeeds, Operation
from target_incidentio.payloads.alerts import build_alert_event
from target_incidentio.payloads.common import top_level
from target_incidentio.payloads.escalations import (
    ESCALATION_FIELDS,
    ESCALATION_NAME_FIELDS,
    build_escalation,
)
from target_incidentio.payloads.fields import constant_fields
from target_incidentio.payloads.http import build_http
from target_incidentio.payloads.incidents import (
    INCIDENT_EDIT_FIELDS,
    INCIDENT_EDIT_NAME_FIELDS,
    INCIDENT_FIELDS,
    INCIDENT_ID_FIELDS,
    INCIDENT_NAME_FIELDS,
    INCIDENT_UPDATE_FIELDS,
    NOTIFY_FIELD,
    UPDATE_NAME_FIELDS,
    build_incident,
    build_incident_edit,
    build_incident_update,
)
from target_incidentio.payloads.overrides import OVERRIDE_FIELDS, build_schedule_override
from target_incidentio.payloads.timeline import (
    TIMELINE_ITEM_FIELDS,
    build_incident_timeline_item,
)
from target_incidentio.settings.parse import parse_values
from target_incidentio.settings.schema import config_schema as declared_schema
from target_incidentio.settings.setting_types import Choice
from target_incidentio.strategies import Strategy
from target_incidentio.strategies.alerts import AlertSnapshot
from target_incidentio.strategies.overrides import OverrideSync

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_incidentio.operation_entry import Credential
    from target_incidentio.settings import Settings, StreamSettings

LOG = logging.getLogger("target-incidentio")


def _alert_strategy(settings: StreamSettings) -> type[Strategy]:
    """`resolve_missing_alerts`: the stream is a snapshot of what is firing now."""
    return AlertSnapshot if settings.resolve_missing_alerts else Strategy


def _catalog_strategy(settings: StreamSettings) -> type[Strategy]:
    """`catalog_mode`: `upsert` sends as built; `merge` and `sync` list and compare first."""
    return {"merge": CatalogMerge, "sync": CatalogSync}.get(settings.catalog_mode, Strategy)


def _override_strategy(_settings: StreamSettings) -> type[Strategy]:
    """Both modes list the schedules' overrides first: a row with a match needs no call."""
    return OverrideSync


def _incident_strategy(settings: StreamSettings) -> type[Strategy]:
    """`incident_mode`: `create` sends as built; `sync` lists, then creates, edits or skips."""
    return IncidentSyncStrategy if settings.incident_mode == "sync" else IncidentCreate


def _incident_stream(settings: StreamSettings, stream: str, key_properties: Sequence[str]) -> None:
    """`incident_mode: sync` needs key properties: refused at the stream's SCHEMA."""
    if settings.incident_mode == "sync":
        require_key_properties(stream, key_properties)


def _incident_sources(settings: StreamSettings) -> Iterable[str]:
    """The record fields `custom_fields` and `role_assignments` map."""
    fields = [entry.field for entry in settings.custom_fields]
    fields += [entry.field for entry in settings.role_assignments]
    return top_level(fields)


def _catalog_attribute_sources(settings: StreamSettings) -> Iterable[str]:
    return top_level(settings.catalog_attributes)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "alert_event",
            build_alert_event,
            "alert_source_token",
            places=None,
            scopes="none: the alert source's token authenticates the event",
            reads=(
                "alert_source_config_id",
                "alert_source_token",
                "resolve_missing_alerts",
                "alert_max_resolve_fraction",
                "snapshot_complete",
            ),
            also_needs=(
                AlsoNeeds(
                    "resolve_missing_alerts",
                    "api_key",
                    "lists the alert source's firing alerts (`GET /v2/alerts`)",
                ),
            ),
            strategy=_alert_strategy,
            checks=("alert_source",),
        ),
        Operation(
            "incident",
            build_incident,
            "api_key",
            places=frozenset({*INCIDENT_FIELDS, *INCIDENT_NAME_FIELDS}),
            maps=_incident_sources,
            reads=(
                "incident_visibility",
                "custom_fields",
                "create_missing_options",
                "role_assignments",
                "incident_mode",
                "incident_key_field",
                "incident_sync_fields",
                "close_missing_incidents",
                "incident_max_close_fraction",
                "snapshot_complete",
                "notify_incident_channel",
            ),
            strategy=_incident_strategy,
            prepare=prepare_incident_sync,
            check_stream=_incident_stream,
            checks=("custom_fields", "role_assignments", "incident_sync"),
            roles=("incident_creator",),
            scopes="`incidents.create`; `incident_mode: sync` also lists (`incidents.view`) and "
            "edits (`incidents.update_name`, `update_summary` and the `update_*` scope of each "
            "field in `incident_sync_fields`, `update_status` to close)",
            answer="incident",
        ),
        Operation(
            "incident_edit",
            build_incident_edit,
            "api_key",
            places=frozenset(
                {
                    *INCIDENT_EDIT_FIELDS,
                    *INCIDENT_EDIT_NAME_FIELDS,
                    *INCIDENT_ID_FIELDS,
                    NOTIFY_FIELD,
                }
            ),
            maps=_incident_sources,
            reads=(
                "custom_fields",
                "create_missing_options",
                "role_assignments",
                "notify_incident_channel",
            ),
            roles=("viewer", "incident_editor"),
            scopes="`incidents.view` and the `incidents.update_*` scope of each field it changes "
            "(`update_name`, `update_summary`, `update_severity`, `update_status`, "
            "`update_custom_fields`, `update_timestamps`, `update_role_assignments`)",
            checks=("custom_fields", "role_assignments"),
            answer="incident",
        ),
        Operation(
            "incident_update",
            build_incident_update,
            "api_key",
            places=frozenset({*INCIDENT_UPDATE_FIELDS, *UPDATE_NAME_FIELDS}),
            roles=("incident_editor",),
            scopes="`incident_updates.create` (plus permission to change status or severity "
            "if the update does)",
            answer="incident_update",
        ),
        Operation(
            "incident_timeline_item",
            build_incident_timeline_item,
            "api_key",
            places=frozenset(TIMELINE_ITEM_FIELDS),
            roles=("incident_editor",),
            scopes="`timeline_items.create`",
            answer="incident_timeline_item",
        ),
        Operation(
            "catalog_entry",
            build_catalog_entry,
            "api_key",
            places=frozenset(CATALOG_FIELDS),
            maps=_catalog_attribute_sources,
            reads=(
                "catalog_type_id",
                "catalog_type",
                "catalog_manage_type",
                "catalog_attributes",
                "catalog_references",
                "catalog_mode",
                "catalog_max_delete_fraction",
                "snapshot_complete",
            ),
            roles=("catalog_editor",),
            scopes="`catalog_entries.create` (the same call updates the entry with the same "
            "`external_id`); `merge` and `sync` also list (`catalog_entries.view`) and update "
            "in bulk (`catalog_entries.edit`), `sync` deletes (`catalog_entries.destroy`); "
            "`catalog_type` lists types (`catalog_types.view`), `catalog_manage_type` creates "
            "and grows them (`catalog_types.create`, `catalog_types.edit`)",
            strategy=_catalog_strategy,
            prepare=prepare_catalog_type,
            checks=("catalog_type",),
            answer="catalog_entry",
        ),
        Operation(
            "escalation",
            build_escalation,
            "api_key",
            places=frozenset({*ESCALATION_FIELDS, *ESCALATION_NAME_FIELDS}),
            roles=("viewer", "on_call_viewer", "escalation_creator"),
            scopes="`escalations.create`; an `escalation_path` by name lists the paths "
            "(`escalation_paths.view`), `users` by e-mail list the users (`users.view`)",
            answer="escalation",
        ),
        Operation(
            "schedule_override",
            build_schedule_override,
            "api_key",
            places=OVERRIDE_FIELDS,
            reads=(
                "override_mode",
                "override_schedules",
                "override_max_delete_fraction",
                "snapshot_complete",
            ),
            strategy=_override_strategy,
            roles=("viewer", "schedules_reader", "schedule_overrides_editor"),
            scopes="`schedules.view` (schedules with their rotations and layers, and their "
            "overrides), `users.view` (users by e-mail), `schedule_overrides.create`; "
            "`override_mode: sync` also `schedule_overrides.destroy`",
            checks=("schedules",),
            answer="override",
        ),
        Operation(
            "http",
            build_http,
            "api_key",
            places=None,
            batches=True,
            reads=("method", "api_url", "batch_size_rows", "batch_wrapper_key"),
            requires=(("api_url", "`/v2/incident_timeline_items`"),),
            note=" (any endpoint, see `api_url`)",
            roles=None,
            scopes="those of the endpoint called",
        ),
    )
}


# Every key an answer may wrap its object under, for a call whose operation names none.
ANSWER_KEYS = tuple(dict.fromkeys(op.answer for op in OPERATIONS.values() if op.answer))


def answer_keys(operation: Operation) -> tuple[str, ...]:
    """Where to find the id of what a call of `operation` created or changed."""
    return (operation.answer,) if operation.answer else ANSWER_KEYS


def config_schema() -> dict[str, t.Any]:
    """The settings schema `--about` shows: the declared settings, with this table's operations."""
    schema = declared_schema()
    top = schema["properties"]
    default = top["operation"]["default"]
    names = [
        f"`{op.name}`{' (default)' if op.name == default else ''}{op.note}"
        for op in OPERATIONS.values()
    ]
    listed = f"{', '.join(names[:-1])}, or {names[-1]}"
    for where in (top, top["streams"]["additionalProperties"]["properties"]):
        where["operation"]["description"] = where["operation"]["description"].format(
            operations=listed
        )
        where["operation"]["enum"] = list(OPERATIONS)
    return schema


def parse_settings(config: Mapping[str, t.Any]) -> Settings:
    """The one way to parse a config: the settings model, then the operation table's checks."""
    settings = parse_values(config)
    dry_run = settings.delivery.dry_run
    choice = Choice(tuple(OPERATIONS))
    for where, resolved in settings.levels():
        if where == "" or "operation" in settings.explicit.get(where, frozenset()):
            choice.parse(f"{where}operation", resolved.operation)
        operation = OPERATIONS[resolved.operation]
        for name, example in operation.requires:
            if getattr(resolved, name) is None:
                raise SettingError(
                    f"{where}{name}",
                    f"the `{operation.name}` operation needs an endpoint to send to.",
                    f"set `{name}`, e.g. {example}.",
                )
        _check_batching(operation, resolved, where, settings.explicit.get(where, frozenset()))
        _check_sync_mode(operation, resolved, where, settings.explicit.get(where, frozenset()))
        if not dry_run:
            check_credential(operation, resolved, where)
    _check_closing_streams(settings, config.get("stream_maps"))
    _warn_unread(settings)
    return settings


def _check_closing_streams(settings: Settings, stream_maps: object) -> None:
    """Two sync streams closing on one key field would each close the other's incidents.

    Each lists every incident holding a key in that field, so the other stream's keys are
    missing from its snapshot. Refused unless both fix different incident types with a
    stream map (`incident_type_id` set to a literal id), which narrows each one's listing.
    """
    closing: list[tuple[str, str, str | None]] = []
    for where, level in settings.levels():
        if not where or level.operation != "incident" or level.incident_mode != "sync":
            continue
        if level.close_missing_incidents is None or level.incident_key_field is None:
            continue
        stream = where.removeprefix("streams.").removesuffix(".")
        fixed = constant_fields(stream_maps, stream).get("incident_type_id")
        field = level.incident_key_field
        for other, other_field, other_fixed in closing:
            apart = fixed is not None and other_fixed is not None and fixed != other_fixed
            if other_field.casefold() == field.casefold() and not apart:
                raise SettingError(
                    f"{where}close_missing_incidents",
                    f"streams '{other}' and '{stream}' both sync incidents on the key field "
                    f"'{field}' and close those missing from their snapshot, so each would "
                    "close the other's incidents.",
                    "give each stream its own `incident_key_field`, set "
                    "`close_missing_incidents` on one of them only, or fix a different "
                    "incident type for each with a stream map (e.g. "
                    f'`{{"{stream}": {{"incident_type_id": "\'<id>\'"}}}}`), which also '
                    "narrows each one's listing to its type.",
                )
        closing.append((stream, field, fixed))


def _check_batching(
    operation: Operation, settings: StreamSettings, where: str, explicit: frozenset[str]
) -> None:
    """`batch_size_rows` > 1 set for an operation that sends one record per call does nothing."""
    if settings.batch_size_rows > 1 and not operation.batches and "batch_size_rows" in explicit:
        raise SettingError(
            f"{where}batch_size_rows",
            f"the `{operation.name}` operation sends one record per call (incident.io's "
            "endpoint takes one), so a batch size does nothing.",
            "remove it, or set it only for `http` streams under `streams.<name>`.",
        )


def _check_sync_mode(
    operation: Operation, settings: StreamSettings, where: str, explicit: frozenset[str]
) -> None:
    """`incident_mode: sync` keeps incidents in step; no other operation has a sync of them.

    Refused where it is set beside another operation; set at the top level alone it is for
    the incident streams under `streams` (and warned about if no stream reads it).
    """
    if (
        settings.incident_mode == "sync"
        and "incident_mode" not in operation.reads
        and "incident_mode" in explicit
        and (where or "operation" in explicit)
    ):
        raise SettingError(
            f"{where}incident_mode",
            f"is `sync`, which only the `incident` operation has; this is `{operation.name}`.",
            "set `operation: incident` for the stream, or remove `incident_mode`.",
        )


def check_credential(operation: Operation, settings: StreamSettings, where: str) -> None:
    """Each operation needs its own credential, and a setting may add one; refuse early."""
    set_by = f" (set by `{where.rstrip('.')}`)" if where else ""
    _require(operation.credential, f"the `{operation.name}` operation", set_by, settings, where)
    for rule in operation.also_needs:
        if getattr(settings, rule.setting):
            needed_by = f"`{where}{rule.setting}` {rule.because}, and"
            _require(rule.credential, needed_by, "", settings, where)


def _require(
    credential: Credential, needed_by: str, set_by: str, settings: StreamSettings, where: str
) -> None:
    if credential == "alert_source_token":
        if settings.alert_source_token is None:
            raise SettingError(
                f"{where}alert_source_token",
                f"{needed_by} authenticates with the alert source's own token, and none is set.",
                "copy the token from the HTTP alert source in incident.io (Alerts > Sources) "
                "into `alert_source_token`, or choose another `operation`.",
            )
    elif settings.api_key is None:
        raise SettingError(
            "api_key",
            f"{needed_by}{set_by} needs an incident.io API key.",
            "create one in incident.io (Settings > API keys) and set `api_key`, or "
            "TARGET_INCIDENTIO_API_KEY.",
        )


def _warn_unread(settings: Settings) -> None:
    """Name each per-stream setting that was set where no operation reads it."""
    for where, resolved in settings.levels():
        explicit = settings.explicit.get(where, frozenset())
        if where:
            readers = [OPERATIONS[resolved.operation]]
        else:  # top level: inherited by every stream that sets nothing else
            readers = [OPERATIONS[r.operation] for _, r in settings.levels()]
        for name in sorted(explicit):
            if not any(name in (*COMMON_SETTINGS, *op.reads) for op in readers):
                used_by = sorted(op.name for op in OPERATIONS.values() if name in op.reads)
                LOG.warning(
                    "Setting `%s%s` does nothing for operation %s; it is read by %s.",
                    where,
                    name,
                    ", ".join(sorted({f"`{op.name}`" for op in readers})),
                    ", ".join(f"`{n}`" for n in used_by) or "no operation",
                )
