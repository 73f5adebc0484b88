"""What a payload builder returns, and the context it builds from."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from target_incidentio.core.urls import endpoint_url
from target_incidentio.payloads.names import NO_DIRECTORY

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_incidentio.core.secrets import Secret
    from target_incidentio.payloads.names import ListDirectory
    from target_incidentio.settings import StreamSettings

JSON = t.Any
# What a call does to incident.io, for the summary: `send` (as built: an upsert, an event),
# or, where a strategy knows, `create`, `update` or `delete` (a delete's one record is the
# entry it removes, not an input record), `resolve` (an alert whose row left a snapshot), or
# `close` (an incident whose row left a sync's snapshot; its one record is the incident).
Effect = t.Literal["send", "create", "update", "delete", "resolve", "close"]


@dataclass(frozen=True)
class RateScope:
    """A rate limit a call counts against, e.g. an API key or an alert source."""

    name: str
    per_minute: float
    # How the limiter keeps it: "key" mirrors incident.io's API-key bucket (burst to per_minute,
    # corrected by the response headers), "window" allows per_minute calls in any 60 s (alert
    # sources, which have no burst), "cap" is a plain local bucket (a stream's own lower cap).
    kind: t.Literal["key", "window", "cap"] = "key"


@dataclass(frozen=True)
class Resolved:
    """A name a builder turned into an id: the record field, the name it held, the id sent."""

    field: str
    name: str
    id: str


@dataclass(frozen=True)
class ApiRequest:
    """One API call, fully built: the delivery layer adds only auth and transport."""

    method: str
    url: str
    body: JSON
    credential: Secret | None
    # Requests sharing an order key are sent one after another, in input order.
    order_key: str
    # Buckets this call draws from: the API key's, an alert source's, a stream's own cap.
    rate_scopes: tuple[RateScope, ...]
    records: tuple[dict[str, t.Any], ...]
    record_keys: tuple[str, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    # The stream and operation, for response records and messages; for the checkpoints, the
    # sequence numbers of the records this call carries. None of a heartbeat's or webhook's.
    stream: str = ""
    operation: str = ""
    sequences: tuple[int, ...] = ()
    effect: Effect = "send"
    # The keys under which the answer may wrap what the call created or changed (`incident`,
    # `catalog_entry`), from the operation table, for `resource_id`.
    answer_keys: tuple[str, ...] = ()
    # The names the builder looked up for this call, shown in its response record.
    resolved: tuple[Resolved, ...] = ()
    # What a write of the target's own is, for its response record (`create catalog type`);
    # empty for a record's call, and for a look-up (a GET carrying no record).
    purpose: str = ""
    # What a sync did for the record (`action`, `incident_id`, `incident_reference`,
    # `fields_changed`), for its response record; None for every other call.
    outcome: Mapping[str, t.Any] | None = None

    @property
    def record_count(self) -> int:
        """Records carried by this call."""
        return len(self.records)


class Numbered(t.NamedTuple):
    """A record and the number the run gave it for the checkpoints (`Run.admit`)."""

    sequence: int
    record: dict[str, t.Any]


@dataclass(frozen=True)
class BuildContext:
    """What a builder knows besides the records: the stream and its resolved settings."""

    stream: str
    key_properties: Sequence[str]
    settings: StreamSettings
    # The key's own bucket size (the top-level `rate_limit_per_minute`).
    key_rate_per_minute: float = 1200.0
    # An alert source's own bucket size (the top-level `alert_source_rate_limit_per_minute`).
    alert_rate_per_minute: float = 120.0
    # The stream's schema properties; a content-derived key reads only these. None: the
    # schema declares none, so every field counts.
    schema_fields: frozenset[str] | None = None
    # incident.io's lists that names resolve against: the run's `Directory` (which reads each
    # once); none by default.
    directory: ListDirectory = NO_DIRECTORY
    # Where the answer to a call of the stream's operation (`settings.operation`) names what
    # it made (`Operation.answer`, from the operation table), for the response record.
    answer_keys: tuple[str, ...] = ()
    # Fields a stream map sets to one text for every record (`fields.constant_fields`): an
    # incident sync stream's fixed incident type narrows its listing.
    constants: Mapping[str, str] = field(default_factory=dict)

    def request(  # noqa: PLR0913 - the parts of a call that depend on what was built
        self,
        records: Sequence[Numbered],
        *,
        method: str,
        url: str,
        body: JSON,
        credential: Secret | None,
        order_key: str,
        rate_scopes: tuple[RateScope, ...],
        record_keys: tuple[str, ...],
        resolved: tuple[Resolved, ...] = (),
    ) -> ApiRequest:
        """The whole request a builder returns for `records`: the one place it is made.

        The stream, its operation, the records' sequence numbers, the answer's keys and the
        stream's headers come from here, so no one patches a built request afterwards.
        """
        return ApiRequest(
            method=method,
            url=url,
            body=body,
            credential=credential,
            order_key=order_key,
            rate_scopes=rate_scopes,
            records=tuple(record for _sequence, record in records),
            record_keys=record_keys,
            headers=dict(self.settings.request_headers),
            stream=self.stream,
            operation=self.settings.operation,
            sequences=tuple(sequence for sequence, _record in records),
            answer_keys=self.answer_keys,
            resolved=resolved,
        )

    def api_key_scopes(self) -> tuple[RateScope, ...]:
        """Buckets of a call made with the API key, plus the stream's cap if it set one."""
        key = self.settings.api_key
        name = f"api_key:{key.fingerprint if key else 'none'}"
        return (RateScope(name, self.key_rate_per_minute), *self.stream_cap())

    def api_key_call(  # noqa: PLR0913 - the parts of a call a strategy makes itself
        self,
        method: str,
        path: str,
        *,
        order_key: str,
        operation: str,
        body: JSON = None,
        records: tuple[Mapping[str, t.Any], ...] = (),
        record_keys: tuple[str, ...] = (),
        sequences: tuple[int, ...] = (),
        effect: Effect = "send",
        purpose: str = "",
        outcome: Mapping[str, t.Any] | None = None,
    ) -> ApiRequest:
        """A call a strategy makes itself: the API key, its rate scopes, the stream's headers."""
        settings = self.settings
        return ApiRequest(
            method=method,
            url=endpoint_url(settings.base_url, path),
            body=body,
            credential=settings.api_key,
            order_key=order_key,
            rate_scopes=self.api_key_scopes(),
            records=tuple(dict(r) for r in records),
            record_keys=record_keys,
            headers=dict(settings.request_headers),
            stream=self.stream,
            operation=operation,
            sequences=sequences,
            effect=effect,
            purpose=purpose,
            outcome=outcome,
        )

    def stream_cap(self) -> tuple[RateScope, ...]:
        """The stream's own bucket, when `streams.<name>.rate_limit_per_minute` set a lower rate."""
        if self.settings.rate_limit_per_minute < self.key_rate_per_minute:
            cap = self.settings.rate_limit_per_minute
            return (RateScope(f"stream:{self.stream}", cap, "cap"),)
        return ()


class PayloadBuilder(t.Protocol):
    """Turns numbered records into one whole request; pure, so most tests need no server."""

    def __call__(
        self, records: Sequence[Numbered], ctx: BuildContext
    ) -> ApiRequest:  # pragma: no cover - protocol
        """Build the request for `records` (one record unless the operation batches)."""
        ...
