"""Alert sources: HTTP ones that take events, heartbeat ones that take pings, and the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.parsing import (
    JSONObject,
    check_choice,
    known_keys,
    required,
    source_types,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

# Source types whose events arrive at /v2/alert_events/http/{id}.
HTTP_SOURCE_TYPES = frozenset({"http", "http_custom"})


@dataclass(frozen=True)
class AlertSource:
    """An alert source; HTTP ones take events with ``token``, others exist to be looked up."""

    id: str
    name: str = ""
    source_type: str = "http"
    token: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.source_type, source_types(), "alert source type")
        if self.source_type == "heartbeat":
            msg = "configure heartbeat sources as heartbeat_sources, which carry ping settings"
            raise ValueError(msg)
        if self.source_type in HTTP_SOURCE_TYPES and not self.token:
            msg = f"HTTP alert source {self.id!r} needs a token"
            raise ValueError(msg)
        if not self.name:
            object.__setattr__(self, "name", f"Sandbox {self.source_type} source {self.id}")

    @property
    def accepts_http_events(self) -> bool:
        """Whether ``POST /v2/alert_events/http/{id}`` reaches this source."""
        return self.source_type in HTTP_SOURCE_TYPES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertSource:
        """Parse a source; ``id`` is required, HTTP sources also need ``token``."""
        known_keys(data, cls, "alert source")
        token = data.get("token")
        return cls(
            id=required(data, "id", "an alert source"),
            name=str(data.get("name", "")),
            source_type=str(data.get("source_type", "http")),
            token=None if token is None else str(token),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "name": self.name,
            "source_type": self.source_type,
            "token": self.token,
        }


@dataclass(frozen=True)
class HeartbeatSource:
    """A heartbeat alert source: pinged at ``/v2/heartbeat/{id}/ping`` with its token."""

    id: str
    token: str
    name: str = ""
    interval_seconds: int = 60
    grace_period_seconds: int = 0
    failure_threshold: int = 1

    def __post_init__(self) -> None:
        if not self.token:
            msg = f"heartbeat source {self.id!r} needs a token"
            raise ValueError(msg)
        if not self.name:
            object.__setattr__(self, "name", f"Sandbox heartbeat {self.id}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeartbeatSource:
        """Parse a heartbeat source; ``id`` and ``token`` are required."""
        known_keys(data, cls, "heartbeat source")
        return cls(
            id=required(data, "id", "a heartbeat source"),
            token=required(data, "token", "a heartbeat source"),
            name=str(data.get("name", "")),
            interval_seconds=int(data.get("interval_seconds", 60)),
            grace_period_seconds=int(data.get("grace_period_seconds", 0)),
            failure_threshold=int(data.get("failure_threshold", 1)),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        return {
            "id": self.id,
            "token": self.token,
            "name": self.name,
            "interval_seconds": self.interval_seconds,
            "grace_period_seconds": self.grace_period_seconds,
            "failure_threshold": self.failure_threshold,
        }
