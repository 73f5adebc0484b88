"""The ledger: every record ends confirmed delivered or reported failed, and it says which.

It receives each delivery result (from delivery threads), writes the response record,
the dead letter and the webhook post, counts progress, and applies `on_error`.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from collections import defaultdict
from dataclasses import dataclass

from target_incidentio.delivery.engine import describe
from target_incidentio.errors import DeliveryFailedError
from target_incidentio.responses import (
    JsonLinesFile,
    ResponseLog,
    invalid_record,
    response_record,
)
from target_incidentio.webhook import ResponseWebhook

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from target_incidentio.delivery.engine import Delivery, DeliveryResult
    from target_incidentio.errors import RecordError
    from target_incidentio.settings import Settings

logger = logging.getLogger("target-incidentio")

MAX_KEYS_IN_MESSAGE = 5


@dataclass
class StreamTally:
    """Counts of one stream, for progress lines and the summary."""

    delivered: int = 0
    failed: int = 0
    not_sent: int = 0
    calls: int = 0
    retried: int = 0
    throttled: int = 0

    def line(self, elapsed: float) -> str:
        """One human line with the achieved rate."""
        rate = self.calls / elapsed if elapsed > 0 else 0.0
        text = (
            f"{self.delivered} records delivered, {self.failed} failed, "
            f"{self.retried} retries, {self.throttled} answered 429, "
            f"{self.calls} calls at {rate:.1f}/s"
        )
        if self.not_sent:
            text += f", {self.not_sent} not sent (run stopped)"
        return text


def describe_failure(result: DeliveryResult) -> str:
    """One clear sentence: stream, record keys, call, status and incident.io's own errors."""
    request = result.request
    keys = ", ".join(request.record_keys[:MAX_KEYS_IN_MESSAGE]) or "(none)"
    text = f"stream '{request.stream}', record {keys}: {describe(result)}"
    if result.error is not None:
        for detail in result.error.details:
            field = f" (field '{detail.field}')" if detail.field else ""
            text += f"; [{detail.code}] {detail.message}{field}"
        if result.error.request_id:
            text += f" (incident.io request_id {result.error.request_id})"
    return text


