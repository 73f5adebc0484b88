"""The stream writer: what every sink of a stream does with a record.

It numbers each record for the checkpoints, validates it against its stream's schema (with
hints for values a stream map computed), builds it into a request with its operation's pure
builder and hands it to the stream's strategy.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import replace

from jsonschema import FormatChecker
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

from target_incidentio.core.errors import DeliveryFailedError, RecordError
from target_incidentio.operations import OPERATIONS, answer_keys
from target_incidentio.payloads.base import BuildContext
from target_incidentio.payloads.fields import constant_fields, mapped_fields, record_key

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Sequence

    from jsonschema import ValidationError

    from target_incidentio.payloads.base import Numbered
    from target_incidentio.run.lifecycle import Run
    from target_incidentio.settings import Settings

_DATELIKE = FormatChecker(formats=())


@_DATELIKE.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # The SDK makes `fromisoformat` accept RFC 3339 (a `Z`, any precision) on every Python.
    return not isinstance(value, str) or bool(dt.datetime.fromisoformat(value))


@_DATELIKE.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.date.fromisoformat(value))


@_DATELIKE.checks("time", raises=ValueError)
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.time.fromisoformat(value))


class RecordValidator:
    """The stream's JSON schema, with date, time and date-time values that must parse.

    It reports rather than raises: what an invalid record becomes is `on_error`'s decision.
    """

    def __init__(self, schema: dict[str, t.Any]) -> None:
        self._validator = DEFAULT_JSONSCHEMA_VALIDATOR(schema, format_checker=_DATELIKE)

    def first_error(self, record: dict[str, t.Any]) -> ValidationError | None:
        """The first way the record breaks its schema, or None."""
        return next(iter(self._validator.iter_errors(record)), None)


_FIX = (
    "fix the record at the source, {how}, or set `on_error: continue` to send the rest and "
    "keep this one in `dead_letter_path`."
)


# Expressions the SDK types by their first call (`singer_sdk.mapper`), so never as a string.
_TYPED_CALLS = ("int(", "float(", "bool(", "str(", "json.dumps(", "datetime.")


def _computed_hint(path: list[str], computed: dict[str, str], problem: ValidationError) -> str:
    """The way out for a value a stream map computed and the SDK typed as a string; else ''.

    The SDK gives a computed field the type string unless the expression starts with a typed
    call or names a property of the source schema; a value of another type then breaks it.
    """
    expression = computed.get(path[0]) if len(path) == 1 else None
    # A "type" error's validator value is the schema's `type`: a name or a list of names.
    expected = (
        t.cast("str | list[str]", problem.validator_value) if problem.validator == "type" else ()
    )
    if expression is None or "string" not in expected:
        return ""
    if expression.isidentifier() or expression.startswith(_TYPED_CALLS):
        return ""  # a renamed property keeps its type; a typed call has its own
    value = problem.instance
    field = path[0]
    said = (
        f"'{field}' comes from the stream map expression `{expression}`, and the SDK types a "
        "computed field as a string unless its expression starts with int(, float( or bool(: "
    )
    if isinstance(value, (list, dict)):
        return said + (
            "a list or an object cannot be typed that way, so set `validate_records: false` "
            "to send the computed value unchecked."
        )
    wrap = {bool: "bool", int: "int", float: "float"}.get(type(value), "str")
    return said + f'write it as "{wrap}({expression})".'


# The settings that may name what a run looks up before a stream's first record.
NAMED_SETTINGS = frozenset({"custom_fields", "role_assignments"})


class StreamWriter:
    """What every sink of a stream does with a record: number, check, build, submit."""

    def __init__(  # noqa: PLR0913 - what a stream's writer is built from, each one thing
        self,
        run: Run,
        settings: Settings,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str],
        *,
        stream_maps: object,
        logger: logging.Logger,
    ) -> None:
        """Built from the run, the settings, the stream's schema and maps: not the Target."""
        self.run = run
        self.stream = stream_name
        self.settings = settings.for_stream(stream_name)
        self.operation = OPERATIONS[self.settings.operation]
        self.key_properties = tuple(key_properties)
        self.operation.check_stream(self.settings, stream_name, self.key_properties)
        self.schema = schema
        validate = settings.delivery.validate_records
        self.validator = RecordValidator(schema) if validate else None
        self.given = BuildContext(
            stream=stream_name,
            key_properties=self.key_properties,
            settings=self.settings,
            key_rate_per_minute=settings.defaults.rate_limit_per_minute,
            alert_rate_per_minute=settings.delivery.alert_source_rate_limit_per_minute,
            schema_fields=frozenset(schema.get("properties") or ()) or None,
            directory=self.run.directory,
            answer_keys=answer_keys(self.operation),
            constants=constant_fields(stream_maps, stream_name),
        )
        self._prepared: BuildContext | None = None
        self._computed = mapped_fields(stream_maps, stream_name)
        self._warned_unplaced = self.run.warned_fields(stream_name)
        make = self.operation.strategy(self.settings)
        self.strategy = self.run.strategy(stream_name, lambda: make(self.run, self.given))
        self._logger = logger

    @property
    def ctx(self) -> BuildContext:
        """The build context once the operation has prepared what the settings name.

        Prepared at the stream's first record, not when the sink is made (building has no side
        effects): a catalog type by name is looked up, or created, then; a failure stops the
        run before any record of the stream is sent.
        """
        if self._prepared is None:
            if NAMED_SETTINGS & set(self.operation.reads):
                self.run.resolve_names(self.stream)
            prepared = self.operation.prepare(self.given, self.schema, self.run)
            self._warned_unplaced |= prepared.reported
            self._prepared = replace(self.given, settings=prepared.settings)
            self.strategy.prepared(self._prepared)
        return self._prepared

    def accept(self, record: dict[str, t.Any]) -> int | None:
        """The record's sequence number, or None when it is reported instead.

        A record that lacks a key property or breaks its schema is reported, and `on_error`
        decides what that means.
        """
        (sequence,) = self.run.admit()
        keyless = self._without_key(record)
        if keyless is not None:
            try:
                self._reject(keyless, sequence, record)
            except DeliveryFailedError as stop:
                # The SDK's own error for this case (its standard tests expect it), our words.
                raise MissingKeyPropertiesError(str(stop)) from stop
            return None
        problem = self.validator.first_error(record) if self.validator is not None else None
        if problem is None:
            return sequence
        self._reject(self._invalid(record, problem), sequence, record)
        return None

    def _reject(self, error: RecordError, sequence: int, record: dict[str, t.Any]) -> None:
        """A record that cannot be sent: its strategy hears of it, the ledger reports it."""
        self.strategy.rejected(1)
        self.run.report_invalid(error, self.operation.name, iter([(sequence, record)]))

    def _without_key(self, record: dict[str, t.Any]) -> RecordError | None:
        """A record lacking one of the stream's key properties (the SDK would stop the run)."""
        missing = [name for name in self.key_properties if name not in record]
        if not missing:
            return None
        return RecordError(
            stream=self.stream,
            record_key=record_key(record, (), self.given.schema_fields),
            field=missing[0],
            problem=f"lacks key property '{missing[0]}' (the stream's key properties: "
            f"{', '.join(self.key_properties)}), which names the record in incident.io.",
            hint=_FIX.format(how="fill the field with stream_maps"),
        )

    def send(self, records: Sequence[Numbered]) -> None:
        """Build one call for `records` and submit it (blocks only while delivery is full)."""
        self._warn_unplaced([record for _sequence, record in records])
        try:
            request = self.operation.build(records, self.ctx)
        except RecordError as error:
            self.strategy.rejected(len(records))
            self.run.report_invalid(error, self.operation.name, iter(records))
            return
        self.run.note_idempotency_key(request)
        self.strategy.send(request)

    def _invalid(self, record: dict[str, t.Any], problem: ValidationError) -> RecordError:
        """The validation error as the target's own: stream, record key, field, what was wrong."""
        path = [str(part) for part in problem.absolute_path]
        required = problem.validator_value
        if problem.validator == "required" and isinstance(problem.instance, dict):
            path += [n for n in t.cast("list[str]", required) if n not in problem.instance][:1]
        return RecordError(
            stream=self.stream,
            record_key=record_key(record, self.key_properties, self.given.schema_fields),
            field=".".join(path) or None,
            problem=f"breaks the stream's schema: {problem.message}.",
            hint=_computed_hint(path, self._computed, problem)
            or _FIX.format(how="convert it with stream_maps"),
        )

    def _warn_unplaced(self, records: list[dict[str, t.Any]]) -> None:
        """Tell the user once per field when a mapping leaves a field with nowhere to go."""
        fresh: set[str] = set()
        settings = self.ctx.settings  # catalog attributes by name: the fields they were prepared as
        for record in records:
            fresh |= self.operation.unplaced_fields(record, settings, self.key_properties)
        fresh -= self._warned_unplaced
        if fresh:
            self._warned_unplaced |= fresh
            self._logger.warning(
                "Stream '%s' (%s): fields %s are not used by this operation and are not sent. "
                "Rename them with stream_maps to an API field, or drop them with "
                "exclude_attributes or `__NULL__`.",
                self.stream,
                self.operation.name,
                ", ".join(sorted(fresh)),
            )
