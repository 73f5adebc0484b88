"""Field helpers shared by every builder: exclusion, record keys, URL templates, key derivation."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import typing as t
from decimal import Decimal

from target_incidentio.core.errors import RecordError
from target_incidentio.core.urls import UnsafeSegmentError, segment

if t.TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Sequence

    from target_incidentio.payloads.base import BuildContext

SDC_PREFIX = "_sdc_"


def exclude(record: dict[str, t.Any], paths: Iterable[str]) -> dict[str, t.Any]:
    """Return a copy of `record` without the (dotted) paths; missing paths are ignored.

    A path reaches through arrays of objects: `lines.secret` drops `secret` from every
    element of `lines`.
    """
    result = copy.deepcopy(record)
    for path in paths:
        _drop(result, path.split("."))
    return result


def _drop(node: t.Any, parts: list[str]) -> None:  # noqa: ANN401 - any JSON value
    if isinstance(node, list):
        for item in node:
            _drop(item, parts)
    elif isinstance(node, dict):
        head, *rest = parts
        if rest:
            _drop(node.get(head), rest)
        else:
            node.pop(head, None)


def sendable(record: dict[str, t.Any], ctx: BuildContext) -> dict[str, t.Any]:
    """What of a record may leave the machine.

    Not `exclude_attributes`, and no `_sdc_*` field (a tap's own too, such as tap-jsonl's
    local `_sdc_filename`) unless `add_record_metadata` asks for them.
    """
    kept = exclude(record, ctx.settings.exclude_attributes)
    if ctx.settings.add_record_metadata:
        return kept
    return {name: value for name, value in kept.items() if not name.startswith(SDC_PREFIX)}


def key_values(record: dict[str, t.Any], key_properties: Sequence[str]) -> list[t.Any] | None:
    """The key properties' values, or None unless the stream has some and the record all."""
    values = [record.get(k) for k in key_properties]
    return values if values and all(v is not None for v in values) else None


def record_key(
    record: dict[str, t.Any],
    key_properties: Sequence[str],
    fields: Collection[str] | None = None,
) -> str:
    """Name a record in messages: its key properties, else a short content hash."""
    values = key_values(record, key_properties)
    if values is not None:
        return ", ".join(f"{k}={v!r}" for k, v in zip(key_properties, values, strict=True))
    return f"#{content_hash(record, fields=fields)[:12]}"


_INTEGER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")


def key_value(value: t.Any) -> t.Any:  # noqa: ANN401 - any JSON value
    """A key property's value in its canonical form: what a tap's retyping does not change.

    A whole number is an integer whatever its JSON type: 1, 1.0 and "1" are 1 (the text of an
    integer exactly as JSON writes one: no sign but '-', no leading zero, no space, so "007"
    and "+1" stay text). Integers keep the form 0.1.0 hashed; numeric strings did not.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    return value


def canonical(value: t.Any) -> str:  # noqa: ANN401 - any JSON value
    """Stable JSON text: the same data always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def without_nulls(value: t.Any) -> t.Any:  # noqa: ANN401 - any JSON value
    """`value` without the object members that say nothing, at any depth.

    Such a member is null, or an object holding nothing else (`{"env": null}`, `{}`): a
    column a tap adds later arrives that way in the rows it does not fill. Array items
    keep their places.
    """
    if isinstance(value, dict):
        kept = {}
        for name, item in value.items():
            inner = without_nulls(item)
            if inner is not None and inner != {}:
                kept[name] = inner
        return kept
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def content_hash(
    record: dict[str, t.Any],
    ignore: Iterable[str] = (),
    fields: Collection[str] | None = None,
) -> str:
    """Hash of what a row says, the same however the tap happens to spell the row.

    Left out: `_sdc_*` metadata (it changes on every run), the `ignore` fields, members that
    say nothing (see `without_nulls`: a null field and an absent one say the same, so a
    column added to the tap's schema changes nothing) and, when `fields` (the stream's
    schema properties) is given, fields outside it.
    """
    skipped = set(ignore)
    kept = {
        k: v
        for k, v in record.items()
        if not k.startswith(SDC_PREFIX) and k not in skipped and (fields is None or k in fields)
    }
    return hashlib.sha256(canonical(without_nulls(kept)).encode()).hexdigest()


