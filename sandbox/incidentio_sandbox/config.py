"""How a sandbox behaves: keys, sources, seed, rate limits and faults, in one ``SandboxConfig``.

The CLI and ``Sandbox`` build one; the app, the gate and the server read it. It sits below
them all, so none of them imports another to learn its settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from incidentio_sandbox.faults import FaultConfig
from incidentio_sandbox.seed import Seed

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_API_KEY = "sandbox-api-key"
DEFAULT_ALERT_SOURCES: Mapping[str, str] = {"01SANDBOXALERTSOURCE000000": "sandbox-alert-token"}


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the CLI and ``Sandbox`` both build one of these."""

    api_keys: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: "api_key_name"})
    # HTTP alert sources, config id -> token (the alert source's id is its config id).
    alert_sources: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALERT_SOURCES))
    # Heartbeat alert sources, id -> token.
    heartbeat_sources: Mapping[str, str] = field(default_factory=dict)
    # Catalog types, other alert sources, custom fields, key roles, catalog reject lists.
    seed: Seed = field(default_factory=Seed)
    rate_limit: bool = False
    bucket_capacity: float = 1200
    refill_per_second: float = 20
    alert_bucket_capacity: float = 120
    alert_refill_per_second: float = 2
    retry_after_header: bool = True
    retry_after_format: Literal["rfc3339", "http-date"] = "rfc3339"
    faults: FaultConfig = field(default_factory=FaultConfig)
    # Long benchmarks may cap the journal; the oldest entries go first.
    journal_max_entries: int | None = None
