"""What `custom_fields` and `role_assignments` parse into (their setting types parse them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CustomFieldMap:
    """One entry of `custom_fields`: a record field that fills an incident custom field.

    The field is named by id or by name; `kind` None means "from the field's type".
    """

    field: str
    custom_field_id: str | None
    kind: str | None = None
    custom_field: str | None = None


@dataclass(frozen=True)
class RoleMap:
    """One entry of `role_assignments`: a record field holding the e-mail of a role's assignee."""

    field: str
    incident_role_id: str | None
    role: str | None = None
