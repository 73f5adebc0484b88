"""Incident sync's prepare step: what the sync settings name, resolved before the first row.

`incident_key_field` (a text custom field), `incident_sync_fields` and
`close_missing_incidents` are names; they are resolved against the account's lists through
the run's one look-up object (`BuildContext.directory`, each list read once per run), and an
unknown or unfit one is a `SettingError` naming the known ones, before any record is sent.
`prepare_incident_sync` is the `incident` operation's `Operation.prepare`; the strategy reads
the same resolution (`sync_setup`) from the lists the run already holds.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, replace

from target_incidentio.incidents.owned import (
    SyncField,
    resolve_close_status,
    resolve_key_field,
    resolve_sync_fields,
)
from target_incidentio.payloads.names import LookupFailedError
from target_incidentio.strategies import Prepared

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_incidentio.payloads.base import BuildContext
    from target_incidentio.strategies import Outlet


class SyncLookupError(RuntimeError):
    """A list the sync settings are resolved against could not be read."""


@dataclass(frozen=True)
class SyncSetup:
    """One sync stream's settings as ids: the key field, the owned fields, the close status."""

    key_field_id: str
    owned: tuple[SyncField, ...]
    close_status_id: str | None


def _setting(ctx: BuildContext, name: str) -> str:
    return f"streams.{ctx.stream}.{name}"


def sync_setup(ctx: BuildContext) -> SyncSetup:
    """Resolve the stream's sync settings; a `SettingError` names what names nothing."""
    settings = ctx.settings
    lists = ctx.directory
    try:
        custom_fields = lists.items("custom_fields")
        key_field = resolve_key_field(
            _setting(ctx, "incident_key_field"), str(settings.incident_key_field), custom_fields
        )
        owned = resolve_sync_fields(
            _setting(ctx, "incident_sync_fields"),
            settings.incident_sync_fields,
            custom_fields,
            lists.items("incident_roles"),
            key_field_id=str(key_field["id"]),
        )
        close_status = None
        if settings.close_missing_incidents is not None:
            close_status = resolve_close_status(
                _setting(ctx, "close_missing_incidents"),
                settings.close_missing_incidents,
                lists.items("incident_statuses"),
            )
    except LookupFailedError as problem:
        msg = (
            f"Stream '{ctx.stream}' (incident_mode: sync): could not read incident.io's lists "
            f"to resolve the sync settings: {problem}. Fix: the API key needs the `viewer` role."
        )
        raise SyncLookupError(msg) from None
    return SyncSetup(
        key_field_id=str(key_field["id"]),
        owned=owned,
        close_status_id=None if close_status is None else str(close_status["id"]),
    )


def prepare_incident_sync(
    ctx: BuildContext, _schema: Mapping[str, t.Any], _outlet: Outlet
) -> Prepared:
    """`incident_mode: sync`: the names become ids (refused now if one names nothing)."""
    if ctx.settings.incident_mode != "sync":
        return Prepared(ctx.settings)
    setup = sync_setup(ctx)
    return Prepared(
        replace(
            ctx.settings,
            incident_key_field=setup.key_field_id,
            close_missing_incidents=setup.close_status_id,
        )
    )
