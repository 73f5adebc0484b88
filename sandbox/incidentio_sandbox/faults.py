"""Fault injection: what can go wrong between a client and incident.io.

A fault is named by a short string so it travels well over JSON and the CLI:

- ``"500"``, ``"503"``, any 4xx/5xx code: an error answer in incident.io's shape.
- ``"429"`` / ``"429-no-retry-after"``: a rate-limit answer, with or without
  ``Retry-After``.
- ``"reset"``: the connection is dropped without an answer.
- ``"close"``: a normal answer, then the keep-alive connection is closed.
- ``"slow"``: sleep ``slow_seconds``, then answer normally (the work is done,
  the client has probably given up).
- ``"malformed-200"`` / ``"malformed-502"``: a non-JSON body with that status.
- ``"apply-then-reset"`` / ``"apply-then-500"``: the request takes effect, then
  the connection drops or a 5xx comes back: a timeout after the server did the work.

Faults that answer an error never apply the request, so a retry is always safe;
only ``apply-then-*``, ``slow``, ``close`` and ``malformed-2xx`` apply it.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

_FAULT_RE = re.compile(
    r"^(?:(?P<status>[45]\d\d)(?P<no_retry>-no-retry-after)?"
    r"|(?P<simple>reset|close|slow)"
    r"|malformed-(?P<malformed>[1-5]\d\d)"
    r"|apply-then-(?P<then>reset|[45]\d\d))$",
)
DEFAULT_FAULT_KINDS = ("500", "502", "503", "504", "429", "reset")


@dataclass(frozen=True)
class Fault:
    """A parsed fault name."""

    name: str
    kind: str  # status | reset | close | slow | malformed | apply_then
    status: int | None = None
    retry_after_header: bool = True
    then_reset: bool = False

    @property
    def applies_request(self) -> bool:
        """Whether the request still takes effect under this fault."""
        if self.kind == "malformed":
            return self.status is not None and self.status < 400  # noqa: PLR2004
        return self.kind in {"close", "slow", "apply_then"}

    @classmethod
    def parse(cls, name: str) -> Fault:
        """Parse a fault name, raising ``ValueError`` on anything unknown."""
        match = _FAULT_RE.match(name)
        if match is None:
            msg = f"unknown fault {name!r}"
            raise ValueError(msg)
        if match["status"]:
            return cls(
                name, "status", int(match["status"]), retry_after_header=not match["no_retry"]
            )
        if match["simple"]:
            return cls(name, match["simple"])
        if match["malformed"]:
            return cls(name, "malformed", int(match["malformed"]))
        then = match["then"]
        if then == "reset":
            return cls(name, "apply_then", then_reset=True)
        return cls(name, "apply_then", int(then))


@dataclass
class ScriptedFault:
    """The next ``count`` requests matching ``path`` (a glob) and ``method`` get ``fault``."""

    path: str
    fault: str
    count: int = 1
    method: str | None = None

    def __post_init__(self) -> None:
        Fault.parse(self.fault)
        if self.count < 0:
            msg = "count must not be negative"
            raise ValueError(msg)

    def matches(self, method: str, path: str) -> bool:
        """Whether this entry covers the request."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


@dataclass
class FaultConfig:
    """Everything that makes the sandbox misbehave; all off by default."""

    latency_ms: float = 0.0
    fault_rate: float = 0.0
    seed: int | None = None
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    slow_seconds: float = 5.0
    max_body_bytes: int | None = None
    script: list[ScriptedFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            msg = "fault_rate must be within [0, 1]"
            raise ValueError(msg)
        self.fault_kinds = tuple(self.fault_kinds)
        for kind in self.fault_kinds:
            Fault.parse(kind)
        if self.fault_rate > 0 and not self.fault_kinds:
            msg = "fault_rate needs at least one fault kind"
            raise ValueError(msg)
        self.script = [
            item if isinstance(item, ScriptedFault) else ScriptedFault(**item)
            for item in self.script
        ]

    def to_json(self) -> dict[str, Any]:
        """The shape ``GET /_sandbox/faults`` answers and ``POST`` accepts."""
        return {
            "latency_ms": self.latency_ms,
            "fault_rate": self.fault_rate,
            "seed": self.seed,
            "fault_kinds": list(self.fault_kinds),
            "slow_seconds": self.slow_seconds,
            "max_body_bytes": self.max_body_bytes,
            "script": [
                {"path": s.path, "fault": s.fault, "count": s.count, "method": s.method}
                for s in self.script
            ],
        }

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with the given fields replaced; unknown fields are an error."""
        unknown = set(changes) - set(self.to_json())
        if unknown:
            msg = f"unknown fault settings: {sorted(unknown)}"
            raise ValueError(msg)
        return replace(self, **changes)


class FaultInjector:
    """Decides, per request, which fault (if any) strikes; shared by all server threads."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducible, not secret

    @property
    def config(self) -> FaultConfig:
        """The current configuration."""
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        """Swap configuration; the random sequence restarts from the seed, for replays."""
        with self._lock:
            self._rng = random.Random(config.seed)  # noqa: S311
            self._config = config

    def pick(self, method: str, path: str) -> Fault | None:
        """Scripted faults first (consuming one use), then the random fault rate."""
        with self._lock:
            for item in self._config.script:
                if item.count > 0 and item.matches(method, path):
                    item.count -= 1
                    return Fault.parse(item.fault)
            config = self._config
            if config.fault_rate > 0 and self._rng.random() < config.fault_rate:
                return Fault.parse(self._rng.choice(config.fault_kinds))
        return None
