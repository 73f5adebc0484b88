"""The account's users: incident role assignees, found by id, e-mail or Slack user id.

.. code-block:: json

    {"users": [{"id": "01U1", "name": "Ann", "email": "ann@example.com"}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.parsing import (
    JSONObject,
    check_choice,
    known_keys,
    required,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

USER_ROLES = ("viewer", "responder", "administrator", "owner", "unset")


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
