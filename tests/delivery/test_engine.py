from __future__ import annotations

import json
import logging
import random
import socket
import struct
import threading
import time
from datetime import timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import pytest
from delivery_helpers import API_KEY, NOW, FakeTime, make_request
from hostile_server import HostileServer, answer, drip_body
from werkzeug import Request, Response

from target_incidentio.core.secrets import Redactor
from target_incidentio.delivery.engine import Delivery, DeliveryStoppedError
from target_incidentio.delivery.results import DeliveryResult, describe
from target_incidentio.delivery.retry import RetryPolicy
from target_incidentio.payloads.base import RateScope
from target_incidentio.settings import DeliverySettings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_httpserver import HTTPServer

PATH = "/v2/alert_events/http/01SOURCE"
NO_JITTER = RetryPolicy(jitter=None)


class Harness:
    """A Delivery on fake time, collecting its results."""

    def __init__(
        self,
        fake_time: FakeTime,
        *,
        retry_policy: RetryPolicy | None = None,
        on_result: Callable[[DeliveryResult], None] | None = None,
        **settings: Any,
    ) -> None:
        self.results: list[DeliveryResult] = []
        self.fake_time = fake_time
        self._lock = threading.Lock()
        settings.setdefault("request_timeout", 5)
        self.delivery = Delivery(
            DeliverySettings(**settings),
            on_result=on_result or self._collect,
            redact=Redactor([API_KEY]),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            wall_clock=lambda: NOW,
            retry_policy=retry_policy,
        )

    def _collect(self, result: DeliveryResult) -> None:
        with self._lock:
            self.results.append(result)

    def count(self, status: str) -> int:
        """Requests that ended with `status` (delivery keeps no totals of its own)."""
        return [r.status for r in self.results].count(status)

    def send(self, *requests_: Any) -> list[DeliveryResult]:
        for request in requests_:
            self.delivery.submit(request)
        self.delivery.wait()
        return self.results


@pytest.fixture
def harness(fake_time: FakeTime) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**kwargs: Any) -> Harness:
        made.append(Harness(fake_time, **kwargs))
        return made[-1]

    yield make
    for item in made:
        item.delivery.close()


def rate_limited(retry_after: str | None = None, **headers: str) -> Response:
    body = {
        "type": "too_many_requests",
        "status": 429,
        "request_id": "req-429",
        "rate_limit": {"name": "key", "limit": 1200, "remaining": 0, "retry_after": retry_after},
        "errors": [{"code": "too_many_requests", "message": "Too many requests"}],
    }
    return Response(json.dumps(body), status=429, headers=headers, content_type="application/json")


def ok() -> Response:
    return Response('{"status": "success"}', status=202, content_type="application/json")


def script(server: HTTPServer, *responses: Response) -> None:
    """Answer successive requests with `responses`, in order."""
    for response in responses:
        server.expect_ordered_request(PATH, method="POST").respond_with_response(response)


def test_delivers_with_auth_json_and_extra_headers(server: HTTPServer, harness: Any) -> None:
    script(server, ok())
    request = make_request(
        server.url_for(PATH), {"title": "disk full", "n": 1}, headers={"X-Team": "payments"}
    )
    [result] = harness().send(request)
    [(received, _)] = server.log
    assert received.headers["Authorization"] == f"Bearer {API_KEY}"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Team"] == "payments"
    assert received.headers["User-Agent"].startswith("target-incidentio/")
    assert json.loads(received.get_data()) == {"title": "disk full", "n": 1}
    assert result.status == "delivered"
    assert result.ok
    assert (result.status_code, result.attempts, result.throttled) == (202, 1, 0)
    assert result.response_body == {"status": "success"}
    assert result.error is None
    assert result.sent_at == NOW
    assert result.request is request


