"""How one request ended (`DeliveryResult`), and the words that name a call in messages.

Delivery makes the results; the ledger, the strategies and `--check` read them, so they live
apart from the engine that sends.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from target_incidentio.delivery.outcome import status_text

if t.TYPE_CHECKING:
    from datetime import datetime

    from target_incidentio.delivery.outcome import ErrorInfo
    from target_incidentio.payloads.base import ApiRequest

# Longest response body kept on a result (characters of its JSON or text).
RESPONSE_BODY_LIMIT = 4096


Status = t.Literal["delivered", "rejected", "failed", "dry_run", "cancelled"]


@dataclass(frozen=True)
class DeliveryResult:
    """How one request ended."""

    request: ApiRequest
    # failed = retries exhausted, a transport error, or a request that could not be sent at all.
    status: Status
    status_code: int | None
    attempts: int  # HTTP attempts made (0 for dry_run/cancelled)
    throttled: int  # 429s met
    duration_ms: float
    sent_at: datetime  # UTC, first attempt (for dry_run: when handled; cancelled: when queued)
    response_body: t.Any  # parsed JSON or text, cut to RESPONSE_BODY_LIMIT
    error: ErrorInfo | None

    @property
    def ok(self) -> bool:
        """Whether the records count as handled successfully."""
        return self.status in ("delivered", "dry_run")

    @property
    def summary(self) -> str:
        """`describe(self)`, for callers that hold a result but import no delivery code."""
        return describe(self)


def host_port(url: str) -> str:
    """`api.incident.io:443`: where a call goes, for messages (no userinfo, path or query)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.hostname or '?'}:{port or default}"


def request_label(request: ApiRequest) -> str:
    """`POST /v2/alert_events/http/x`: names a call in logs without query string or headers."""
    return f"{request.method.upper()} {urlsplit(request.url).path or '/'}"


def describe(result: DeliveryResult) -> str:
    """One line for logs: `POST /v2/alert_events/http/x: rejected (HTTP 422 …): message`."""
    where = request_label(result.request)
    code = f" ({status_text(result.status_code)})" if result.status_code else ""
    message = f": {result.error.message}" if result.error and result.error.message else ""
    return f"{where}: {result.status}{code}{message}"
