"""Schedule overrides, with incident.io's rules for a layer, and escalations, created once.

Overrides on one layer (schedule, rotation, layer) never overlap. Creating one, or moving
or widening one with an update, over a neighbour's window takes that time over: the
neighbour is deleted, and whatever of its window is left outside the new one comes back as
new overrides (same user, same layer) with new ids, as the spec's ``PUT`` describes. An
override keeps its user: an update naming another is refused. A deleted override is gone
from every answer, but deleting it again succeeds.

An escalation is made once per ``idempotency_key``: a repeat answers the first, as the
spec's ``POST /v2/escalations`` promises.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from incidentio_sandbox.store.common import (
    Account,
    InvalidError,
    NotFoundError,
    new_id,
    now_rfc3339,
    seeded,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from incidentio_sandbox.seed.oncall import Schedule, User
    from incidentio_sandbox.store.incidents import IncidentStore

JSONObject = dict[str, Any]
Layer = tuple[str, str, str]  # (schedule id, rotation id, layer id)


class Placement(NamedTuple):
    """Where an override sits: its layer and its window, in UTC."""

    layer: Layer
    start: datetime
    end: datetime


# incident.io's status categories as IncidentSlimV2 names them.
SLIM_CATEGORIES = {"live": "active", "learning": "post-incident"}


def utc(text: str, field: str) -> datetime:
    """An RFC 3339 instant at any offset, in UTC; a 422 naming ``field`` otherwise."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        message = f"{field} must be an RFC 3339 timestamp with an offset, not {text!r}"
        raise InvalidError([("invalid_value", message, field)])
    return moment.astimezone(timezone.utc)


