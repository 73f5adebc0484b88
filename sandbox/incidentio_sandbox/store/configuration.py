"""The options of select custom fields: the seeded ones plus those created through the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.configuration import SELECT_TYPES
from incidentio_sandbox.store.common import Account, InvalidError, new_id, seeded

if TYPE_CHECKING:
    from incidentio_sandbox.seed.configuration import CustomField


class OptionStore:
    """Options created through the API, by custom field id (the seed holds the rest)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.created: dict[str, list[dict[str, Any]]] = {}

    def custom_field(self, field_id: str, field: str = "custom_field_id") -> CustomField:
        """The seeded custom field, or ``NotFoundError`` naming ``field``."""
        return seeded(self.account.seed.custom_fields, field_id, "custom field", field)

    def for_field(self, field_id: str) -> list[dict[str, Any]]:
        """A select field's options: the seeded ones, then those created."""
        custom_field = self.custom_field(field_id)
        seeded = [
            {"id": o.id, "custom_field_id": field_id, "value": o.value, "sort_key": 10 * number}
            for number, o in enumerate(custom_field.options, start=1)
        ]
        made = self.created.get(field_id, [])
        return [*seeded, *made]

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A new option; a value the field already has is refused, as the dashboard does."""
        field_id = payload["custom_field_id"]
        custom_field = self.custom_field(field_id)
        value = payload["value"]
        if custom_field.field_type not in SELECT_TYPES:
            msg = f"Custom field {field_id!r} is a {custom_field.field_type} field, not a select"
            raise InvalidError([("invalid_value", msg, "custom_field_id")])
        if value != value.strip() or any(c in value for c in "\t\n") or not value:
            msg = "Values must not start or end with whitespace, or contain tabs or newlines"
            raise InvalidError([("invalid_value", msg, "value")])
        if any(o["value"] == value for o in self.for_field(field_id)):
            msg = f"Custom field {field_id!r} already has an option {value!r}"
            raise InvalidError([("duplicate_value", msg, "value")])
        option = {
            "id": new_id(),
            "custom_field_id": field_id,
            "value": value,
            "sort_key": payload.get("sort_key", 1000),
        }
        self.created.setdefault(field_id, []).append(option)
        return option

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of the options."""
        return {"created_options": [o for made in self.created.values() for o in made]}
