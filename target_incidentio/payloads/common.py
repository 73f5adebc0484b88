"""Pieces every typed builder shares: one record in, checked fields out, one request back.

Each operation declares its body fields as `{name: reader}`; a reader takes the field's
value from the record, checks its type against incident.io's schema and raises a
`RecordError` that names the stream, record and field, so nothing is sent for a bad record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from dataclasses import dataclass
from decimal import Decimal

from target_incidentio.core.errors import RecordError
from target_incidentio.core.urls import endpoint_url
from target_incidentio.payloads.base import BuildContext, Numbered, RateScope, Resolved
from target_incidentio.payloads.fields import (
    derive_key,
    key_values,
    lookup,
    path_segment,
    plain_json,
    record_key,
    sendable,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_incidentio.core.secrets import Secret
    from target_incidentio.payloads.base import ApiRequest

INT32_MAX = 2**31 - 1


def as_number(value: object) -> Decimal | None:
    """A JSON number as a Decimal (the SDK reads floats as Decimal), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return None


def number_text(number: Decimal) -> str:
    """A number as plain text, never in exponent notation."""
    return format(number, "f")


def canonical_number(text: str) -> str | None:
    """A number's text in one spelling ("1.50", "1.5" and "15e-1" are one number), else None.

    For comparing numbers incident.io keeps as text (custom field and catalog values).
    """
    try:
        parsed = Decimal(text.strip())
    except ArithmeticError:
        return None
    if not parsed.is_finite():
        return None
    return "0" if parsed.is_zero() else number_text(parsed.normalize())


def stream_map_hint(stream: str, field: str, expression: str) -> str:
    """How to fill or fix a field with a Meltano stream map."""
    return f'map it with stream_maps: {{"{stream}": {{"{field}": "{expression}"}}}}.'


@dataclass(frozen=True)
class Record:
    """One record being built, as it may be sent (see `sendable`); names itself in errors."""

    data: dict[str, t.Any]
    original: dict[str, t.Any]
    ctx: BuildContext
    key: str
    # The number the run gave it, which its request carries for the checkpoints.
    sequence: int
    # The names this record's request resolved (field, name, id), for its response record.
    resolved: list[Resolved] = dataclasses.field(default_factory=list)

    @classmethod
    def single(cls, records: Sequence[Numbered], ctx: BuildContext, operation: str) -> Record:
        """The one record of a call; these operations are one record per request."""
        if len(records) != 1:
            msg = f"the {operation} operation builds one request per record, got {len(records)}"
            raise ValueError(msg)
        sequence, original = records[0]
        return cls(
            data=sendable(original, ctx),
            original=original,
            ctx=ctx,
            key=record_key(original, ctx.key_properties, ctx.schema_fields),
            sequence=sequence,
        )

    def derived_key(self, purpose: str, ignore: Iterable[str] = ()) -> str:
        """A deterministic key from the record as it came in.

        The input record, not the one after `exclude_attributes`: excluding a key property
        from what is sent must not change which incident or alert a record reaches. Without
        key properties only the schema's fields count, nulls as absent, so that a column the
        tap adds later does not change the key.
        """
        return derive_key(
            purpose=purpose,
            stream=self.ctx.stream,
            key_properties=self.ctx.key_properties,
            record=self.original,
            ignore=ignore,
            fields=self.ctx.schema_fields,
        )

    def key_values(self) -> list[t.Any] | None:
        """The key properties' values in the input record, or None if any is missing."""
        return key_values(self.original, self.ctx.key_properties)

    def get(self, field: str) -> t.Any:  # noqa: ANN401 - any JSON value
        """The field's value (dotted paths allowed); None when absent or null."""
        return lookup(self.data, field)

    def segment(self, field: str, value: str) -> str:
        """The value of `field` as one URL path segment (see `path_segment`)."""
        return path_segment(
            value, stream=self.ctx.stream, key=self.key, field=field, where="the URL path"
        )

    def error(self, field: str | None, problem: str, hint: str = "") -> RecordError:
        """A `RecordError` for this record."""
        return RecordError(
            stream=self.ctx.stream, record_key=self.key, field=field, problem=problem, hint=hint
        )

    def missing(self, field: str, expression: str, why: str = "") -> RecordError:
        """The error for a required field the record lacks."""
        problem = f"'{field}' is required{why} but the record has no value for it."
        return self.error(field, problem, stream_map_hint(self.ctx.stream, field, expression))

    def wrong_type(self, field: str, value: object, expected: str, expression: str) -> RecordError:
        """The error for a field whose value has the wrong type."""
        return self.error(
            field,
            f"expected {expected}, got {type(value).__name__} {value!r}.",
            f"convert it, e.g. {stream_map_hint(self.ctx.stream, field, expression)}",
        )

    def request(
        self,
        *,
        path: str,
        body: dict[str, t.Any],
        order_key: str,
        credential: Secret | None,
        rate_scopes: tuple[RateScope, ...],
    ) -> ApiRequest:
        """The POST request for this record."""
        return self.ctx.request(
            (Numbered(self.sequence, self.original),),
            method="POST",
            url=endpoint_url(self.ctx.settings.base_url, path),
            body=plain_json(body),
            credential=credential,
            order_key=order_key,
            rate_scopes=rate_scopes,
            record_keys=(self.key,),
            resolved=tuple(self.resolved),
        )

    def api_key_request(self, *, path: str, body: dict[str, t.Any], order_key: str) -> ApiRequest:
        """The POST request for an endpoint that takes the API key."""
        return self.request(
            path=path,
            body=body,
            order_key=order_key,
            credential=self.ctx.settings.api_key,
            rate_scopes=self.ctx.api_key_scopes(),
        )