def test_no_credential_sends_no_authorization(server: HTTPServer, harness: Any) -> None:
    script(server, ok())
    request = make_request(server.url_for(PATH))
    request = type(request)(**{**request.__dict__, "credential": None})
    [result] = harness().send(request)
    assert result.status == "delivered"
    assert "Authorization" not in server.log[0][0].headers


def test_429_with_retry_after_waits_what_the_server_asked(
    server: HTTPServer, harness: Any, fake_time: FakeTime
) -> None:
    script(server, rate_limited(None, **{"Retry-After": "3", "X-RateLimit-Remaining": "0"}), ok())
    [result] = harness().send(make_request(server.url_for(PATH)))
    assert fake_time.sleeps == [3.0]
    assert (result.status, result.attempts, result.throttled) == ("delivered", 2, 1)
    assert len(server.log) == 2


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-04-17T11:17:15Z",  # RFC 3339, 7 s after NOW
        format_datetime(NOW + timedelta(seconds=7), usegmt=True),  # older HTTP-date form
    ],
)
def test_429_body_timestamp_is_honoured(
    server: HTTPServer, harness: Any, fake_time: FakeTime, stamp: str
) -> None:
    script(server, rate_limited(stamp), ok())
    [result] = harness().send(make_request(server.url_for(PATH)))
    assert fake_time.sleeps == [7.0]
    assert result.status == "delivered"


def test_429_wait_is_capped_by_max_retry_wait(
    server: HTTPServer, harness: Any, fake_time: FakeTime
) -> None:
    script(server, rate_limited(None, **{"Retry-After": "120"}), ok())
    [result] = harness(max_retry_wait=5).send(make_request(server.url_for(PATH)))
    assert fake_time.sleeps == [5.0]
    assert result.status == "delivered"


def test_429_without_any_time_backs_off_with_jitter(
    server: HTTPServer, harness: Any, fake_time: FakeTime
) -> None:
    script(server, rate_limited(), rate_limited(), ok())
    [result] = harness().send(make_request(server.url_for(PATH)))
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= 1
    assert 0 <= fake_time.sleeps[1] <= 2
    assert (result.status, result.attempts, result.throttled) == ("delivered", 3, 2)


def test_5xx_runs_then_success(server: HTTPServer, harness: Any, fake_time: FakeTime) -> None:
    script(
        server,
        Response("oops", status=500),
        Response("<html>bad gateway</html>", status=502),
        Response("", status=503),
        Response("", status=504),
        ok(),
    )
    h = harness(retry_policy=NO_JITTER)
    [result] = h.send(make_request(server.url_for(PATH)))
    assert (result.status, result.attempts, result.status_code) == ("delivered", 5, 202)
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(server.log) == 5
    sent, retried = result.attempts, result.attempts - 1
    assert (sent, h.count("delivered"), retried, result.throttled) == (5, 1, 4, 0)


def test_max_retries_exhausted_is_failed(server: HTTPServer, harness: Any) -> None:
    body = {
        "type": "internal_error",
        "request_id": "r-1",
        "errors": [{"code": "internal", "message": "try later"}],
    }
    server.expect_request(PATH).respond_with_json(body, status=503)
    h = harness(max_retries=3)
    [result] = h.send(make_request(server.url_for(PATH)))
    assert (result.status, result.attempts, result.status_code) == ("failed", 4, 503)
    assert not result.ok
    assert len(server.log) == 4
    assert result.error is not None
    assert (result.error.type, result.error.request_id) == ("internal_error", "r-1")
    assert result.error.message == "try later"
    assert h.count("failed") == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 501])
