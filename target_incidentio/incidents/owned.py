"""Which fields the pipeline owns after creation, and the other names the sync settings give.

`incident_sync_fields` lists them: `name`, `summary`, `severity`, `incident_status` (any
letter case), or a custom field's or an incident role's name (or id), resolved against
incident.io's lists the way every name is (`payloads/names.py`). The setting's default (see
`settings/declarations.py`), `name` and `summary`, keeps the text of the source row in step
and leaves severity, status, custom fields and roles to the responders once the incident
exists. The key field and the close
status are resolved here too. Pure given the lists; every refusal a `SettingError` naming the
setting and the known names.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_incidentio.core.errors import SettingError
from target_incidentio.payloads.names import LISTS, UnresolvedError, find, known

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.names import Item

# The incident's own fields a sync may own, in the order a plan shows them.
BUILTIN = ("name", "summary", "severity", "incident_status")
# Status categories an incident is finished in: never closed again, never counted as open.
CLOSED_CATEGORIES = frozenset({"closed", "declined", "canceled", "merged"})
# Those `close_missing_incidents` may move an incident to (merging needs a target incident).
CLOSING_CATEGORIES = frozenset({"closed", "declined", "canceled"})
Kind = t.Literal["name", "summary", "severity", "incident_status", "custom_field", "role"]


@dataclass(frozen=True)
class SyncField:
    """One owned field: how the plan names it, what it is, and its id when it has one."""

    label: str  # `severity`, or the custom field's or role's name as incident.io spells it
    kind: Kind
    id: str | None = None
    # A custom field's `field_type` (`single_select`, `text`, ...): how its values compare.
    field_type: str | None = None

    @property
    def select(self) -> bool:
        """Option or catalog values, which compare as a set."""
        return self.field_type in {"single_select", "multi_select"}


def resolve_sync_fields(
    setting: str,
    names: Sequence[str],
    custom_fields: Sequence[Item],
    roles: Sequence[Item],
    *,
    key_field_id: str | None = None,
) -> tuple[SyncField, ...]:
    """The owned fields `names` give; every name that names nothing is refused at once."""
    found: list[SyncField] = []
    problems: list[str] = []
    for name in names:
        builtin = name.strip().casefold()
        if builtin in BUILTIN:
            found.append(SyncField(builtin, t.cast("Kind", builtin)))
            continue
        field = _one(setting, name, custom_fields, "custom_fields")
        role = _one(setting, name, roles, "incident_roles") if field is None else None
        if field is not None:
            if field["id"] == key_field_id:
                problems.append(f"{name!r} is the key field, which a sync never edits")
                continue
            found.append(
                SyncField(str(field.get("name") or name), "custom_field", str(field["id"]),
                          str(field.get("field_type") or ""))
            )  # fmt: skip
        elif role is not None:
            found.append(SyncField(str(role.get("name") or name), "role", str(role["id"])))
        else:
            problems.append(
                f"{name!r} is none of {', '.join(BUILTIN)}, a custom field or an incident role "
                f"(custom fields: {known(name, custom_fields, LISTS['custom_fields'])}; roles: "
                f"{known(name, roles, LISTS['incident_roles'])})"
            )
    if problems:
        raise SettingError(
            setting,
            "; ".join(problems) + ".",
            "name the fields the pipeline keeps in step after creation (letter case is ignored).",
        )
    return tuple(dict.fromkeys(found))


def _one(
    setting: str,
    name: str,
    items: Sequence[Item],
    kind: t.Literal["custom_fields", "incident_roles"],
) -> Item | None:
    try:
        return find(name, items, LISTS[kind])
    except UnresolvedError as problem:
        if problem.matches:  # two of them: say so rather than pick one
            raise SettingError(setting, f"{problem}.", "use the id.") from None
        return None


def resolve_key_field(setting: str, value: str, custom_fields: Sequence[Item]) -> Item:
    """The text custom field `incident_key_field` names (by name, any case, or id)."""
    try:
        field = find(value, custom_fields, LISTS["custom_fields"])
    except UnresolvedError as problem:
        raise SettingError(
            setting,
            f"{problem}.",
            "create a text custom field for the key in incident.io (Settings > Custom fields), "
            "or name an existing one.",
        ) from None
    if field.get("field_type") != "text":
        raise SettingError(
            setting,
            f"custom field {field.get('name')!r} is a {field.get('field_type')} field; the key "
            "is held in a text field.",
            "name a text custom field, or create one for the key.",
        )
    return field


def resolve_close_status(setting: str, value: str, statuses: Sequence[Item]) -> Item:
    """The status `close_missing_incidents` names; it must finish an incident."""
    try:
        status = find(value, statuses, LISTS["incident_statuses"])
    except UnresolvedError as problem:
        raise SettingError(setting, f"{problem}.", "name a status in a closed category.") from None
    if status.get("category") not in CLOSING_CATEGORIES:
        closing = [s for s in statuses if s.get("category") in CLOSING_CATEGORIES]
        raise SettingError(
            setting,
            f"status {status.get('name')!r} is in category {status.get('category')!r}, which "
            "does not close an incident.",
            f"name one in a closed category: {known(value, closing, LISTS['incident_statuses'])}.",
        )
    return status
