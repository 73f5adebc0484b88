"""Sinks: one class per kind of write; each turns records into calls and hands them to delivery.

Records stream out as they arrive: a sink builds the request (pure builders in
`payloads/`) and submits it to the shared delivery engine, which sends up to
`max_concurrency` calls at once with per-key order. The target confirms every call
before it emits STATE.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import replace

from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_incidentio.errors import RecordError
from target_incidentio.payloads import BUILDERS, unplaced_fields
from target_incidentio.payloads.base import BuildContext

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.target import TargetIncidentIO


class IncidentIOSink(BatchSink):
    """Shared behaviour: build one call per record (or per batch for `http`), submit it."""

    operation: t.ClassVar[str]
    # Only the generic endpoint can take several records in one call.
    batches_records: t.ClassVar[bool] = False

    def __init__(
        self,
        target: TargetIncidentIO,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._incidentio = target
        self.stream_settings = target.settings.for_stream(stream_name)
        self._ctx = BuildContext(
            stream=stream_name,
            key_properties=tuple(key_properties or ()),
            settings=self.stream_settings,
            key_rate_per_minute=target.settings.delivery.rate_limit_per_minute,
            alert_rate_per_minute=target.settings.delivery.alert_source_rate_limit_per_minute,
        )
        self._build = BUILDERS[self.operation]
        self._warned_unplaced: set[str] = set()

    @property
    def _buffers(self) -> bool:
        """Only `http` with `batch_size_rows` > 1 gathers records into one call."""
        return self.batches_records and self.stream_settings.batch_size_rows > 1

    @property
    @override
    def max_size(self) -> int:
        # One record per call is sent as it arrives (no SDK drain, and its log lines, per
        # record); a batching stream drains every `batch_size_rows` records into one call.
        return self.stream_settings.batch_size_rows if self._buffers else self.MAX_SIZE_DEFAULT

    @override
    def preprocess_record(
        self, record: dict[str, t.Any], context: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        # The SDK parses date-time fields into Python objects; the API wants RFC 3339 text.
        for name, value in record.items():
            if isinstance(value, (dt.date, dt.time)):
                record[name] = value.isoformat()
        return record

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        if self._buffers:
            super().process_record(record, context)  # kept for process_batch
        else:
            self._submit([record])

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        records: list[dict[str, t.Any]] = context.get("records", [])
        if records:
            self._submit(records)

    def _submit(self, records: list[dict[str, t.Any]]) -> None:
        """Build one call and hand it to delivery (blocks only while delivery is full)."""
        ledger = self._incidentio.ledger
        with self._incidentio.signals.deferred():
            ledger.check()
            self._warn_unplaced(records)
            try:
                request = self._build(records, self._ctx)
            except RecordError as error:
                ledger.on_invalid(error, operation=self.operation, record=records[0])
                ledger.check()
                return
            self._incidentio.delivery.submit(
                replace(request, stream=self.stream_name, operation=self.operation)
            )

    def _warn_unplaced(self, records: list[dict[str, t.Any]]) -> None:
        """Tell the user once per field when a mapping leaves a field with nowhere to go."""
        fresh: set[str] = set()
        for record in records:
            fresh |= unplaced_fields(
                self.operation, record, self.stream_settings, self.key_properties
            )
        fresh -= self._warned_unplaced
        if fresh:
            self._warned_unplaced |= fresh
            self.logger.warning(
                "Stream '%s' (%s): fields %s are not used by this operation and are not sent. "
                "Rename them with stream_maps to an API field, or drop them with "
                "exclude_attributes or `__NULL__`.",
                self.stream_name,
                self.operation,
                ", ".join(sorted(fresh)),
            )


class AlertEventSink(IncidentIOSink):
    """Alert events: trigger incident.io's alert routes and incident workflows."""

    operation = "alert_event"


class IncidentSink(IncidentIOSink):
    """New incidents, created once per idempotency key."""

    operation = "incident"


class IncidentEditSink(IncidentIOSink):
    """Edits of existing incidents."""

    operation = "incident_edit"


class IncidentUpdateSink(IncidentIOSink):
    """Status updates posted to existing incidents."""

    operation = "incident_update"


class CatalogEntrySink(IncidentIOSink):
    """Catalog entries, upserted on external id."""

    operation = "catalog_entry"


class HttpSink(IncidentIOSink):
    """Any incident.io endpoint: records as JSON, one or a batch per call."""

    operation = "http"
    batches_records = True


SINKS: dict[str, type[IncidentIOSink]] = {
    sink.operation: sink
    for sink in (
        AlertEventSink,
        IncidentSink,
        IncidentEditSink,
        IncidentUpdateSink,
        CatalogEntrySink,
        HttpSink,
    )
}