def test_permanent_errors_are_sent_once(server: HTTPServer, harness: Any, status: int) -> None:
    body = {
        "type": "validation_error",
        "status": status,
        "request_id": "631766c4",
        "errors": [
            {
                "code": "is_required",
                "message": "A severity is required",
                "source": {"field": "severity_id"},
            }
        ],
    }
    server.expect_request(PATH).respond_with_json(body, status=status)
    h = harness()
    [result] = h.send(make_request(server.url_for(PATH)))
    assert len(server.log) == 1
    assert (result.status, result.attempts, result.status_code) == ("rejected", 1, status)
    assert result.error is not None
    assert result.error.request_id == "631766c4"
    assert result.error.message == "severity_id: A severity is required"
    assert result.error.details[0].field == "severity_id"
    assert result.response_body == body
    assert h.count("rejected") == 1
    assert describe(result).startswith(f"POST {PATH}: rejected (HTTP {status}")


class SlowHandler:
    """Sleeps through the first `slow` calls; lets a test wait until every call has ended, so no
    handler outlives its test and shows up in the next test's server log."""

    def __init__(self, slow: int, delay: float = 0.4) -> None:
        self.slow = slow
        self.delay = delay
        self.calls = 0
        self.ended = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self, _: Request) -> Response:
        with self._lock:
            self.calls += 1
            call = self.calls
        if call <= self.slow:
            time.sleep(self.delay)
        self.ended.release()
        return ok()

    def wait_ended(self) -> None:
        for _ in range(self.calls):
            assert self.ended.acquire(timeout=5)


@pytest.mark.slow
def test_timeout_is_retried_then_fails(server: HTTPServer, harness: Any) -> None:
    handler = SlowHandler(slow=99)
    server.expect_request(PATH).respond_with_handler(handler)
    [result] = harness(request_timeout=0.1, max_retries=1).send(make_request(server.url_for(PATH)))
    handler.wait_ended()
    assert (result.status, result.attempts, result.status_code) == ("failed", 2, None)
    assert result.error is not None
    assert result.error.type == "transport_error"
    assert "timed out: no complete answer within 0.1 s (request_timeout)" in result.error.message
    assert result.error.cause == "timeout"
    assert handler.calls == 2


def test_timeout_then_success(server: HTTPServer, harness: Any) -> None:
    handler = SlowHandler(slow=1)
    server.expect_request(PATH).respond_with_handler(handler)
    [result] = harness(request_timeout=0.1).send(make_request(server.url_for(PATH)))
    handler.wait_ended()
    assert (result.status, result.attempts) == ("delivered", 2)
    assert handler.calls == 2


class ResettingServer:
    """Closes the first `resets` connections without answering (RST), then answers 202."""

    def __init__(self, resets: int) -> None:
        self.resets = resets
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}{PATH}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.recv(65536)
                if self.connections <= self.resets:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                conn.sendall(
                    b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                )

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(("resets", "status", "attempts"), [(2, "delivered", 3), (9, "failed", 3)])
def test_connection_reset_is_retried(harness: Any, resets: int, status: str, attempts: int) -> None:
    srv = ResettingServer(resets)
    try:
        [result] = harness(max_retries=2).send(make_request(srv.url))
    finally:
        srv.close()
    assert (result.status, result.attempts) == (status, attempts)
    assert srv.connections == attempts
    if status == "failed":
        assert result.error is not None
        assert result.error.type == "transport_error"


def test_dry_run_sends_nothing(server: HTTPServer, harness: Any) -> None:
    h = harness(dry_run=True)
    results = h.send(*(make_request(server.url_for(PATH)) for _ in range(3)))
    assert server.log == []
    assert [r.status for r in results] == ["dry_run"] * 3
    assert all(r.ok and r.attempts == 0 for r in results)
    assert h.count("dry_run") == 3


