"""Incidents made in the dashboard: there before the first request, with no idempotency key.

A seed's ``incidents`` are what a responder declared by hand, so that tests can model a
target adopting an incident it did not create, or finding two incidents for one key. Each
is the body ``POST /v2/incidents`` takes, without ``idempotency_key`` (judged against the
spec's ``IncidentsCreatePayloadV2``), plus an optional ``id`` and ``created_at``. One without
an ``id`` gets a new one each time it is put in (at the start, on each reset, on each load).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from incidentio_sandbox.seed.parsing import JSONObject, spec_problems
from incidentio_sandbox.validation import load_spec

# Fields of a seeded incident that are not the create body's.
OWN_FIELDS = ("id", "created_at")


@functools.cache
def _create_body() -> JSONObject:
    """The spec's create body without ``idempotency_key``, and nothing it does not name."""
    schema = copy.deepcopy(load_spec()["components"]["schemas"]["IncidentsCreatePayloadV2"])
    schema["required"] = [name for name in schema["required"] if name != "idempotency_key"]
    schema["properties"].pop("idempotency_key")
    schema["additionalProperties"] = False
    result: JSONObject = schema
    return result


@dataclass(frozen=True)
class DashboardIncident:
    """One incident declared by hand: the create body, and the id and time it was given."""

    body: Mapping[str, Any]
    id: str = ""
    created_at: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DashboardIncident:
        """Parse one; a field the create body does not take is refused, naming it."""
        if not isinstance(data, Mapping):
            msg = "a seeded incident is a JSON object"
            raise TypeError(msg)
        body = {k: v for k, v in data.items() if k not in OWN_FIELDS}
        body.setdefault("visibility", "public")
        problems = spec_problems(_create_body(), body, where="incident")
        if problems:
            msg = f"a seeded incident does not fit POST /v2/incidents: {'; '.join(problems)}"
            raise ValueError(msg)
        return cls(
            body=copy.deepcopy(body),
            id=str(data.get("id") or ""),
            created_at=str(data.get("created_at") or ""),
        )

    def to_json(self) -> JSONObject:
        """The seed shape."""
        own = {name: getattr(self, name) for name in OWN_FIELDS if getattr(self, name)}
        return {**own, **copy.deepcopy(dict(self.body))}
