"""The settings every call of a stream is made with, the first fields of `StreamSettings`.

The credential, the API root, the operation, extra headers, what is never sent, and the
`http` operation's endpoint and batching: split from `declarations.py` (which declares what
each operation does with a stream, and which of these settings a stream may override) so
that each module holds one concern. `StreamSettings` inherits these fields, in this order.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_incidentio.settings.numbers import Integer
from target_incidentio.settings.setting_types import (
    Choice,
    Headers,
    Names,
    OperationName,
    SecretText,
    Text,
    Url,
)
from target_incidentio.settings.spec import setting

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_incidentio.core.secrets import Secret

DEFAULT_BASE_URL = "https://api.incident.io"
METHODS = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class CallSettings:
    """How a stream's calls are made, whichever operation it has."""

    api_key: Secret | None = setting(
        SecretText(),
        "API key",
        "incident.io API key, sent as `Authorization: Bearer …`. Needs the roles of the "
        "operations used (see docs/production.md).",
    )
    base_url: str = setting(
        Url(root=True),
        "Base URL",
        "incident.io API root. Plain http:// is accepted only for loopback addresses "
        "(the local sandbox).",
        default=DEFAULT_BASE_URL,
    )
    operation: str = setting(
        OperationName(),
        "Operation",
        "Which kind of write each record becomes: {operations}.",
        default="alert_event",
    )
    method: str = setting(
        Choice(METHODS, normalise=str.upper),
        "HTTP method",
        "HTTP method of the `http` operation: POST (default), PUT or PATCH.",
        default="POST",
    )
    api_url: str | None = setting(
        Text(examples=["/v2/incident_timeline_items"]),
        "API URL",
        "Endpoint of the `http` operation: an absolute https:// URL or a path under `base_url`. "
        "`{field}` placeholders are filled from the record, URL-encoded, e.g. "
        "`/v2/incident_timeline_items/{id}`.",
    )
    request_headers: Mapping[str, str] = setting(
        Headers(),
        "Request headers",
        "Extra headers: `name:value,name2:value2` or an object. `Authorization` and "
        "`Content-Type` are the target's own and cannot be set.",
    )
    secret_headers: tuple[str, ...] = setting(
        Names(),
        "Secret headers",
        "Names of `request_headers` and `response_webhook_headers` (any level, any case) whose "
        "values are secrets, masked in logs, response records, dead letters and webhook "
        "posts: a comma-separated string or an array. `Authorization` and names containing "
        "key, token, secret, password or credential are secret without it.",
    )
    exclude_attributes: tuple[str, ...] = setting(
        Names(),
        "Exclude attributes",
        "Fields never sent: a comma-separated string or an array; dotted paths such as "
        "`owner.email` reach into nested objects.",
    )
    batch_size_rows: int = setting(
        Integer(at_most=10_000),
        "Records per call",
        "Records per API call for `http` (default 1): above 1 the body is a JSON array of the "
        "records, or `{batch_wrapper_key: [...]}`. The other operations send one record per "
        "call, as incident.io's endpoints take one.",
        default=1,
    )
    batch_wrapper_key: str | None = setting(
        Text(),
        "Batch wrapper key",
        'With `http` and `batch_size_rows` > 1, wrap the array as `{"<key>": [...]}`.',
    )
