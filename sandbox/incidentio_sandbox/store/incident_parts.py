"""An incident's parts as incident.io lists them, made from the ids a create or an edit sends.

A create or an edit names configured things by id (``severity_id``, ``value_option_id``,
``incident_role_id``, an assignee's e-mail); ``IncidentV2`` shows the objects: the severity, the
status with its category, the custom field with its options, the option, the catalog entry,
the role, the user. What the seed configures is shown with its names; an id the seed does not
know is shown as a stand-in named by its id (the sandbox accepts it, as it always has), except
where the account is configured and says no: an option a seeded select field does not have, a
value of the wrong kind for a seeded field, two values in a single select.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from incidentio_sandbox import views
from incidentio_sandbox.seed.configuration import SELECT_TYPES
from incidentio_sandbox.validation import load_spec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from incidentio_sandbox.seed import Seed
    from incidentio_sandbox.seed.configuration import CustomField
    from incidentio_sandbox.store.catalog import CatalogStore
    from incidentio_sandbox.store.configuration import OptionStore

JSONObject = dict[str, Any]
Problem = tuple[str, str, str]  # (code, message, field), as InvalidError takes them

# The seed list, and the schema an incident shows it in, for each configured part.
CONFIGURED = {
    "severity": ("severities", "SeverityV2"),
    "incident_status": ("incident_statuses", "IncidentStatusV2"),
    "incident_type": ("incident_types", "IncidentTypeV2"),
    "role": ("incident_roles", "EmbeddedIncidentRoleV2"),
}
# The value key a seeded field takes, by what the field holds.
VALUE_KEYS = {
    "single_select": "value_option_id",
    "multi_select": "value_option_id",
    "text": "value_text",
    "numeric": "value_numeric",
    "link": "value_link",
}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def configured(seed: Seed, part: str, item_id: str, stamp: str) -> JSONObject:
    """The severity, status, type or role with this id, as the incident shows it."""
    kind, schema = CONFIGURED[part]
    found = next((item for item in getattr(seed, kind) if item.id == item_id), None)
    if found is None:
        shown = {**views.NAMED_DEFAULTS[kind], "id": item_id, "name": item_id}
        shown.update(created_at=stamp, updated_at=stamp)
    else:
        shown = views.named(kind, found, stamp)
    allowed = load_spec()["components"]["schemas"][schema]["properties"]
    return {key: value for key, value in shown.items() if key in allowed}


def default_status_id(seed: Seed) -> str | None:
    """Where a new incident starts when its create names no status: the first live status."""
    live = next((s for s in seed.incident_statuses if s.extra.get("category") == "live"), None)
    return None if live is None else live.id


def default_type_id(seed: Seed) -> str | None:
    """The account's default incident type, which a create naming none gets."""
    default = next((t for t in seed.incident_types if t.extra.get("is_default")), None)
    return None if default is None else default.id


def user_id_for(reference: str) -> str:
    """A stable ULID-shaped id for a user the seed does not know, so one e-mail is one user."""
    digest = int.from_bytes(hashlib.sha256(reference.encode()).digest()[:17], "big")
    chars = [_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(26)]
    return "01" + "".join(chars)[2:]


def assignee(seed: Seed, reference: Mapping[str, Any]) -> JSONObject:
    """``UserV2`` for ``{id | email | slack_user_id}``: the seeded user, else a stand-in."""
    for user in seed.users:
        if user.matches(reference):
            return user.as_user_v2()
    email = reference.get("email")
    key = str(reference.get("id") or email or reference.get("slack_user_id") or "")
    shown: JSONObject = {
        "id": str(reference.get("id") or user_id_for(key)),
        "name": str(email or key),
        "role": "responder",
    }
    if email:
        shown["email"] = email
    if reference.get("slack_user_id"):
        shown["slack_user_id"] = reference["slack_user_id"]
    return shown


def role_assignments(seed: Seed, given: list[JSONObject], stamp: str) -> dict[str, JSONObject]:
    """Role id -> ``IncidentRoleAssignmentV2``; an assignment without assignee unassigns."""
    out: dict[str, JSONObject] = {}
    for item in given:
        shown: JSONObject = {"role": configured(seed, "role", item["incident_role_id"], stamp)}
        if item.get("assignee"):
            shown["assignee"] = assignee(seed, item["assignee"])
        out[item["incident_role_id"]] = shown
    return out


