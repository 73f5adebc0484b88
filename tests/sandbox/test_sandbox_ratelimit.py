"""Rate limits as incident.io documents them: token buckets, X-RateLimit-*, 429 bodies."""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from sandbox_helpers import API_KEY, AUTH, SOURCE, SOURCE_AUTH, SOURCE_TOKEN

from incidentio_sandbox import Sandbox
from incidentio_sandbox.ratelimit import TokenBucket

if TYPE_CHECKING:
    import requests


def _incident(url: str, http: requests.Session, key: str) -> requests.Response:
    body = {"idempotency_key": key, "visibility": "public"}
    return http.post(f"{url}/v2/incidents", json=body, headers=AUTH)


def _limited(**options: object) -> Sandbox:
    return Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: SOURCE_TOKEN},
        rate_limit=True,
        bucket_capacity=3,
        refill_per_second=0.5,
        **options,  # type: ignore[arg-type]
    )


def test_headers_then_429_with_rfc3339_retry_after(http: requests.Session) -> None:
    with _limited() as sb:
        started = int(time.time())
        replies = [_incident(sb.url, http, f"k{i}") for i in range(4)]
        before = datetime.now(timezone.utc)
        state = sb.state()
        journal = sb.journal()
    for index, reply in enumerate(replies[:3]):
        assert reply.status_code == 200
        assert reply.headers["X-RateLimit-Limit"] == "3, 3;window=6"
        assert reply.headers["X-RateLimit-Remaining"] == str(2 - index)
        assert reply.headers["X-RateLimit-Used"] == str(index + 1)
        assert int(reply.headers["X-RateLimit-Reset"]) >= started
        assert "Retry-After" not in reply.headers

    limited = replies[3]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"  # one token at 0.5/s, rounded up
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    body = limited.json()
    assert body["type"] == "too_many_requests"
    assert body["status"] == 429
    assert body["request_id"]
    assert body["errors"][0]["code"] == "too_many_requests"
    assert body["rate_limit"]["name"] == "api_key_name"
    assert body["rate_limit"]["limit"] == 3
    assert body["rate_limit"]["remaining"] == 0
    stamp = body["rate_limit"]["retry_after"]
    assert stamp.endswith("Z")
    delta = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - before
    assert timedelta(seconds=0) < delta <= timedelta(seconds=3)

    assert state["counts"]["incidents"] == 3
    assert journal[-1]["status"] == 429
    assert journal[-1]["applied"] is False


def test_http_date_retry_after_and_no_header(http: requests.Session) -> None:
    with _limited(retry_after_format="http-date", retry_after_header=False) as sb:
        replies = [_incident(sb.url, http, f"k{i}") for i in range(4)]
    limited = replies[3]
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    stamp = limited.json()["rate_limit"]["retry_after"]
    assert stamp.endswith("GMT")
    parsed = email.utils.parsedate_to_datetime(stamp)
    assert parsed > datetime.now(timezone.utc) - timedelta(seconds=1)


def test_bucket_refills(http: requests.Session) -> None:
    # A slow refill, so that three requests on a busy machine still land before a token is back.
    with Sandbox(api_key=API_KEY, rate_limit=True, bucket_capacity=2, refill_per_second=2) as sb:
        statuses = [_incident(sb.url, http, f"k{i}").status_code for i in range(3)]
        time.sleep(0.6)
        assert _incident(sb.url, http, "later").status_code == 200
    assert statuses == [200, 200, 429]


def test_alert_source_bucket_is_separate(http: requests.Session) -> None:
    with Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: SOURCE_TOKEN},
        rate_limit=True,
        alert_bucket_capacity=2,
        alert_refill_per_second=0.1,
    ) as sb:
        url = f"{sb.url}/v2/alert_events/http/{SOURCE}"
        event = {"title": "t", "status": "firing", "deduplication_key": "d"}
        statuses = [http.post(url, json=event, headers=SOURCE_AUTH).status_code for _ in range(3)]
        api = _incident(sb.url, http, "unaffected")
        last = sb.journal(path=f"/v2/alert_events/http/{SOURCE}")[-1]
        events = sb.state()["counts"]["alert_events"]
    assert statuses == [202, 202, 429]
    assert api.status_code == 200
    assert api.headers["X-RateLimit-Limit"] == "1200, 1200;window=60"
    assert last["applied"] is False
    assert events == 2


def test_no_rate_limit_headers_when_disabled(sandbox: Sandbox, http: requests.Session) -> None:
    reply = _incident(sandbox.url, http, "k")
    assert reply.status_code == 200
    assert not any(h.lower().startswith("x-ratelimit") for h in reply.headers)


def test_token_bucket_with_a_fake_clock() -> None:
    now = [100.0]
    bucket = TokenBucket(capacity=2, refill_per_second=1, clock=lambda: now[0])
    assert bucket.take().allowed
    assert bucket.take().remaining == 0
    refused = bucket.take()
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.reset_after == pytest.approx(2.0)
    now[0] += 1.5
    granted = bucket.take()
    assert granted.allowed
    assert granted.remaining == 0
    assert granted.headers(now=1000.0)["X-RateLimit-Reset"] == "1002"
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(capacity=0, refill_per_second=1)