def test_secret_never_reaches_logs_or_results(
    server: HTTPServer, harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def echo_auth(request: Request) -> Response:
        # A hostile or buggy server echoing the credential back in errors.
        auth = request.headers["Authorization"]
        if request.path.endswith("/retry"):
            return Response(f"bad gateway {auth}", status=502)
        body = {
            "type": "validation_error",
            "request_id": "r",
            "errors": [{"code": "bad", "message": f"key {auth} is wrong"}],
        }
        return Response(json.dumps(body), status=401, content_type="application/json")

    server.expect_request(f"{PATH}/retry").respond_with_handler(echo_auth)
    server.expect_request(PATH).respond_with_handler(echo_auth)

    def raising(result: DeliveryResult) -> None:
        msg = f"sink broke on {API_KEY}"
        raise RuntimeError(msg)

    with caplog.at_level(logging.DEBUG):
        h = harness(max_retries=1)
        results = h.send(
            make_request(server.url_for(PATH), order_key="a"),
            make_request(server.url_for(f"{PATH}/retry"), order_key="b"),
            make_request("http://127.0.0.1:1/unreachable", order_key="c"),
            make_request(server.url_for(PATH), {"bad": float("nan")}, order_key="d"),
        )
        h2 = harness(on_result=raising)
        h2.send(make_request(server.url_for(PATH)))
    assert sorted(r.status for r in results) == ["failed", "failed", "failed", "rejected"]
    text = caplog.text + repr(results) + "".join(repr(r.response_body) for r in results)
    assert "Bearer" in text  # the echo really happened, redacted
    assert API_KEY not in text
    assert "sink broke on ***" in caplog.text
    assert "retry 1/1" in caplog.text


def test_unserialisable_body_becomes_a_failed_result(server: HTTPServer, harness: Any) -> None:
    [result] = harness().send(make_request(server.url_for(PATH), {"x": float("inf")}))
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "internal_error"
    assert server.log == []


def test_on_result_exception_does_not_lose_other_results(server: HTTPServer, harness: Any) -> None:
    server.expect_request(PATH).respond_with_response(ok())
    seen: list[str] = []

    def flaky(result: DeliveryResult) -> None:
        seen.append(result.request.order_key)
        if result.request.order_key == "k1":
            msg = "boom"
            raise RuntimeError(msg)

    h = harness(on_result=flaky)
    h.send(*(make_request(server.url_for(PATH), order_key=f"k{i}") for i in range(4)))
    assert sorted(seen) == ["k0", "k1", "k2", "k3"]


def test_order_is_kept_per_key_on_the_wire(server: HTTPServer, harness: Any) -> None:
    received: dict[str, list[int]] = {}
    lock = threading.Lock()
    rng = random.Random(3)

    def record(request: Request) -> Response:
        body = json.loads(request.get_data())
        time.sleep(rng.uniform(0, 0.005))
        with lock:
            received.setdefault(body["alert"], []).append(body["seq"])
        return ok()

    server.expect_request(PATH).respond_with_handler(record)
    requests_ = [
        make_request(server.url_for(PATH), {"alert": f"a{a}", "seq": seq}, order_key=f"a{a}")
        for seq in range(4)
        for a in range(8)
    ]
    results = harness(max_concurrency=4).send(*requests_)
    assert len(results) == 32
    assert all(r.status == "delivered" for r in results)
    assert received == {f"a{a}": [0, 1, 2, 3] for a in range(8)}


def test_requests_are_paced_by_their_rate_scopes(
    server: HTTPServer, harness: Any, fake_time: FakeTime
) -> None:
    server.expect_request(PATH).respond_with_response(ok())
    scopes = (RateScope("stream:capped", 60, "cap"),)  # 1 per second, no burst
    harness(max_concurrency=1).send(
        *(make_request(server.url_for(PATH), scopes=scopes) for _ in range(3))
    )
    assert fake_time.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]


def test_server_throttle_pauses_the_scope(
    server: HTTPServer, harness: Any, fake_time: FakeTime
) -> None:
    script(server, rate_limited(None, **{"Retry-After": "4", "X-RateLimit-Remaining": "0"}), ok())
    h = harness(retry_policy=RetryPolicy(max_retries=0))
    [failed] = h.send(make_request(server.url_for(PATH), order_key="a"))
    assert failed.status == "failed"
    assert fake_time.sleeps == []
    # The next request, another key, waits out the server's Retry-After in the limiter.
    h.results.clear()
    [result] = h.send(make_request(server.url_for(PATH), order_key="b"))
    assert result.status == "delivered"
    assert fake_time.sleeps == [pytest.approx(4.0)]


