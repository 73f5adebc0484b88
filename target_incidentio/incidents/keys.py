r"""A record's sync key, where it lives, and what is refused about it.

The key is the stream's `key_properties`, read from the input record (so `exclude_attributes`
cannot change which incident a record reaches); several are joined in order with `/`, a `/`
or `\` inside a value escaped with `\` (`acme/42`). incident.io holds it in a text custom
field (`incident_key_field`); the target keeps no store of its own.
"""

from __future__ import annotations

import hashlib
import typing as t
from decimal import Decimal

from target_incidentio.core.errors import RecordError, SettingError
from target_incidentio.payloads.common import as_number, number_text
from target_incidentio.payloads.fields import canonical

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SEPARATOR = "/"
# The idempotency key's purpose: a create's key depends on this, the stream and the sync key.
PURPOSE = "incident-sync"


def require_key_properties(stream: str, key_properties: Sequence[str]) -> None:
    """A `sync` stream needs key properties: refused at its SCHEMA, before any record."""
    if key_properties:
        return
    raise SettingError(
        f"streams.{stream}.incident_mode",
        f"is `sync`, but stream '{stream}' has no key properties, so its records have no key "
        "to find their incident by.",
        "declare them in the tap, or with a stream map: "
        f'{{"stream_maps": {{"{stream}": {{"__key_properties__": ["id"]}}}}}}.',
    )


def _text(value: object) -> str:
    """One key value as text: numbers without exponent, booleans as JSON spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    number = as_number(value)
    if number is not None and number.is_finite():
        return number_text(number.normalize() if isinstance(value, (float, Decimal)) else number)
    if isinstance(value, str):
        return value
    return canonical(value)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR)


def sync_key(
    record: Mapping[str, t.Any], key_properties: Sequence[str], *, stream: str, record_key: str
) -> str:
    """The key a record's incident holds; a missing or empty part fails the record."""
    parts = []
    for name in key_properties:
        value = record.get(name)
        text = None if value is None else _text(value)
        if not text:
            raise RecordError(
                stream=stream,
                record_key=record_key,
                field=name,
                problem=(
                    f"key property '{name}' is {'empty' if text == '' else 'missing'}, so the "
                    "record has no key to find its incident by (incident_mode: sync)."
                ),
                hint=f"fill '{name}' at the source, or set other key properties for the stream.",
            )
        parts.append(text)
    if len(parts) == 1:
        return parts[0]
    return SEPARATOR.join(_escaped(part) for part in parts)


def sync_idempotency_key(stream: str, key: str) -> str:
    """The create's idempotency key, from the stream and the sync key alone.

    A changed mapping, a changed row or a record's own `idempotency_key` never opens a
    second incident for the same key.
    """
    digest = hashlib.sha256(f"{PURPOSE}\n{canonical([stream, key])}".encode()).hexdigest()
    return f"target-incidentio-{digest[:40]}"


def conflict_error(
    stream: str, record_key: str, key: str, holders: Sequence[tuple[str, str]]
) -> RecordError:
    """Several incidents hold one key: the record fails naming each (reference, id)."""
    named = ", ".join(f"{reference} ({ident})" for reference, ident in holders)
    return RecordError(
        stream=stream,
        record_key=record_key,
        field=None,
        problem=(
            f"{len(holders)} incidents hold key {key!r} in their key field: {named}; the "
            "target cannot tell which one this record is, so nothing was written for it."
        ),
        hint="clear the key field on all but one of them in incident.io (or merge them), "
        "then run again.",
    )