class FieldValues:
    """Custom field entries as ``CustomFieldEntryV2``, judged against the seeded fields."""

    def __init__(self, seed: Seed, options: OptionStore, catalog: CatalogStore) -> None:
        self.seed = seed
        self.options = options
        self.catalog = catalog

    def render(
        self, given: list[JSONObject], where: str
    ) -> tuple[dict[str, JSONObject], list[Problem]]:
        """Field id -> ``CustomFieldEntryV2``, and why the account refuses any of them."""
        out: dict[str, JSONObject] = {}
        problems: list[Problem] = []
        for index, entry in enumerate(given):
            field_id = entry["custom_field_id"]
            seeded = next((f for f in self.seed.custom_fields if f.id == field_id), None)
            at = f"{where}[{index}]"
            values: list[JSONObject] = []
            for number, value in enumerate(entry["values"]):
                shown, problem = self._value(seeded, field_id, value, f"{at}.values[{number}]")
                if problem is not None:
                    problems.append(problem)
                elif shown:
                    values.append(shown)
            if seeded is not None and seeded.field_type == "single_select" and len(values) > 1:
                message = f"Custom field {seeded.name!r} is a single select: give one value"
                problems.append(("invalid_value", message, f"{at}.values"))
            out[field_id] = {"custom_field": self._info(seeded, field_id), "values": values}
        return out, problems

    def _info(self, seeded: CustomField | None, field_id: str) -> JSONObject:
        """``CustomFieldTypeInfoV2``: the field, with a select's options."""
        if seeded is None:
            return {
                "id": field_id,
                "name": field_id,
                "description": "",
                "field_type": "text",
                "options": [],
            }
        options = self.options.for_field(field_id) if seeded.field_type in SELECT_TYPES else []
        return {
            "id": seeded.id,
            "name": seeded.name,
            "description": seeded.description,
            "field_type": seeded.field_type,
            "options": [views.custom_field_option(o) for o in options],
        }

    def _value(
        self, seeded: CustomField | None, field_id: str, value: JSONObject, where: str
    ) -> tuple[JSONObject, Problem | None]:
        """One ``CustomFieldValueV2``, or why the seeded field refuses it."""
        given = [key for key in value if key.startswith("value_") and value[key] not in ("", None)]
        if seeded is not None:
            wanted = (
                "value_catalog_entry_id"
                if seeded.catalog_type_id
                else VALUE_KEYS[seeded.field_type]
            )
            wrong = [key for key in given if key != wanted]
            if wrong:
                message = f"Custom field {seeded.name!r} ({seeded.field_type}) takes {wanted}"
                return {}, ("invalid_value", message, f"{where}.{wrong[0]}")
        shown: JSONObject = {}
        for key in given:
            if key == "value_option_id":
                option = self._option(seeded, field_id, str(value[key]))
                if option is None:
                    message = f"Custom field {field_id!r} has no option {value[key]!r}"
                    return {}, ("invalid_value", message, f"{where}.{key}")
                shown["value_option"] = option
            elif key == "value_catalog_entry_id":
                shown["value_catalog_entry"] = self._entry(str(value[key]))
            elif key in ("value_text", "value_numeric", "value_link"):
                shown[key] = str(value[key])
        return shown, None

    def _option(
        self, seeded: CustomField | None, field_id: str, option_id: str
    ) -> JSONObject | None:
        if seeded is None:
            return {"id": option_id, "custom_field_id": field_id, "value": option_id, "sort_key": 0}
        found = next((o for o in self.options.for_field(field_id) if o["id"] == option_id), None)
        return None if found is None else views.custom_field_option(found)

    def _entry(self, entry_id: str) -> JSONObject:
        """``EmbeddedCatalogEntryV2`` of an entry the catalog holds, else a stand-in."""
        entry = self.catalog.entries.get(entry_id)
        if entry is None:
            return {"id": entry_id, "name": entry_id, "aliases": []}
        shown: JSONObject = {
            "id": entry_id,
            "name": entry["name"],
            "aliases": list(entry["aliases"]),
        }
        if entry.get("external_id"):
            shown["external_id"] = entry["external_id"]
        return shown
