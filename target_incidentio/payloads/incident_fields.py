"""What the incident operations fill from names: severity, status, type, roles, custom fields.

A record may name severities, statuses, types and roles, and give custom field values as an
option's text or a catalog entry's external id, name or alias. Pure given `BuildContext.directory`:
each name is matched against incident.io's list for it (see `names.py`), and a name that names
nothing, or two things, fails its record before anything is sent, naming the field, the value
and the closest known names.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from decimal import Decimal

from target_incidentio.core.custom_fields import KINDS, kind_of
from target_incidentio.payloads.base import Resolved
from target_incidentio.payloads.common import Record, as_number, number_text, text
from target_incidentio.payloads.names import (
    LISTS,
    Item,
    ListName,
    LookupFailedError,
    UnresolvedError,
    find,
    is_id,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_incidentio.settings import CustomFieldMap

NAMES_HINT = (
    "fix the value at the source or map it with stream_maps to one of the known names, or send "
    "{alternative}."
)
LOOKUP_HINT = (
    "the API key needs the `viewer` role to read incident.io's lists; check `api_key` and "
    "`base_url`, or send ids instead of names."
)


@dataclass(frozen=True)
class NamedField:
    """A record field holding a name, the body field its id goes to, and the list it names."""

    id_field: str
    names: ListName


# Name field -> where its id goes. The id field, when the record has it, wins.
INCIDENT_NAMES: Mapping[str, NamedField] = {
    "severity": NamedField("severity_id", "severities"),
    "incident_status": NamedField("incident_status_id", "incident_statuses"),
    "incident_type": NamedField("incident_type_id", "incident_types"),
}
UPDATE_NAMES: Mapping[str, NamedField] = {
    "to_severity": NamedField("to_severity_id", "severities"),
    "to_incident_status": NamedField("to_incident_status_id", "incident_statuses"),
}


def resolve_name(  # noqa: PLR0913 - the record, where, what, its list, and how to make one
    record: Record,
    field: str,
    value: str,
    names: ListName,
    *,
    owner: str | None = None,
    create: Callable[[], Item] | None = None,
    id_field: str | None = None,
) -> str:
    """The id `value` names in list `names`; an id is taken as it is. Fails the record.

    `create` makes the item when nothing has the name (`create_missing_options`); `id_field`
    is where the record could give the id instead (else the id goes where the name was).
    """
    if is_id(value):
        return value
    try:
        items = record.ctx.directory.items(names, owner)
    except LookupFailedError as problem:
        raise record.error(
            field, f"{value!r} could not be looked up: {problem}.", LOOKUP_HINT
        ) from None
    try:
        item = find(value, items, LISTS[names])
    except UnresolvedError as problem:
        if create is None or problem.matches:
            where = f"the id in '{id_field}'" if id_field else f"the {LISTS[names].what}'s id"
            raise record.error(field, f"{problem}.", NAMES_HINT.format(alternative=where)) from None
        item = create()
    found = str(item["id"])
    record.resolved.append(Resolved(field, value, found))
    return found


def add_names(record: Record, body: dict[str, t.Any], named: Mapping[str, NamedField]) -> None:
    """Fill each id field the body lacks from the name field the record has."""
    for field, target in named.items():
        value = text(record, field)
        if value is None or body.get(target.id_field):
            continue
        body[target.id_field] = resolve_name(
            record, field, value, target.names, id_field=target.id_field
        )


# -- custom fields -----------------------------------------------------------------------------


def _definition(record: Record, mapped: CustomFieldMap) -> Item:
    """The incident.io custom field `mapped` names (by id or by name)."""
    try:
        fields = record.ctx.directory.items("custom_fields")
    except LookupFailedError as problem:
        raise record.error(
            mapped.field, f"its custom field could not be looked up: {problem}.", LOOKUP_HINT
        ) from None
    wanted = mapped.custom_field_id or mapped.custom_field or ""
    try:
        return find(wanted, fields, LISTS["custom_fields"])
    except UnresolvedError as problem:
        # Configured names are resolved when the run starts, so this is an id gone since.
        raise record.error(mapped.field, f"{problem}.", "fix `custom_fields`.") from None


@dataclass
class _Target:
    """A mapped custom field as the record's values need it: id, kind, and its definition."""

    mapped: CustomFieldMap
    record: Record
    definition: Item | None = None

    def item(self) -> Item:
        if self.definition is None:
            self.definition = _definition(self.record, self.mapped)
        return self.definition

    @property
    def field_id(self) -> str:
        return self.mapped.custom_field_id or str(self.item()["id"])

    @property
    def kind(self) -> str:
        if self.mapped.kind:
            return self.mapped.kind
        kind = kind_of(self.item())
        if kind is None:
            raise self.record.error(
                self.mapped.field,
                f"custom field {self.item().get('name')!r} is a "
                f"{self.item().get('field_type')} field, which the target cannot fill.",
                "remove it from `custom_fields`.",
            )
        return kind


