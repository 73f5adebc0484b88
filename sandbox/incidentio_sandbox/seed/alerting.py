"""Alert sources: HTTP ones that take events, heartbeat ones that take pings, and the rest."""

from __future__ import annotations

from dataclasses import dataclass

from incidentio_sandbox.seed.parsing import (
    SeedItem,
    check_choice,
    source_types,
)

# Source types whose events arrive at /v2/alert_events/http/{id}.
HTTP_SOURCE_TYPES = frozenset({"http", "http_custom"})


@dataclass(frozen=True)
class AlertSource(SeedItem):
    """An alert source; HTTP ones take events with ``token``, others exist to be looked up."""

    KIND = "alert source"

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


@dataclass(frozen=True)
class HeartbeatSource(SeedItem):
    """A heartbeat alert source: pinged at ``/v2/heartbeat/{id}/ping`` with its token."""

    KIND = "heartbeat source"

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
