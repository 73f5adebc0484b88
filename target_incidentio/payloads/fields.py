"""Field helpers shared by every builder: exclusion, record keys, URL templates, key derivation."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import typing as t
from decimal import Decimal
from urllib.parse import quote

from target_incidentio.errors import RecordError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

SDC_PREFIX = "_sdc_"


def exclude(record: dict[str, t.Any], paths: Iterable[str]) -> dict[str, t.Any]:
    """Return a copy of `record` without the (dotted) paths; missing paths are ignored."""
    result = copy.deepcopy(record)
    for path in paths:
        *parents, leaf = path.split(".")
        node: t.Any = result
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return result


def key_values(record: dict[str, t.Any], key_properties: Sequence[str]) -> list[t.Any] | None:
    """The key properties' values, or None unless the stream has some and the record all."""
    values = [record.get(k) for k in key_properties]
    return values if values and all(v is not None for v in values) else None


def record_key(record: dict[str, t.Any], key_properties: Sequence[str]) -> str:
    """Name a record in messages: its key properties, else a short content hash."""
    values = key_values(record, key_properties)
    if values is not None:
        return ", ".join(f"{k}={v!r}" for k, v in zip(key_properties, values, strict=True))
    return f"#{content_hash(record)[:12]}"


def canonical(value: t.Any) -> str:  # noqa: ANN401 - any JSON value
    """Stable JSON text: the same data always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(record: dict[str, t.Any], ignore: Iterable[str] = ()) -> str:
    """Hash of a record's content, without SDK metadata that changes on every run."""
    skipped = set(ignore)
    kept = {k: v for k, v in record.items() if not k.startswith(SDC_PREFIX) and k not in skipped}
    return hashlib.sha256(canonical(kept).encode()).hexdigest()


def derive_key(
    *,
    purpose: str,
    stream: str,
    key_properties: Sequence[str],
    record: dict[str, t.Any],
    ignore: Iterable[str] = (),
) -> str:
    """Deterministic key, so that a rerun or a retry reaches the same object in incident.io.

    From the stream and the key properties when the record has them all, else from the
    record's content (less `ignore`, e.g. an alert's status so that firing and resolved
    pair up).
    """
    values = key_values(record, key_properties)
    if values is not None:
        basis = canonical([stream, [[k, v] for k, v in zip(key_properties, values, strict=True)]])
    else:
        basis = canonical([stream, content_hash(record, ignore)])
    digest = hashlib.sha256(f"{purpose}\n{basis}".encode()).hexdigest()
    return f"target-incidentio-{digest[:40]}"


def fill_template(
    template: str,
    record: dict[str, t.Any],
    *,
    stream: str,
    key: str,
) -> str:
    """Fill `{field}` placeholders from the record, each URL-encoded as one path segment."""

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
        return quote(str(value), safe="")

    return re.sub(r"\{([^{}]+)\}", replace, template)


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