def _shown(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class OverrideStore:
    """Overrides by id on the seed's schedules; the deleted ones, so a repeated delete succeeds."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.overrides: dict[str, JSONObject] = {}
        self.deleted: dict[str, JSONObject] = {}

    # -- what the account holds --------------------------------------------------------------

    def schedule(self, schedule_id: str, field: str = "schedule_id") -> Schedule:
        """The seeded schedule, or ``NotFoundError`` naming ``field``."""
        return seeded(self.account.seed.schedules, schedule_id, "schedule", field)

    def user(self, reference: Mapping[str, Any], field: str = "user") -> User:
        """The seeded user ``{id | email | slack_user_id}`` names; a 422 naming ``field``."""
        found = next((u for u in self.account.seed.users if u.matches(reference)), None)
        if found is None:
            given = ", ".join(f"{k}={v!r}" for k, v in reference.items() if v) or "nothing"
            message = f"No user of the account matches {given}"
            raise InvalidError([("invalid_value", message, field)])
        return found

    def _layer(self, schedule: Schedule, rotation_id: str, layer_id: str) -> Layer:
        rotation = schedule.rotation(rotation_id)
        if rotation is None:
            message = f"Schedule {schedule.name!r} has no rotation {rotation_id!r}"
            raise InvalidError([("invalid_value", message, "rotation_id")])
        if rotation.layer(layer_id) is None:
            message = f"Rotation {rotation.name!r} has no layer {layer_id!r}"
            raise InvalidError([("invalid_value", message, "layer_id")])
        return (schedule.id, rotation_id, layer_id)

    # -- reads -------------------------------------------------------------------------------

    def get(self, override_id: str) -> JSONObject:
        """The override, or ``NotFoundError`` (a deleted one too, as the spec says)."""
        try:
            return self.overrides[override_id]
        except KeyError:
            msg = f"No schedule override found with id {override_id!r}"
            raise NotFoundError(msg, "id") from None

    def on(
        self, schedule_id: str, rotation_id: str | None, layer_id: str | None
    ) -> list[JSONObject]:
        """A schedule's overrides in creation (id) order, narrowed to a rotation or a layer."""
        self.schedule(schedule_id)
        return sorted(
            (
                o
                for o in self.overrides.values()
                if o["schedule_id"] == schedule_id
                and rotation_id in (None, o["rotation_id"])
                and layer_id in (None, o["layer_id"])
            ),
            key=lambda o: str(o["id"]),
        )

    # -- writes ------------------------------------------------------------------------------

    def create(self, payload: Mapping[str, Any]) -> JSONObject:
        """A new override; the neighbours it covers give way (see the module's docstring)."""
        at = self._placement(self.schedule(payload["schedule_id"]), payload)
        user = self.user(payload["user"])
        stamp = now_rfc3339()
        override: JSONObject = {"id": new_id(), "created_at": stamp}
        self._place(override, at, user.as_user_v2(), stamp)
        return override

    def update(self, override_id: str, payload: Mapping[str, Any]) -> JSONObject:
        """Move or resize an override (same schedule, same user); neighbours give way."""
        override = self.get(override_id)
        at = self._placement(self.schedule(override["schedule_id"]), payload)
        if self.user(payload["user"]).id != override["user"]["id"]:
            message = (
                "An override cannot be reassigned: send the user it has "
                f"({override['user']['name']}), or delete it and create another"
            )
            raise InvalidError([("invalid_value", message, "user")])
        del self.overrides[override_id]  # its own old window is no neighbour of its new one
        self._place(override, at, override["user"], now_rfc3339())
        return override

    def delete(self, override_id: str) -> None:
        """Gone; deleting a deleted override again succeeds, as the spec says."""
        if override_id not in self.deleted:
            self.deleted[override_id] = self.get(override_id)
            del self.overrides[override_id]

    def _placement(self, schedule: Schedule, payload: Mapping[str, Any]) -> Placement:
        """The layer (of ``schedule``) and the window a create or an update names."""
        layer = self._layer(schedule, payload["rotation_id"], payload["layer_id"])
        start, end = utc(payload["start_at"], "start_at"), utc(payload["end_at"], "end_at")
        if end <= start:
            message = "end_at must be after start_at"
            raise InvalidError([("invalid_value", message, "end_at")])
        return Placement(layer, start, end)

    def _place(self, override: JSONObject, at: Placement, user: JSONObject, stamp: str) -> None:
        """Put ``override`` on its layer, deleting the neighbours it covers, their rest new."""
        for neighbour in [o for o in self.overrides.values() if _placed(o).layer == at.layer]:
            was = _placed(neighbour)
            if was.start >= at.end or was.end <= at.start:
                continue
            self.deleted[neighbour["id"]] = self.overrides.pop(neighbour["id"])
            for start, end in (
                (was.start, min(was.end, at.start)),
                (max(was.start, at.end), was.end),
            ):
                if start < end:
                    rest = {"id": new_id(), "created_at": stamp}
                    _fill(rest, Placement(at.layer, start, end), neighbour["user"], stamp)
                    self.overrides[rest["id"]] = rest
        _fill(override, at, user, stamp)
        self.overrides[override["id"]] = override

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of overrides."""
        return {
            "schedule_overrides": list(self.overrides.values()),
            "deleted_schedule_overrides": list(self.deleted.values()),
        }

    def counts(self) -> dict[str, int]:
        """The override counts of ``GET /_sandbox/state``."""
        return {
            "schedule_overrides": len(self.overrides),
            "schedule_overrides_deleted": len(self.deleted),
        }


class EscalationStore:
    """Escalations by id, and the idempotency keys that made them."""

    def __init__(
        self, account: Account, incidents: IncidentStore, overrides: OverrideStore
    ) -> None:
        self.account = account
        self.incidents = incidents
        self.overrides = overrides
        self.escalations: dict[str, JSONObject] = {}
        self.keys: dict[str, str] = {}

    def create(self, payload: Mapping[str, Any], creator: JSONObject) -> tuple[JSONObject, bool]:
        """Page a path or users once per key; a repeat answers the first escalation."""
        key = payload["idempotency_key"]
        if key in self.keys:
            return self.escalations[self.keys[key]], False
        path_id, user_ids = payload.get("escalation_path_id"), payload.get("user_ids")
        if bool(path_id) == bool(user_ids):
            message = "Give either escalation_path_id or user_ids, not both and not neither"
            raise InvalidError([("invalid_value", message, "escalation_path_id")])
        stamp = now_rfc3339()
        if path_id:
            paths = self.account.seed.escalation_paths
            path = seeded(paths, path_id, "escalation path", "escalation_path_id")
            users = self.account.seed.users
            paged = [u for user_id in path.paged_user_ids() for u in users if u.id == user_id]
        else:
            paged = [
                self.overrides.user({"id": user_id}, f"user_ids[{index}]")
                for index, user_id in enumerate(user_ids or ())
            ]
        related = []
        if payload.get("incident_id"):
            incident = self.incidents.get(payload["incident_id"], field="incident_id")
            related.append(_slim(incident))
        escalation: JSONObject = {
            "id": new_id(),
            "title": payload["title"],
            "description": payload.get("description", ""),
            "status": "triggered",
            "priority": {"name": "High"},
            "creator": creator,
            "events": [
                {"id": new_id(), "event": "triggered", "occurred_at": stamp},
                {
                    "id": new_id(),
                    "event": "notified_users",
                    "occurred_at": stamp,
                    "urgency": "high",
                    "users": [user.as_user_v2() for user in paged],
                },
            ],
            "related_incidents": related,
            "related_alerts": [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        if path_id:
            escalation["escalation_path_id"] = path_id
        self.escalations[escalation["id"]] = escalation
        self.keys[key] = escalation["id"]
        return escalation, True

    def get(self, escalation_id: str) -> JSONObject:
        """The escalation, or ``NotFoundError`` naming ``id``."""
        try:
            return self.escalations[escalation_id]
        except KeyError:
            msg = f"No escalation found with id {escalation_id!r}"
            raise NotFoundError(msg, "id") from None

    def key_of(self, escalation_id: str) -> str:
        """The idempotency key that made the escalation."""
        return next(key for key, made in self.keys.items() if made == escalation_id)

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of escalations (with the keys that made them)."""
        return {
            "escalations": [
                {**e, "idempotency_key": self.key_of(e["id"])} for e in self.escalations.values()
            ]
        }

    def counts(self) -> dict[str, int]:
        """The escalation count of ``GET /_sandbox/state``."""
        return {"escalations": len(self.escalations)}


def _placed(override: Mapping[str, Any]) -> Placement:
    """Where a stored override sits."""
    return Placement(
        (override["schedule_id"], override["rotation_id"], override["layer_id"]),
        utc(override["start_at"], "start_at"),
        utc(override["end_at"], "end_at"),
    )


def _fill(override: JSONObject, at: Placement, user: JSONObject, stamp: str) -> None:
    """Write where an override sits, who covers and when it changed into it."""
    schedule_id, rotation_id, layer_id = at.layer
    override.update(
        schedule_id=schedule_id,
        rotation_id=rotation_id,
        layer_id=layer_id,
        start_at=_shown(at.start),
        end_at=_shown(at.end),
        user=dict(user),
        updated_at=stamp,
    )


def _slim(incident: Mapping[str, Any]) -> JSONObject:
    """``IncidentSlimV2`` of an incident (its status category as that schema names it)."""
    category = incident["incident_status"]["category"]
    slim: JSONObject = {
        "id": incident["id"],
        "external_id": int(str(incident["reference"]).removeprefix("INC-")),
        "name": incident["name"],
        "reference": incident["reference"],
        "visibility": incident["visibility"],
        "status_category": SLIM_CATEGORIES.get(category, category),
    }
    if "summary" in incident:
        slim["summary"] = incident["summary"]
    return slim