def derive_key(  # noqa: PLR0913 - keyword arguments, each a part of what the key depends on
    *,
    purpose: str,
    stream: str,
    key_properties: Sequence[str],
    record: dict[str, t.Any],
    ignore: Iterable[str] = (),
    fields: Collection[str] | None = None,
) -> str:
    """Deterministic key, so that a rerun or a retry reaches the same object in incident.io.

    From the stream and the key properties when the record has them all, else from the
    record's content (see `content_hash`: less `ignore`, e.g. an alert's status so that
    firing and resolved pair up, and less what lies outside the schema's `fields`).
    """
    values = key_values(record, key_properties)
    if values is not None:
        pairs = sorted(zip(key_properties, map(key_value, values), strict=True))
        basis = canonical([stream, [list(pair) for pair in pairs]])
    else:
        basis = canonical([stream, content_hash(record, ignore, fields)])
    digest = hashlib.sha256(f"{purpose}\n{basis}".encode()).hexdigest()
    return f"target-incidentio-{digest[:40]}"


def fill_template(
    template: str,
    record: dict[str, t.Any],
    *,
    stream: str,
    key: str,
) -> str:
    """Fill `{field}` placeholders from the record, each URL-encoded as one path segment.

    A value can never change the path's shape: `.` and `..` (which a client or server folds
    into the path around them) are refused, and `/`, `?`, `#` and the like are encoded.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = lookup(record, name)
        if value is None or value == "":
            raise RecordError(
                stream=stream,
                record_key=key,
                field=name,
                problem=f"the URL template {template!r} needs field '{name}', "
                "which the record lacks or leaves empty.",
                hint=f"add '{name}' to the record, e.g. with a stream map "
                f'`stream_maps: {{{stream}: {{{name}: "<expression>"}}}}`.',
            )
        return path_segment(
            value, stream=stream, key=key, field=name, where=f"'{{{name}}}' in {template!r}"
        )

    return re.sub(r"\{([^{}]+)\}", replace, template)


def path_segment(value: object, *, stream: str, key: str, field: str, where: str) -> str:
    """A record value as one URL path segment; `.`, `..` and empty are the record's failure."""
    try:
        return segment(str(value))
    except UnsafeSegmentError:
        raise RecordError(
            stream=stream,
            record_key=key,
            field=field,
            problem=f"{str(value)!r} cannot fill {where}: it would move the request to "
            "another path.",
            hint="fix the value at the source, or drop such records with a stream map "
            "filter (`__filter__`).",
        ) from None


def lookup(record: dict[str, t.Any], path: str) -> t.Any:  # noqa: ANN401 - any JSON value
    """Value at a dotted path, or None."""
    node: t.Any = record
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def plain_json(value: t.Any) -> t.Any:  # noqa: ANN401 - any JSON value
    """`value` with Decimals turned back into int/float, so any JSON encoder can send it."""
    if isinstance(value, Decimal):
        return (
            int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
        )
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    return value


def mapped_fields(stream_maps: object, stream: str) -> dict[str, str]:
    """Field -> expression of the stream map entries that compute the stream's fields."""
    if not isinstance(stream_maps, dict):
        return {}
    computed: dict[str, str] = {}
    for name, entry in stream_maps.items():
        if isinstance(entry, dict) and stream in (name, entry.get("__alias__")):
            computed.update(
                (field, expression)
                for field, expression in entry.items()
                if isinstance(expression, str) and not field.startswith("__")
                if expression != "__NULL__"
            )
    return computed


def constant_fields(stream_maps: object, stream: str) -> dict[str, str]:
    """Field -> value of the stream map entries that set a field to one text for every record.

    `{"tickets": {"incident_type_id": "'01TYPE'"}}` fixes the stream's incident type: an
    expression that is a string literal and nothing else.
    """
    fixed: dict[str, str] = {}
    for name, expression in mapped_fields(stream_maps, stream).items():
        try:
            value = ast.literal_eval(expression)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, str) and value:
            fixed[name] = value
    return fixed
