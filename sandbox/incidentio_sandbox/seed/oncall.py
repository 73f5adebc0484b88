"""On-call as the account is configured: users, schedules with rotations and layers, paths.

Overrides and escalations are made through the API (``store/oncall.py``); who may be paged,
the schedules they cover and the escalation paths are configured here, the way an account
has them before a pipeline runs:

.. code-block:: json

    {
      "users": [{"id": "01U1", "name": "Ann", "email": "ann@example.com"}],
      "schedules": [{"id": "01S1", "name": "Primary", "timezone": "Europe/London",
                     "rotations": [{"id": "01R1", "name": "Weekly", "user_ids": ["01U1"],
                                    "layers": [{"id": "01L1", "name": "Layer 1"}]}]}],
      "escalation_paths": [{"id": "01E1", "name": "Payments urgent", "user_ids": ["01U1"]}]
    }

A rotation without ``layers`` has one, named "Layer 1"; an escalation path's ``user_ids``
become its one level's targets, or ``path`` gives the spec's nodes as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.parsing import (
    JSONObject,
    check_choice,
    known_keys,
    required,
    spec_problems,
    unique_ids,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

USER_ROLES = ("viewer", "responder", "administrator", "owner", "unset")
SANDBOX_EPOCH = "2026-01-05T09:00:00Z"  # a Monday: handovers of the seeded rotations start here


@dataclass(frozen=True)
class User:
    """A user of the account (``UserWithRolesV2``), found by id, e-mail or Slack user id."""

    id: str
    name: str
    email: str = ""
    slack_user_id: str = ""
    role: str = "responder"
    is_active: bool = True

    def __post_init__(self) -> None:
        check_choice(self.role, USER_ROLES, "user role")

    def matches(self, reference: Mapping[str, Any]) -> bool:
        """Whether ``{id | email | slack_user_id}`` names this user (e-mail in any letter case)."""
        if reference.get("id"):
            return bool(reference["id"] == self.id)
        if reference.get("email"):
            return bool(self.email) and str(reference["email"]).lower() == self.email.lower()
        return bool(reference.get("slack_user_id")) and reference["slack_user_id"] == (
            self.slack_user_id or None
        )

    def as_user_v2(self) -> JSONObject:
        """The ``UserV2`` other objects embed."""
        out: JSONObject = {"id": self.id, "name": self.name, "role": self.role}
        if self.email:
            out["email"] = self.email
        if self.slack_user_id:
            out["slack_user_id"] = self.slack_user_id
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        """Parse a user; ``id`` and ``name`` are required."""
        known_keys(data, cls, "user")
        return cls(
            id=required(data, "id", "a user"),
            name=required(data, "name", "a user"),
            email=str(data.get("email", "")),
            slack_user_id=str(data.get("slack_user_id", "")),
            role=str(data.get("role", "responder")),
            is_active=bool(data.get("is_active", True)),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "slack_user_id": self.slack_user_id,
            "role": self.role,
            "is_active": self.is_active,
        }


@dataclass(frozen=True)
class Layer:
    """One layer of a rotation; overrides sit on a layer, and never overlap on it."""

    id: str
    name: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Layer:
        """Parse a layer; ``id`` and ``name`` are required."""
        known_keys(data, cls, "schedule layer")
        return cls(required(data, "id", "a layer"), required(data, "name", "a layer"))


@dataclass(frozen=True)
class Rotation:
    """A rotation of a schedule: its layers and the users it hands over between."""

    id: str
    name: str
    layers: tuple[Layer, ...] = ()
    user_ids: tuple[str, ...] = ()
    handover_start_at: str = SANDBOX_EPOCH
    handover_interval_type: str = "weekly"

    def __post_init__(self) -> None:
        layers = tuple(self.layers) or (Layer(f"{self.id}-L1", "Layer 1"),)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "user_ids", tuple(self.user_ids))
        unique_ids(self.layers, f"layers of rotation {self.id!r}")
        check_choice(self.handover_interval_type, ("hourly", "daily", "weekly"), "handover")

    def layer(self, layer_id: str) -> Layer | None:
        """The layer with this id, if the rotation has it."""
        return next((layer for layer in self.layers if layer.id == layer_id), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rotation:
        """Parse a rotation; ``id`` and ``name`` are required."""
        known_keys(data, cls, "schedule rotation")
        return cls(
            id=required(data, "id", "a rotation"),
            name=required(data, "name", "a rotation"),
            layers=tuple(Layer.from_json(item) for item in data.get("layers", ())),
            user_ids=tuple(map(str, data.get("user_ids", ()))),
            handover_start_at=str(data.get("handover_start_at", SANDBOX_EPOCH)),
            handover_interval_type=str(data.get("handover_interval_type", "weekly")),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "layers": [{"id": layer.id, "name": layer.name} for layer in self.layers],
            "user_ids": list(self.user_ids),
            "handover_start_at": self.handover_start_at,
            "handover_interval_type": self.handover_interval_type,
        }


@dataclass(frozen=True)
class Schedule:
    """An on-call schedule (``ScheduleV2``): its rotations, each with its layers."""

    id: str
    name: str
    timezone: str = "UTC"
    rotations: tuple[Rotation, ...] = ()
    team_ids: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rotations", tuple(self.rotations))
        object.__setattr__(self, "team_ids", tuple(self.team_ids))
        object.__setattr__(self, "annotations", dict(self.annotations))
        unique_ids(self.rotations, f"rotations of schedule {self.id!r}")

    def rotation(self, rotation_id: str) -> Rotation | None:
        """The rotation with this id, if the schedule has it."""
        return next((r for r in self.rotations if r.id == rotation_id), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        """Parse a schedule; ``id`` and ``name`` are required."""
        known_keys(data, cls, "schedule")
        return cls(
            id=required(data, "id", "a schedule"),
            name=required(data, "name", "a schedule"),
            timezone=str(data.get("timezone", "UTC")),
            rotations=tuple(Rotation.from_json(item) for item in data.get("rotations", ())),
            team_ids=tuple(map(str, data.get("team_ids", ()))),
            annotations={str(k): str(v) for k, v in data.get("annotations", {}).items()},
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "rotations": [rotation.to_json() for rotation in self.rotations],
            "team_ids": list(self.team_ids),
            "annotations": dict(self.annotations),
        }


@dataclass(frozen=True)
class EscalationPath:
    """An escalation path (``EscalationPathV2``): the spec's nodes, or one level of users."""

    id: str
    name: str
    path: tuple[JSONObject, ...] = ()
    # A path without nodes: one level paging these users (the seed's ``user_ids``).
    user_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_ids", tuple(self.user_ids))
        object.__setattr__(self, "team_ids", tuple(self.team_ids))
        nodes = tuple(self.path) or (
            {
                "id": f"{self.id}-level-1",
                "type": "level",
                "level": {
                    "targets": [
                        {"id": user_id, "type": "user", "urgency": "high"}
                        for user_id in self.user_ids
                    ],
                    "time_to_ack_seconds": 300,
                },
            },
        )
        problems = spec_problems(
            "EscalationPathNodeV2", list(nodes), many=True, where=f"escalation path {self.id!r}"
        )
        if problems:
            raise ValueError("; ".join(problems))
        object.__setattr__(self, "path", nodes)

    def paged_user_ids(self) -> list[str]:
        """The users its levels page directly (schedule and channel targets aside)."""
        found: list[str] = []
        pending = list(self.path)
        while pending:
            node = pending.pop(0)
            for step in ("level", "notify_channel"):
                found += [
                    t["id"] for t in node.get(step, {}).get("targets", ()) if t["type"] == "user"
                ]
            branch = node.get("if_else", {})
            pending += [*branch.get("then_path", ()), *branch.get("else_path", ())]
        return list(dict.fromkeys(found))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EscalationPath:
        """Parse a path; ``id`` and ``name`` are required."""
        known_keys(data, cls, "escalation path")
        return cls(
            id=required(data, "id", "an escalation path"),
            name=required(data, "name", "an escalation path"),
            path=tuple(dict(node) for node in data.get("path", ())),
            user_ids=tuple(map(str, data.get("user_ids", ()))),
            team_ids=tuple(map(str, data.get("team_ids", ()))),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "path": [dict(node) for node in self.path],
            "user_ids": list(self.user_ids),
            "team_ids": list(self.team_ids),
        }