# A reader turns a record field into its body value, or None when the record lacks it.
Reader = t.Callable[[Record, str], t.Any]


_Value = t.TypeVar("_Value")


def _exactly(
    kind: type[_Value], wanted: str, cast: str
) -> t.Callable[[Record, str], _Value | None]:
    """A reader of a field that holds a `kind`, sent as it is; any other value is refused.

    `wanted` names the kind in the error; `cast` is the stream map function its hint offers.
    """

    def read(record: Record, field: str) -> _Value | None:
        value = record.get(field)
        if value is None or isinstance(value, kind):
            return value
        raise record.wrong_type(field, value, wanted, f"{cast}({field})")

    return read


# A string field.
text = _exactly(str, "a string", "str")
# A true/false field.
boolean = _exactly(bool, "true or false", "bool")


def identifier(record: Record, field: str) -> str | None:
    """An id or key: a string, or a whole number that is sent as its decimal text."""
    value = record.get(field)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise record.wrong_type(field, value, "a string id", f"str({field})")


def date_time(record: Record, field: str) -> str | None:
    """An RFC 3339 date-time with its offset (`2026-09-01T15:30:00Z`), sent as written."""
    value = record.get(field)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (AttributeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise record.wrong_type(
            field, value, "an RFC 3339 date-time with its offset", f"{field} + 'Z'"
        )
    return str(value)


def int32(record: Record, field: str) -> int | None:
    """A 32-bit whole number; a string holding one is accepted."""
    value = record.get(field)
    if value is None:
        return None
    number: int | None = None
    decimal = as_number(value)
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    elif decimal is not None and decimal.is_finite() and decimal == decimal.to_integral_value():
        number = int(decimal)
    if number is None or abs(number) > INT32_MAX:
        raise record.wrong_type(field, value, "a whole number (32-bit)", f"int({field})")
    return number


def strings(record: Record, field: str) -> list[str] | None:
    """A list of strings."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise record.wrong_type(field, value, "a list of strings", f"[str(x) for x in {field}]")


def mapping(record: Record, field: str) -> dict[str, t.Any] | None:
    """A JSON object."""
    value = record.get(field)
    if value is None or isinstance(value, dict):
        return value
    raise record.wrong_type(field, value, "an object", f"{{'value': {field}}}")


def one_of(*choices: str) -> Reader:
    """A reader for a string that must be one of `choices`."""

    def read(record: Record, field: str) -> str | None:
        value = text(record, field)
        if value is None or value in choices:
            return value
        raise record.error(
            field,
            f"{value!r} is not one of {', '.join(choices)}.",
            stream_map_hint(record.ctx.stream, field, f"'{choices[0]}'"),
        )

    return read


def objects(**shape: type) -> Reader:
    """A reader for a list of objects, each with the keys of `shape` holding those types."""
    described = ", ".join(f"{key} ({kind.__name__})" for key, kind in shape.items())

    def read(record: Record, field: str) -> list[dict[str, t.Any]] | None:
        value = record.get(field)
        if value is None:
            return None
        if not isinstance(value, list):
            raise record.wrong_type(
                field, value, f"a list of objects with {described}", f"[{field}]"
            )
        for index, item in enumerate(value):
            if not isinstance(item, dict) or not all(
                isinstance(item.get(key), kind) for key, kind in shape.items()
            ):
                raise record.error(
                    f"{field}[{index}]",
                    f"expected an object with {described}, got {item!r}.",
                    f"see incident.io's API reference for the shape of '{field}'.",
                )
        return list(value)

    return read


def read_fields(record: Record, readers: Mapping[str, Reader]) -> dict[str, t.Any]:
    """The body fields the record has, each read and checked by its reader."""
    body: dict[str, t.Any] = {}
    for name, read in readers.items():
        value = read(record, name)
        if value is not None:
            body[name] = value
    return body


def require(record: Record, body: Mapping[str, t.Any], field: str, expression: str) -> None:
    """Refuse a body without a value for a field the API requires."""
    if body.get(field) in (None, ""):
        raise record.missing(field, expression)


def required_identifier(
    record: Record, fields: Iterable[str], expression: str, why: str = ""
) -> str:
    """The first non-empty id among `fields`, else an error naming the first one."""
    names = list(fields)
    for name in names:
        value = identifier(record, name)
        if value:
            return value
    raise record.missing(names[0], expression, why)


def top_level(paths: Iterable[str]) -> set[str]:
    """The record fields that dotted paths start from."""
    return {path.split(".", 1)[0] for path in paths}