class Ledger:
    """Thread-safe bookkeeping of outcomes and the error policy."""

    def __init__(self, settings: Settings, redact: Callable[[str], str]) -> None:
        self._settings = settings
        self._redact = redact
        self._lock = threading.Lock()
        self._tallies: dict[str, StreamTally] = defaultdict(StreamTally)
        self._first_failure: str | None = None
        self._finished = False
        self._started = time.monotonic()
        self.delivery: Delivery | None = None
        responses = settings.responses
        self._log = (
            ResponseLog(responses.response_log_path, responses.response_log_format)
            if responses.response_log_path
            else None
        )
        self._dead_letter = (
            JsonLinesFile(settings.delivery.dead_letter_path, redact)
            if settings.delivery.dead_letter_path
            else None
        )
        self._webhook = (
            ResponseWebhook(
                responses.response_webhook_url,
                headers=responses.response_webhook_headers,
                batch_size=responses.response_webhook_batch_size,
                delivery_settings=settings.delivery,
                redact=redact,
            )
            if responses.response_webhook_url
            else None
        )
        self._stop_progress = threading.Event()
        self._progress = threading.Thread(target=self._report_progress, daemon=True)
        self._progress.start()

    @property
    def stop_on_failure(self) -> bool:
        """`on_error: fail` stops at the first record that fails for good."""
        return self._settings.delivery.on_error == "fail"

    # Outcomes -----------------------------------------------------------------

    def on_result(self, result: DeliveryResult) -> None:
        """Account for one finished call (runs on delivery threads)."""
        request = result.request
        if result.status == "cancelled":
            with self._lock:
                self._tallies[request.stream].not_sent += request.record_count
            return
        record = response_record(result, redact=self._redact)
        with self._lock:
            tally = self._tallies[request.stream]
            tally.calls += 1
            tally.retried += max(result.attempts - 1, 0)
            tally.throttled += result.throttled
            if result.ok:
                tally.delivered += request.record_count
            else:
                tally.failed += request.record_count
        self._emit(record)
        if not result.ok:
            self._fail(
                stream=request.stream,
                keyed_records=list(zip(request.record_keys, request.records, strict=True)),
                message=self._redact(describe_failure(result)),
                error=record["error"],
            )

    def on_invalid(self, error: RecordError, *, operation: str, record: dict[str, t.Any]) -> None:
        """A record that could not become a request: reported failed, nothing sent."""
        response = invalid_record(error, operation=operation, redact=self._redact)
        with self._lock:
            self._tallies[error.stream].failed += 1
        self._emit(response)
        self._fail(
            stream=error.stream,
            keyed_records=[(error.record_key, record)],
            message=response["error"]["message"],
            error=response["error"],
        )

    def _emit(self, record: dict[str, t.Any]) -> None:
        if self._log is not None:
            self._log.write(record)
        if self._webhook is not None:
            self._webhook.post(record)

    def _fail(
        self,
        *,
        stream: str,
        keyed_records: list[tuple[str, dict[str, t.Any]]],
        message: str,
        error: t.Any,  # noqa: ANN401 - the response record's error object
    ) -> None:
        with self._lock:
            first = self._first_failure is None
            if first:
                self._first_failure = message
        if self._dead_letter is not None:
            for key, record in keyed_records:
                self._dead_letter.write(
                    {"stream": stream, "key": key, "record": record, "error": error}
                )
        if self.stop_on_failure:
            if first:
                logger.error("Delivery failed for good: %s", message)
                if self.delivery is not None:
                    self.delivery.stop()
        else:
            logger.warning("Record failed, continuing (on_error=continue): %s", message)

    # Barriers -------------------------------------------------------------------

    def check(self) -> None:
        """Raise once a failure has stopped the run (before sending anything more)."""
        if self.stop_on_failure and self._first_failure is not None:
            raise DeliveryFailedError(self._first_failure)
        with self._lock:
            not_sent = sum(tally.not_sent for tally in self._tallies.values())
        if not_sent:
            msg = f"{not_sent} records were not sent; refusing to confirm them."
            raise DeliveryFailedError(msg)

    def confirm_all(self) -> None:
        """Wait until every call handed to delivery has ended; raise if the run must stop."""
        if self.delivery is not None:
            self.delivery.wait()
        self.check()

    def finish(self) -> None:
        """End of run: confirm, summarise, close files; fail if the policy says so. Once."""
        if self._finished:
            return
        self._finished = True
        try:
            self.confirm_all()
        finally:
            self._stop_progress.set()
            self._summary()
            for closeable in (self._webhook, self._log, self._dead_letter):
                if closeable is not None:
                    closeable.close()
        limit = self._settings.delivery.max_failures
        with self._lock:
            failures = sum(tally.failed for tally in self._tallies.values())
        if not self.stop_on_failure and limit is not None and failures > limit:
            msg = (
                f"{failures} records failed, more than max_failures={limit}; "
                f"first failure: {self._first_failure}"
            )
            raise DeliveryFailedError(msg)

    # Progress -------------------------------------------------------------------

    def _report_progress(self) -> None:
        interval = self._settings.responses.progress_interval
        while not self._stop_progress.wait(interval):
            elapsed = time.monotonic() - self._started
            with self._lock:
                lines = [(s, tally.line(elapsed)) for s, tally in self._tallies.items()]
            for stream, line in lines:
                logger.info("Progress '%s': %s", stream, line)

    def _summary(self) -> None:
        elapsed = time.monotonic() - self._started
        with self._lock:
            tallies = dict(self._tallies)
        total = StreamTally()
        for stream, tally in sorted(tallies.items()):
            logger.info("Summary '%s': %s", stream, tally.line(elapsed))
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
        logger.info("Summary (all streams, %.1f s): %s", elapsed, total.line(elapsed))
        if total.not_sent:
            logger.warning(
                "%d records were not sent because the run stopped; no state was emitted "
                "past them, so the next run sends them again.",
                total.not_sent,
            )
