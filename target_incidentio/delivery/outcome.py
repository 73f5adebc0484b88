"""What one HTTP answer (or transport failure) means: delivered, retry later, or rejected.

Pure functions, so every status and header variant is testable without a server.
"""

from __future__ import annotations

import http.client
import typing as t
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import requests

from target_incidentio.delivery.transport import describe_exception

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_incidentio.delivery.transport import Cause

# Statuses worth another try: throttling, timeouts and transient server trouble.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Longest error text kept from a non-JSON error body.
ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Delivered:
    """The API accepted the request (2xx)."""


@dataclass(frozen=True)
class Retry:
    """Try again; `after` is the server's requested wait in seconds, None for own backoff."""

    after: float | None
    reason: str
    # None: the server answered (429, 5xx); else what kept an answer from coming.
    cause: Cause | None = None


@dataclass(frozen=True)
class Rejected:
    """Sending the same request again cannot succeed."""

    reason: str
    cause: Cause | None = None  # as `Retry.cause`


Outcome: t.TypeAlias = Delivered | Retry | Rejected


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of incident.io's `errors[]`."""

    code: str
    message: str
    field: str | None


@dataclass(frozen=True)
class ErrorInfo:
    """An incident.io error body, reduced to what a user needs to fix the record."""

    type: str
    message: str
    request_id: str | None
    details: tuple[ErrorDetail, ...] = ()
    # For a call that got no answer: what kept it from coming (`transport.Cause`).
    cause: Cause | None = None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup, since plain dicts are accepted as well as requests' headers."""
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def parse_timestamp(value: str) -> datetime | None:
    """An RFC 3339 or HTTP-date timestamp (incident.io has sent both), or None."""
    text = value.strip()
    if not text:
        return None
    try:
        # Python 3.10's fromisoformat does not accept a trailing `Z`.
        return _as_utc(datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text))
    except ValueError:
        pass
    try:
        return _as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _seconds_until(moment: datetime, now: datetime) -> float:
    return max(0.0, (moment - _as_utc(now)).total_seconds())


def retry_after(headers: Mapping[str, str], body: object, now: datetime) -> float | None:
    """Seconds the server asked to wait: `Retry-After`, else the body's `rate_limit.retry_after`."""
    value = header(headers, "Retry-After")
    if value is not None:
        try:
            seconds = float(value)
        except ValueError:
            moment = parse_timestamp(value)
            if moment is not None:
                return _seconds_until(moment, now)
        else:
            if seconds == seconds and seconds != float("inf"):  # noqa: PLR0124 - NaN check
                return max(0.0, seconds)
    rate_limit = body.get("rate_limit") if isinstance(body, dict) else None
    stamp = rate_limit.get("retry_after") if isinstance(rate_limit, dict) else None
    if isinstance(stamp, str):
        moment = parse_timestamp(stamp)
        if moment is not None:
            return _seconds_until(moment, now)
    return None


def status_text(status_code: int) -> str:
    """`HTTP 429 Too Many Requests`, for logs and reasons."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        return f"HTTP {status_code}"
    return f"HTTP {status_code} {phrase}"


def classify(status_code: int, headers: Mapping[str, str], body: object, now: datetime) -> Outcome:
    """Decide what a response means; 501/505 and other statuses outside the list are permanent.

    A 3xx reaching here was not followed (writes never are), so the request did not arrive.
    """
    if 200 <= status_code < 300:  # noqa: PLR2004
        return Delivered()
    reason = status_text(status_code)
    if 300 <= status_code < 400:  # noqa: PLR2004 - only GETs follow redirects
        where = header(headers, "Location") or "(no Location header)"
        return Rejected(
            f"{reason}: the server redirected the request to {where}, so it did not arrive. "
            "Fix: point `base_url` (or `api_url`) at the address that answers."
        )
    if status_code in RETRYABLE_STATUSES:
        return Retry(retry_after(headers, body, now), reason)
    message = parse_error(body).message
    return Rejected(f"{reason}: {message}" if message else reason)


# Transport failures that may pass: the server may never have seen the request, or was slow.
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    http.client.RemoteDisconnected,
    ConnectionError,
    TimeoutError,
)
# Subclasses of the above that retrying cannot fix.
_PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
)


def classify_exception(exc: BaseException, where: str = "the server") -> Retry | Rejected:
    """Connection resets and timeouts are retried; bad URLs, TLS failures and the rest are not.

    The reason is said in plain words (`transport.describe_exception`); `where` is the
    `host:port` the call went to.
    """
    failure = describe_exception(exc, where)
    if isinstance(exc, _TRANSIENT_ERRORS) and not isinstance(exc, _PERMANENT_ERRORS):
        return Retry(None, failure.text, failure.cause)
    return Rejected(failure.text, failure.cause)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_error(body: object) -> ErrorInfo:
    """Extract incident.io's `type`, `request_id` and `errors[]`; tolerate any other body."""
    if not isinstance(body, dict):
        text = body.strip() if isinstance(body, str) else ""
        if len(text) > ERROR_TEXT_LIMIT:
            text = text[:ERROR_TEXT_LIMIT] + "…"
        return ErrorInfo(type="unknown", message=text, request_id=None)
    details = []
    for item in body.get("errors") or ():
        if not isinstance(item, dict):
            continue
        source = item.get("source")
        field = source.get("field") if isinstance(source, dict) else None
        details.append(
            ErrorDetail(_text(item.get("code")), _text(item.get("message")), _text(field) or None)
        )
    message = "; ".join(
        f"{d.field}: {d.message}" if d.field else d.message for d in details if d.message
    )
    request_id = body.get("request_id")
    return ErrorInfo(
        type=_text(body.get("type")) or "unknown",
        message=message or _text(body.get("message")),
        request_id=request_id if isinstance(request_id, str) else None,
        details=tuple(details),
    )