def _value(target: _Target, value: object) -> dict[str, str]:
    """One `CustomFieldValuePayloadV2` of the field's kind; names become ids."""
    record, field, kind = target.record, target.mapped.field, target.kind
    number = as_number(value)
    if kind == "numeric":
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except ArithmeticError:
                number = None
        if number is None or not number.is_finite():
            raise record.wrong_type(
                field, value, "a number (numeric custom field)", f"float({field})"
            )
        # The spec carries numbers as strings.
        return {KINDS["numeric"].value_key: number_text(number)}
    if kind == "text":
        if number is not None and number.is_finite():
            value = number_text(number)
        if not isinstance(value, str):
            raise record.wrong_type(field, value, "text (text custom field)", f"str({field})")
        return {KINDS["text"].value_key: value}
    if not isinstance(value, str) or not value:
        raise record.wrong_type(field, value, f"a string ({kind} custom field)", f"str({field})")
    by_name = _BY_NAME.get(kind)
    return {KINDS[kind].value_key: by_name(target, value) if by_name else value}


def _option(target: _Target, value: str) -> str:
    """An option's id from its text; a missing one is created if the stream says so."""
    record, field = target.record, target.mapped.field

    def create() -> Item:
        try:
            return record.ctx.directory.create_option(target.field_id, value)
        except LookupFailedError as failed:
            raise record.error(
                field,
                f"option {value!r} does not exist and could not be created: {failed}.",
                "give the API key the `manage_settings` role, or create the option in "
                "incident.io (Settings > Custom fields).",
            ) from None

    creates = record.ctx.settings.create_missing_options
    return resolve_name(
        record,
        field,
        value,
        "custom_field_options",
        owner=target.field_id,
        create=create if creates else None,
    )


def _entry(target: _Target, value: str) -> str:
    """A catalog entry's id from its external id, name or alias."""
    if is_id(value):
        return value
    type_id = target.item().get("catalog_type_id")
    if not type_id:
        raise target.record.error(
            target.mapped.field,
            f"custom field {target.item().get('name')!r} is not backed by a catalog type.",
            'set "kind": "option" for a select of options.',
        )
    return resolve_name(
        target.record, target.mapped.field, value, "catalog_entries", owner=str(type_id)
    )


# Kinds whose values may be names: how each finds the id.
_BY_NAME: Mapping[str, Callable[[_Target, str], str]] = {"option": _option, "catalog_entry": _entry}


def with_custom_fields(
    record: Record, entries: list[dict[str, t.Any]] | None
) -> list[dict[str, t.Any]]:
    """The record's own custom field `entries` followed by those the `custom_fields` setting maps.

    A list value gives several values, an empty list clears the field, a missing one is skipped.
    """
    result = list(entries or [])
    for mapped in record.ctx.settings.custom_fields:
        value = record.get(mapped.field)
        if value is None:
            continue
        target = _Target(mapped, record)
        items = value if isinstance(value, list) else [value]
        values = [_value(target, item) for item in items]
        result.append({"custom_field_id": target.field_id, "values": values})
    return result


# -- role assignments ----------------------------------------------------------------------------


def with_role_assignments(
    record: Record, assignments: list[dict[str, t.Any]] | None
) -> list[dict[str, t.Any]]:
    """The record's own role assignments followed by those `role_assignments` maps (by e-mail)."""
    result = list(assignments or [])
    for mapped in record.ctx.settings.role_assignments:
        email = text(record, mapped.field)
        if not email:
            continue
        if "@" not in email:
            raise record.wrong_type(
                mapped.field, email, "an e-mail address (the role's assignee)", f"{mapped.field}"
            )
        role_id = mapped.incident_role_id or resolve_name(
            record, mapped.field, mapped.role or "", "incident_roles"
        )
        result.append({"incident_role_id": role_id, "assignee": {"email": email}})
    return result