def test_stop_cancels_queued_and_finishes_in_flight(server: HTTPServer, harness: Any) -> None:
    arrived = threading.Event()
    release = threading.Event()

    def hold(_: Request) -> Response:
        arrived.set()
        release.wait(5)
        return ok()

    server.expect_request(PATH).respond_with_handler(hold)
    h = harness(max_concurrency=1)
    h.delivery.submit(make_request(server.url_for(PATH), order_key="first"))
    assert arrived.wait(5)
    for i in range(5):
        h.delivery.submit(make_request(server.url_for(PATH), order_key=f"k{i % 2}"))
    assert h.delivery.stop() == 5
    with pytest.raises(DeliveryStoppedError):
        h.delivery.submit(make_request(server.url_for(PATH)))
    release.set()
    h.delivery.wait()
    statuses = [r.status for r in h.results]
    assert sorted(statuses) == ["cancelled"] * 5 + ["delivered"]
    assert all(r.attempts == 0 for r in h.results if r.status == "cancelled")
    assert len(server.log) == 1
    assert h.count("cancelled") == 5


def test_transport_errors_never_escape(harness: Any) -> None:
    h = harness(max_retries=0)
    [result] = h.send(make_request("http://127.0.0.1:1/nothing-listens"))
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error is not None
    assert result.error.message == "127.0.0.1:1 refused the connection (nothing listens there)"
    assert result.error.cause == "refused"
    h.delivery.close()
    with pytest.raises(DeliveryStoppedError):
        h.delivery.submit(make_request("http://127.0.0.1:1/"))


def test_call_sends_now_and_returns_the_full_body(server: HTTPServer, harness: Any) -> None:
    script(server, ok())
    result, body = harness().delivery.call(make_request(server.url_for(PATH), {"n": 1}))
    assert (result.status, body) == ("delivered", {"status": "success"})
    assert len(server.log) == 1
    assert result.summary == describe(result)


def test_call_sends_nothing_once_the_run_is_halted(server: HTTPServer, fake_time: FakeTime) -> None:
    # A strategy's bulk call after a failure stopped the run: cancelled, like a queued call.
    script(server, ok())
    delivery = Delivery(
        DeliverySettings(request_timeout=5),
        on_result=lambda _result: None,
        halted=lambda: True,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    with delivery:
        result, body = delivery.call(make_request(server.url_for(PATH), {"n": 1}))
    assert (result.status, result.attempts, body) == ("cancelled", 0, None)
    assert server.log == []


def test_a_look_up_cut_at_its_deadline_is_no_answer() -> None:
    # Headers at once, then a body that drips: a listing page cut off at `request_timeout` is
    # a timeout (retried), never a truncated page handed to the caller as delivered.
    with HostileServer(drip_body(interval=0.1)) as server:
        delivery = Delivery(
            DeliverySettings(request_timeout=1, max_retries=0), on_result=lambda _result: None
        )
        with delivery:
            result, body = delivery.call(make_request(server.url + PATH, method="GET"))
    assert (result.status, body) == ("failed", None)
    assert "no complete answer within 1 s" in result.summary


def test_an_answer_in_a_charset_python_does_not_know_is_read_as_utf8() -> None:
    # A hostile or broken server's `charset=bogus` once raised LookupError out of the call.
    answered = answer(200, b'{"id": "01X"}', {"Content-Type": "application/json; charset=bogus"})
    with HostileServer(answered) as server:
        delivery = Delivery(
            DeliverySettings(request_timeout=5, max_retries=0), on_result=lambda _result: None
        )
        with delivery:
            result, body = delivery.call(make_request(server.url + PATH, method="GET"))
    assert (result.status, body) == ("delivered", {"id": "01X"})
