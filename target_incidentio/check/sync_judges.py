"""`--check` of `incident_mode: sync`: the key field, the owned fields, the close status.

Judged with the same resolution a run's prepare step makes (`incidents/owned.py`), against
the lists the check reads (roles, custom fields, statuses), then how many incidents hold a
key, from every page of `GET /v2/incidents`. The judges of one level share what an
earlier one found (the roles, the key field's id), since they are asked in order.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from target_incidentio.check.findings import failed, passed
from target_incidentio.core.errors import SettingError
from target_incidentio.incidents.listing import read_incident
from target_incidentio.incidents.owned import (
    resolve_close_status,
    resolve_key_field,
    resolve_sync_fields,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from target_incidentio.check.findings import Answer, Finding
    from target_incidentio.payloads.names import Item
    from target_incidentio.settings import StreamSettings

LIST_FIX = "make sure the API key has the `viewer` role (incidents.view)."


def _listed(answer: Answer, key: str) -> list[Item] | None:
    items = answer.body.get(key) if isinstance(answer.body, dict) else None
    if not answer.ok or not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]


def _key(raw: Item, key_field_id: str) -> str | None:
    return read_incident(raw, key_field_id, ()).key


@dataclass
class SyncCheck:
    """The judges of one sync level, in the order they are asked."""

    where: str
    level: StreamSettings
    roles: list[Item] = field(default_factory=list)
    key_field_id: str | None = None

    def _subject(self, name: str) -> str:
        return f"{self.where}{name}"

    def judge_roles(self, answer: Answer) -> Iterator[Finding]:
        """The roles an owned field may name; kept for the custom fields' judge."""
        roles = _listed(answer, "incident_roles")
        if roles is None:
            yield failed(self._subject("incident_sync_fields"), answer.reason + ".", LIST_FIX)
            return
        self.roles = roles

    def judge_fields(self, answer: Answer) -> Iterator[Finding]:
        """The key field exists and is a text field; every owned field names one field."""
        fields = _listed(answer, "custom_fields")
        subject = self._subject("incident_key_field")
        if fields is None:
            yield failed(subject, answer.reason + ".", LIST_FIX)
            return
        try:
            key_field = resolve_key_field(subject, str(self.level.incident_key_field), fields)
        except SettingError as error:
            yield failed(subject, str(error.errors[0]), "name a text custom field.")
            return
        self.key_field_id = str(key_field["id"])
        yield passed(
            subject,
            f"custom field {key_field.get('name')!r} → {self.key_field_id}, a text field.",
        )
        owned_subject = self._subject("incident_sync_fields")
        try:
            owned = resolve_sync_fields(
                owned_subject,
                self.level.incident_sync_fields,
                fields,
                self.roles,
                key_field_id=self.key_field_id,
            )
        except SettingError as error:
            yield failed(owned_subject, str(error.errors[0]), "name known fields.")
            return
        yield passed(owned_subject, f"owned: {', '.join(f.label for f in owned)}.")

    def judge_status(self, answer: Answer) -> Iterator[Finding]:
        """The close status exists and is in a closed category."""
        subject = self._subject("close_missing_incidents")
        statuses = _listed(answer, "incident_statuses")
        if statuses is None:
            yield failed(subject, answer.reason + ".", LIST_FIX)
            return
        try:
            status = resolve_close_status(
                subject, str(self.level.close_missing_incidents), statuses
            )
        except SettingError as error:
            yield failed(subject, str(error.errors[0]), "name a status in a closed category.")
            return
        yield passed(
            subject, f"status {status.get('name')!r} → {status.get('id')} ({status['category']})."
        )

    def judge_incidents(self, answer: Answer) -> Iterator[Finding]:
        """How many incidents hold a key, of every page (the runner follows the cursors)."""
        subject = self._subject("incident_mode")
        listed = _listed(answer, "incidents")
        if listed is None:
            yield failed(subject, f"cannot list incidents: {answer.reason}.", LIST_FIX)
            return
        if self.key_field_id is None:
            return  # the key field failed already
        field_id = self.key_field_id
        keyed = sum(1 for raw in listed if raw.get("id") and _key(raw, field_id) is not None)
        pages = answer.body.get("pages") if isinstance(answer.body, dict) else None
        read = f" ({pages} pages)" if isinstance(pages, int) and pages > 1 else ""
        yield passed(
            subject,
            f"sync: {keyed} of {len(listed)} incidents hold a key{read}; a run lists them all "
            "once.",
        )
