"""`Delivery`: sends `ApiRequest`s in parallel, paced, retried and in per-key order.

Every submitted request ends in exactly one `DeliveryResult` (`results.py`), handed to
`on_result`; nothing raised while sending is lost or escapes to the caller.
"""

from __future__ import annotations

import codecs
import json
import logging
import threading
import time
import traceback
import typing as t
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus

import requests
from typing_extensions import Self

from target_incidentio.delivery.deadline import Watchdog
from target_incidentio.delivery.ordering import ExecutorClosedError, OrderedExecutor
from target_incidentio.delivery.outcome import (
    Delivered,
    ErrorDetail,
    ErrorInfo,
    Outcome,
    Rejected,
    Retry,
    classify,
    classify_exception,
    parse_error,
)
from target_incidentio.delivery.ratelimit import Permit, RateLimiter
from target_incidentio.delivery.results import (
    RESPONSE_BODY_LIMIT,
    DeliveryResult,
    Status,
    host_port,
    request_label,
)
from target_incidentio.delivery.retry import Retrier, RetryPolicy
from target_incidentio.delivery.session import make_session

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from target_incidentio.payloads.base import ApiRequest
    from target_incidentio.settings import DeliverySettings

__all__ = ["Delivery", "DeliveryStoppedError", "ErrorDetail", "ErrorInfo"]

LOG = logging.getLogger(__name__)
# Queued-or-running requests per worker before `submit` blocks.
PENDING_PER_WORKER = 8
# Most bytes of an answer read: enough for any error body (only RESPONSE_BODY_LIMIT
# characters are kept); a look-up whose body the caller reads (a listing page) may read more.
READ_LIMIT = 64 * 1024
LOOKUP_READ_LIMIT = 16 * 1024 * 1024


def _never() -> bool:
    return False


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class DeliveryStoppedError(RuntimeError):
    """`submit` was called after `stop()` or `close()`."""


@dataclass
class _Response:
    """One attempt: what came back (or what went wrong on the way)."""

    outcome: Outcome
    status_code: int | None = None
    body: t.Any = None  # parsed from `text`, secrets masked
    text: str = ""
    error: ErrorInfo | None = None
    unmasked: t.Any = None  # a look-up's body as the server sent it, for its caller only


