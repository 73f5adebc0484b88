from __future__ import annotations

import http.client
import re
from datetime import timedelta
from email.utils import format_datetime

import pytest
import requests
from delivery_helpers import NOW

from target_incidentio.delivery.outcome import (
    Delivered,
    ErrorDetail,
    Rejected,
    Retry,
    classify,
    classify_exception,
    parse_error,
    parse_timestamp,
)
from target_incidentio.delivery.session import InsecureRedirectError

RATE_LIMITED_BODY = {
    "type": "too_many_requests",
    "status": 429,
    "request_id": "b839a403",
    "rate_limit": {"name": "key", "limit": 1200, "remaining": 0, "retry_after": None},
    "errors": [{"code": "too_many_requests", "message": "Too many requests"}],
}


def _rate_limited(retry_after: str) -> dict[str, object]:
    return {**RATE_LIMITED_BODY, "rate_limit": {"retry_after": retry_after}}


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status, {}, None, NOW) == Delivered()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_own_backoff_when_server_names_no_time(
    status: int,
) -> None:
    outcome = classify(status, {}, {"type": "x"}, NOW)
    assert isinstance(outcome, Retry)
    assert outcome.after is None
    assert str(status) in outcome.reason


@pytest.mark.parametrize(
    "status", [300, 301, 304, 400, 401, 403, 404, 405, 409, 410, 413, 418, 422, 451, 501, 505, 599]
)
def test_other_statuses_are_rejected(status: int) -> None:
    outcome = classify(status, {}, None, NOW)
    assert isinstance(outcome, Rejected)
    assert outcome.reason.startswith(f"HTTP {status}")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_that_reaches_the_judge_is_a_rejection_naming_the_location(status: int) -> None:
    outcome = classify(status, {"location": "https://elsewhere.test/x"}, None, NOW)
    assert isinstance(outcome, Rejected)
    assert "https://elsewhere.test/x" in outcome.reason
    assert "did not arrive" in outcome.reason


def test_rejection_reason_carries_the_api_message() -> None:
    body = {
        "type": "validation_error",
        "errors": [
            {
                "code": "is_required",
                "message": "A severity is required",
                "source": {"field": "severity_id"},
            }
        ],
    }
    outcome = classify(422, {}, body, NOW)
    assert isinstance(outcome, Rejected)
    # The phrase is the running Python's (3.13 renamed 422 "Unprocessable Content").
    assert re.fullmatch(
        r"HTTP 422 Unprocessable \w+: severity_id: A severity is required", outcome.reason
    )


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "3"}, None, 3.0),
        ({"retry-after": "1.5"}, None, 1.5),
        ({"RETRY-AFTER": "0"}, None, 0.0),
        ({"Retry-After": "-4"}, None, 0.0),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=12), usegmt=True)}, None, 12.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=12), usegmt=True)}, None, 0.0),
        # The header wins over the body.
        ({"Retry-After": "2"}, _rate_limited("2025-04-17T11:17:18Z"), 2.0),
        # Unreadable header: fall back to the body.
        ({"Retry-After": "soon"}, _rate_limited("2025-04-17T11:17:18Z"), 10.0),
        ({"Retry-After": "nan"}, None, None),
        ({}, _rate_limited("2025-04-17T11:17:18Z"), 10.0),
        ({}, _rate_limited("2025-04-17T11:17:18.500Z"), 10.5),
        ({}, _rate_limited("2025-04-17T12:17:18+01:00"), 10.0),
        ({}, _rate_limited("2025-04-17T11:17:18"), 10.0),  # no offset: UTC
        ({}, _rate_limited("Thu, 17 Apr 2025 11:17:18 GMT"), 10.0),
        ({}, _rate_limited("2025-04-17T11:00:00Z"), 0.0),  # in the past: never negative
        ({}, _rate_limited("whenever"), None),
        ({}, {"rate_limit": "x"}, None),
        ({}, "Too Many Requests", None),
        ({}, None, None),
    ],
)
def test_retry_after_sources(headers: dict[str, str], body: object, expected: float | None) -> None:
    outcome = classify(429, headers, body, NOW)
    assert isinstance(outcome, Retry)
    assert outcome.after == (pytest.approx(expected) if expected is not None else None)


def test_retry_after_also_read_for_503() -> None:
    assert classify(503, {"Retry-After": "7"}, None, NOW) == Retry(
        7.0, "HTTP 503 Service Unavailable"
    )


def test_parse_timestamp_rejects_garbage() -> None:
    assert parse_timestamp("") is None
    assert parse_timestamp("tomorrow") is None


def test_parse_error_reads_incidentio_errors() -> None:
    body = {
        "type": "validation_error",
        "status": 422,
        "request_id": "631766c4",
        "errors": [
            {
                "code": "is_required",
                "message": "A severity is required",
                "source": {"field": "severity_id"},
            },
            {"code": "invalid", "message": "Bad name"},
            "not an object",
        ],
    }
    info = parse_error(body)
    assert info.type == "validation_error"
    assert info.request_id == "631766c4"
    assert info.details == (
        ErrorDetail("is_required", "A severity is required", "severity_id"),
        ErrorDetail("invalid", "Bad name", None),
    )
    assert info.message == "severity_id: A severity is required; Bad name"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, ""),
        ("<html>bad gateway</html>", "<html>bad gateway</html>"),
        ([1, 2], ""),
        ({"errors": None, "message": "plain"}, "plain"),
    ],
)
def test_parse_error_tolerates_other_bodies(body: object, message: str) -> None:
    info = parse_error(body)
    assert info.type == "unknown"
    assert info.message == message
    assert info.request_id is None
    assert info.details == ()


def test_parse_error_cuts_long_text() -> None:
    assert len(parse_error("x" * 10_000).message) == 501


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("reset"),
        requests.ConnectTimeout("connect timed out"),
        requests.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("broken"),
        http.client.RemoteDisconnected("closed"),
        ConnectionResetError(104, "reset by peer"),
    ],
)
def test_transport_failures_are_retried(exc: BaseException) -> None:
    outcome = classify_exception(exc, "api.incident.io:443")
    assert isinstance(outcome, Retry)
    assert outcome.after is None
    assert outcome.cause in {"timeout", "closed", "other"}
    assert "api.incident.io:443" in outcome.reason
    assert type(exc).__name__ not in outcome.reason


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.SSLError("certificate verify failed"),
        requests.exceptions.InvalidURL("bad"),
        requests.exceptions.MissingSchema("no scheme"),
        requests.TooManyRedirects("loop"),
        InsecureRedirectError("downgrade"),
        ValueError("boom"),
    ],
)
def test_other_exceptions_are_permanent(exc: BaseException) -> None:
    assert isinstance(classify_exception(exc), Rejected)
