"""Sinks: the SDK's adapters, each handing a stream's records to its `StreamWriter`.

The writer numbers, validates, builds and submits each record (`stream_writer.py`).
`RecordCallSink` sends one record per call; `BatchCallSink` (only operations that batch, with
`batch_size_rows` > 1) lets the SDK gather records and sends each batch as one call.
"""

from __future__ import annotations

import typing as t

from singer_sdk.sinks import BatchSink, RecordSink, Sink
from typing_extensions import override

from target_incidentio.operations import OPERATIONS
from target_incidentio.payloads.base import Numbered

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk import Target

    from target_incidentio.stream_writer import StreamWriter


@t.runtime_checkable
class WritesStreams(t.Protocol):
    """What a sink needs of its target: a `StreamWriter` for its stream (the target makes it)."""

    def stream_writer(
        self, stream_name: str, schema: dict[str, t.Any], key_properties: Sequence[str]
    ) -> StreamWriter:
        """The writer of `stream_name`'s records."""
        ...


class _CallSink(Sink):
    """What both sinks share: a `StreamWriter`, and record checks left to it."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        if not isinstance(target, WritesStreams):
            msg = f"{type(target).__name__} cannot make a StreamWriter"
            raise TypeError(msg)
        self.writer = target.stream_writer(stream_name, self.schema, self.key_properties)

    @override
    def get_validator(self) -> None:
        return None  # StreamWriter validates, so that `on_error` decides what a bad row becomes

    @override
    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        return record  # see docs/sdk.md: values are sent as the tap wrote them

    @override
    def _singer_validate_message(self, record: dict[str, t.Any]) -> None:
        """Missing key properties are `StreamWriter.accept`'s to report (see docs/sdk.md)."""

    @override
    def activate_version(self, new_version: int) -> None:
        if self.writer.strategy.uses_versions:
            # A candidate end of the snapshot, judged at the stream's next record or the end
            # of input (run/completion.py): SDK taps send it before a version's records.
            self.writer.run.completion.activate_version(self.stream_name, new_version)
        else:
            self.writer.run.note_version(self.stream_name, self.writer.operation.name)


class RecordCallSink(_CallSink, RecordSink):
    """One call per record, sent as the record arrives."""

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        sequence = self.writer.accept(record)
        if sequence is not None:
            self.writer.send((Numbered(sequence, record),))


class BatchCallSink(_CallSink, BatchSink):
    """`batch_size_rows` records per call; the SDK gathers them and drains each batch."""

    @property
    @override
    def max_size(self) -> int:
        return self.writer.settings.batch_size_rows

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        sequence = self.writer.accept(record)
        if sequence is not None:
            context.setdefault("numbered", []).append(Numbered(sequence, record))

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        records: list[Numbered] = context.get("numbered", [])
        if records:
            self.writer.send(records)


def sink_class(operation: str, batch_size_rows: int) -> type[Sink]:
    """The sink a stream gets: batches only where its operation batches and a size asks."""
    if OPERATIONS[operation].batches and batch_size_rows > 1:
        return BatchCallSink
    return RecordCallSink