class Delivery:
    """Sends requests on `max_concurrency` threads; see the module docstring for the guarantees.

    `on_result` runs on a worker thread (on the thread calling `stop()` for cancelled requests),
    so it must be thread-safe; an exception it raises is logged and otherwise ignored.
    `halted` is read before each queued request starts: once it says so, requests still
    waiting for a slot end `cancelled` without being sent. Outcomes flow one way: delivery
    reports them and reads the decision, it is never called back.
    """

    def __init__(  # noqa: PLR0913 - the keyword arguments are the test seams
        self,
        settings: DeliverySettings,
        *,
        on_result: Callable[[DeliveryResult], None],
        halted: Callable[[], bool] = _never,
        redact: Callable[[str], str] = str,
        session: requests.Session | None = None,
        origin: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], datetime] = _utc_now,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self._on_result = on_result
        self._halted = halted
        self._redact = redact
        self._own_session = session is None
        self._session = (
            session
            if session is not None
            else make_session(settings.max_concurrency, origin=origin)
        )
        self._clock = clock
        self._watchdog = Watchdog()
        # Set by `stop_by`: no call runs past this clock reading, none starts after it.
        self._stop_at: float | None = None
        self._woken = threading.Event()
        self._wall_clock = wall_clock
        self._limiter = rate_limiter or RateLimiter(clock=clock, sleep=sleep)
        self._retrier = Retrier(
            retry_policy or RetryPolicy.from_settings(settings),
            sleep=self._retry_wait if sleep is time.sleep else sleep,
            redact=redact,
        )
        self._executor = OrderedExecutor(
            settings.max_concurrency, settings.max_concurrency * PENDING_PER_WORKER
        )
        self._stopped = False

    def submit(self, request: ApiRequest) -> None:
        """Queue `request` behind earlier ones with its `order_key`; blocks only when full."""
        if self._stopped:
            msg = "delivery was stopped; no more requests are accepted"
            raise DeliveryStoppedError(msg)
        queued_at = self._wall_clock()
        try:
            future = self._executor.submit(request.order_key, lambda: self._deliver(request))
        except ExecutorClosedError as exc:
            msg = "delivery was stopped; no more requests are accepted"
            raise DeliveryStoppedError(msg) from exc
        future.add_done_callback(lambda f: self._report_if_cancelled(f, request, queued_at))

    def stop(self) -> int:
        """Refuse new requests, cancel queued ones (in-flight ones finish); return how many."""
        self._stopped = True
        self._executor.close()
        return self._executor.cancel_pending()

    def stop_by(self, seconds: float) -> None:
        """End soon: no retry from now, no call past `seconds` from now, none started after.

        Any thread may call it (SIGTERM's does): it sets a moment, wakes the retry waits and
        tells the watchdog.
        """
        stop_at = self._clock() + seconds
        if self._stop_at is None or stop_at < self._stop_at:
            self._stop_at = stop_at
        self._woken.set()
        self._watchdog.cap(seconds)

    def _retry_wait(self, seconds: float) -> None:
        """A wait between retries that `stop_by` ends early."""
        self._woken.wait(seconds)

    def _stopping(self) -> bool:
        """Whether `stop_by` was called: what is under way ends, nothing is retried."""
        return self._stop_at is not None or self._halted()

    def _past_stop(self) -> bool:
        return self._stop_at is not None and self._clock() >= self._stop_at

    def _cancelled(self) -> bool:
        """Whether a call not yet sent must not go: the run halted, or its stop moment passed."""
        return self._halted() or self._past_stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `on_result` has been called for every submitted request; False on timeout."""
        return self._executor.wait(timeout)

    def close(self) -> None:
        """Refuse new requests, finish the queued ones, release threads and connections."""
        self._stopped = True
        self._executor.shutdown()
        self._watchdog.close()
        if self._own_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one request ---------------------------------------------------------------------------

    def _report_if_cancelled(
        self, future: Future[None], request: ApiRequest, queued_at: datetime
    ) -> None:
        if future.cancelled():
            self._report(
                DeliveryResult(request, "cancelled", None, 0, 0, 0.0, queued_at, None, None)
            )

    def _deliver(self, request: ApiRequest) -> None:
        """Runs on a worker: send, turn whatever happens into a result, report it once."""
        started = self._clock()
        sent_at = self._wall_clock()
        if self._cancelled():  # the run stopped while this waited for a slot
            self._report(DeliveryResult(request, "cancelled", None, 0, 0, 0.0, sent_at, None, None))
            return
        try:
            result = self._send(request, started, sent_at)
        except Exception as exc:  # noqa: BLE001 - a bug must still end in a result
            error = ErrorInfo("internal_error", self._redact(f"{type(exc).__name__}: {exc}"), None)
            LOG.error("Delivery failed unexpectedly: %s", self._traceback(exc))  # noqa: TRY400
            result = DeliveryResult(
                request, "failed", None, 0, 0, self._elapsed_ms(started), sent_at, None, error
            )
        self._report(result)

    def call(self, request: ApiRequest) -> tuple[DeliveryResult, t.Any]:
        """Send now, on this thread, paced and retried like any call; return the full body too.

        For look-ups (a listing to plan from, an identity to check): a GET is sent even in a
        dry run, since reading changes nothing; any other method is only logged then. Once
        the run is halted nothing is sent: the result is `cancelled`, as for a queued call.
        """
        started = self._clock()
        sent_at = self._wall_clock()
        if self._cancelled():
            return DeliveryResult(request, "cancelled", None, 0, 0, 0.0, sent_at, None, None), None
        full: list[t.Any] = []
        result = self._send(request, started, sent_at, keep=full.append)
        return result, (full[0] if full else None)

    def _send(
        self,
        request: ApiRequest,
        started: float,
        sent_at: datetime,
        keep: Callable[[t.Any], None] | None = None,
    ) -> DeliveryResult:
        headers = dict(request.headers)
        data = None
        if request.body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(request.body, ensure_ascii=False, allow_nan=False).encode()
        if self.settings.dry_run and request.method.upper() != "GET":
            self._log_dry_run(request, headers, data)
            return DeliveryResult(request, "dry_run", None, 0, 0, 0.0, sent_at, None, None)
        if request.credential is not None:
            headers["Authorization"] = f"Bearer {request.credential.reveal()}"
        throttled = 0
        first_attempt: datetime | None = None

        def attempt() -> _Response:
            nonlocal throttled, first_attempt
            first_attempt = first_attempt or self._wall_clock()
            response = self._attempt(request, headers, data, lookup=keep is not None)
            throttled += response.status_code == HTTPStatus.TOO_MANY_REQUESTS
            return response

        tried = self._retrier.run(
            attempt, lambda r: r.outcome, request_label(request), halted=self._stopping
        )
        last = tried.last
        if keep is not None:
            keep(last.unmasked)
        status: Status
        if isinstance(last.outcome, Delivered):
            status, error = "delivered", None
        else:
            status = "rejected" if isinstance(last.outcome, Rejected) else "failed"
            error = last.error or self._error_from(last)
            if last.status_code is None:  # never got an answer: nothing the server refused
                status = "failed"
        return DeliveryResult(
            request,
            status,
            last.status_code,
            tried.attempts,
            throttled,
            self._elapsed_ms(started),
            first_attempt or sent_at,
            self._keep_body(last),
            error,
        )

    def _attempt(
        self, request: ApiRequest, headers: dict[str, str], data: bytes | None, *, lookup: bool
    ) -> _Response:
        """One paced HTTP call, whole within `request_timeout`; a transport error too.

        Only a GET follows redirects (on the same origin, see `DeliverySession`): a write that
        was redirected did not arrive, and `classify` says so. At most `READ_LIMIT` bytes of
        the answer are read, then the connection is dropped; the status decides.
        """
        permit = self._limiter.take(request.rate_scopes)
        try:
            return self._exchange(permit, request, headers, data, lookup=lookup)
        except BaseException:
            # Whatever broke, the call is no longer in flight.
            self._limiter.release(permit)
            raise

    def _exchange(
        self,
        permit: Permit,
        request: ApiRequest,
        headers: dict[str, str],
        data: bytes | None,
        *,
        lookup: bool,
    ) -> _Response:
        seconds = self.settings.request_timeout
        if self._stop_at is not None:  # stopping: no call runs past `stop_by`'s moment
            seconds = min(seconds, max(0.001, self._stop_at - self._clock()))
        failure: Retry | Rejected | None
        where = host_port(request.url)
        with self._watchdog.watch(seconds) as call:
            try:
                response = self._session.request(
                    request.method,
                    request.url,
                    data=data,
                    headers=headers,
                    timeout=(seconds, seconds),
                    stream=True,
                    allow_redirects=request.method.upper() == "GET",
                )
            except (requests.RequestException, OSError) as exc:
                failure = classify_exception(
                    self._timed_out(seconds) if call.expired else exc, where
                )
            else:
                # Headers cut off at the deadline can parse as a complete (false) answer.
                timed_out = self._timed_out(seconds)
                failure = classify_exception(timed_out, where) if call.expired else None
            if failure is None:
                with response:
                    content = read_bounded(response, LOOKUP_READ_LIMIT if lookup else READ_LIMIT)
                # A write's status is its outcome; a look-up cut mid-body has no whole answer.
                if lookup and call.expired:
                    failure = classify_exception(self._timed_out(seconds), where)
            if failure is not None:
                self._limiter.answer(
                    permit, request.rate_scopes, {}
                )  # no answer, no longer in flight
                reason = self._redact(failure.reason)
                error = ErrorInfo("transport_error", reason, None, cause=failure.cause)
                return _Response(failure, error=error)
        raw = content.decode(_charset(response), errors="replace")
        # Masked before anything judges, keeps or cuts it: no part of a secret survives. Only
        # a look-up's caller gets the answer as sent (`--check` compares a listed token).
        text = self._redact(raw)
        body = _parse(text)
        unmasked = body if text == raw or not lookup else _parse(raw)
        outcome = classify(response.status_code, response.headers, body, self._wall_clock())
        # A 429's wait is the limiter's business too: hold every caller of this key, not just us.
        pause = None
        throttled = response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        if throttled and isinstance(outcome, Retry) and outcome.after is not None:
            pause = min(outcome.after, self._retrier.policy.max_wait)
        self._limiter.answer(permit, request.rate_scopes, response.headers, pause)
        return _Response(outcome, response.status_code, body, text, unmasked=unmasked)

    @staticmethod
    def _timed_out(seconds: float) -> requests.Timeout:
        # A read timeout, whichever of the socket's timeout and the watchdog came first.
        return requests.ReadTimeout(f"no complete answer within {seconds:g} s (request_timeout)")

    def _error_from(self, response: _Response) -> ErrorInfo:
        info = parse_error(response.body)
        reason = response.outcome.reason if not isinstance(response.outcome, Delivered) else ""
        message = self._redact(info.message or reason)
        details = tuple(ErrorDetail(d.code, self._redact(d.message), d.field) for d in info.details)
        return ErrorInfo(info.type, message, info.request_id, details)

    @staticmethod
    def _keep_body(response: _Response) -> t.Any:  # noqa: ANN401 - any JSON
        """The body as parsed (secrets already masked), or its text cut if it is too long."""
        if len(response.text) <= RESPONSE_BODY_LIMIT:
            return response.body
        return response.text[:RESPONSE_BODY_LIMIT]

    def _log_dry_run(
        self, request: ApiRequest, headers: dict[str, str], data: bytes | None
    ) -> None:
        """What the call would send, secrets masked: the point of a dry run is to read it."""
        shown = dict(headers)
        if request.credential is not None:
            shown["Authorization"] = "Bearer ***"
        LOG.info(
            "Dry run, not sent: %s %s headers=%s body=%s",
            request.method.upper(),
            self._redact(request.url),
            self._redact(json.dumps(shown, sort_keys=True)),
            self._redact(data.decode() if data is not None else ""),
        )

    def _report(self, result: DeliveryResult) -> None:
        try:
            self._on_result(result)
        except Exception as exc:  # noqa: BLE001 - one bad callback must not stop the others
            LOG.error("on_result raised: %s", self._traceback(exc))  # noqa: TRY400

    def _traceback(self, exc: BaseException) -> str:
        return self._redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def _elapsed_ms(self, started: float) -> float:
        return (self._clock() - started) * 1000.0


def _parse(text: str) -> t.Any:  # noqa: ANN401 - any JSON
    """A body as JSON, else as its text (None when empty)."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text


def _charset(response: requests.Response) -> str:
    """The answer's declared charset if Python knows it, else UTF-8 (a server may say anything)."""
    declared = response.encoding or "utf-8"
    try:
        codecs.lookup(declared)
    except LookupError:
        return "utf-8"
    return declared


def read_bounded(response: requests.Response, limit: int) -> bytes:
    """At most `limit` bytes of the (decoded) body; a read cut short keeps what came.

    The caller closes the response, which drops a connection with more to say rather than
    reading an endless body to its end.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=16 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except (requests.RequestException, OSError):
        pass  # the status is in; what the body had time to say is kept
    return b"".join(chunks)[:limit]
