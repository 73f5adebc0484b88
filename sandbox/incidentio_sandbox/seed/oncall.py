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
    SeedItem,
    check_choice,
    items_of,
    spec_problems,
    unique_ids,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

USER_ROLES = ("viewer", "responder", "administrator", "owner", "unset")
SANDBOX_EPOCH = "2026-01-05T09:00:00Z"  # a Monday: handovers of the seeded rotations start here


@dataclass(frozen=True)
class User(SeedItem):
    """A user of the account (``UserWithRolesV2``), found by id, e-mail or Slack user id."""

    KIND = "user"

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


@dataclass(frozen=True)
class Layer(SeedItem):
    """One layer of a rotation; overrides sit on a layer, and never overlap on it."""

    KIND = "schedule layer"

    id: str
    name: str


@dataclass(frozen=True)
class Rotation(SeedItem):
    """A rotation of a schedule: its layers and the users it hands over between."""

    KIND = "schedule rotation"

    id: str
    name: str
    layers: tuple[Layer, ...] = items_of(Layer.from_json)
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


@dataclass(frozen=True)
class Schedule(SeedItem):
    """An on-call schedule (``ScheduleV2``): its rotations, each with its layers."""

    KIND = "schedule"

    id: str
    name: str
    timezone: str = "UTC"
    rotations: tuple[Rotation, ...] = items_of(Rotation.from_json)
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


@dataclass(frozen=True)
class EscalationPath(SeedItem):
    """An escalation path (``EscalationPathV2``): the spec's nodes, or one level of users."""

    KIND = "escalation path"

    id: str
    name: str
    path: tuple[JSONObject, ...] = items_of(dict)
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
