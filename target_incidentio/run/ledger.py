"""The ledger: every record ends confirmed delivered or reported failed, and it says which.

It receives each delivery result (from delivery threads) and each record that never became a
call, writes the response record, the dead letter and the webhook post, counts progress,
settles the records for the checkpoints, and applies `on_error`: under `fail` the first
failure halts the run, a decision delivery reads before it starts each queued call.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from collections import defaultdict
from dataclasses import asdict, dataclass, fields, replace

from target_incidentio.core.errors import DeliveryFailedError, OutputFileError
from target_incidentio.delivery.results import describe
from target_incidentio.run.response_records import (
    JsonLinesFile,
    ResponseLog,
    invalid_record,
    response_record,
    skipped_record,
)
from target_incidentio.run.webhook import ResponseWebhook

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from target_incidentio.core.errors import RecordError
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest
    from target_incidentio.settings import Settings

logger = logging.getLogger("target-incidentio")

MAX_KEYS_IN_MESSAGE = 5


@dataclass
class StreamTally:
    """Counts of one stream, for progress lines and the summary."""

    delivered: int = 0
    unchanged: int = 0
    failed: int = 0
    not_sent: int = 0
    calls: int = 0
    retried: int = 0
    throttled: int = 0
    # Alerts resolved because their rows left a snapshot (`resolve_missing_alerts`).
    resolved: int = 0
    # Of the delivered records, those a strategy sent as creates or updates (catalog sync).
    created: int = 0
    updated: int = 0
    # Entries deleted (catalog sync): calls that carry no input record.
    deleted: int = 0
    # Incidents closed because their rows left a sync's snapshot (`close_missing_incidents`).
    closed: int = 0

    def line(self, elapsed: float, *, dry_run: bool = False) -> str:
        """One human line with the achieved rate."""
        rate = self.calls / elapsed if elapsed > 0 else 0.0
        done = "would send" if dry_run else "delivered"
        text = f"{self.delivered} records {done}, "
        if self.created or self.updated:
            text = f"{text[:-2]} ({self.created} created, {self.updated} updated), "
        if self.unchanged:
            text += f"{self.unchanged} unchanged (no call), "
        if self.deleted:
            text += f"{self.deleted} entries {'would be ' if dry_run else ''}deleted, "
        text += (
            f"{self.failed} failed, "
            f"{self.retried} retries, {self.throttled} answered 429, "
            f"{self.calls} calls at {rate:.1f}/s"
        )
        if self.not_sent:
            text += f", {self.not_sent} not sent (run stopped)"
        if self.resolved:
            verb = "would be resolved" if dry_run else "resolved"
            text += f", {self.resolved} alerts {verb} because their rows are gone"
        if self.closed:
            verb = "would be closed" if dry_run else "closed"
            text += f", {self.closed} incidents {verb} because their rows are gone"
        return text

    def log_fields(self, stream: str) -> dict[str, t.Any]:
        """The counts as structured fields of a log record (`extra=`), for JSON logs.

        Under `counts`: LogRecord has attributes of its own, such as `created`. `stream_name`
        is the field the SDK's JSON logs and Meltano's name the stream by.
        """
        return {"stream_name": stream, "counts": asdict(self)}

    def add(self, other: StreamTally) -> None:
        """Add another tally's counts to this one."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


# What to look at when a call of the run got no answer at all, by what kept it from coming.
_PROXY = "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY"
NO_ANSWER_HINTS: t.Mapping[str, str] = {
    "refused": f"check the host and port of `base_url`, and {_PROXY} if a proxy should be used",
    "unresolved": f"check the host name of `base_url`, DNS, and {_PROXY} if a proxy should be used",
    "unreachable": f"check `base_url` and the network route to it ({_PROXY})",
    "proxy": f"check the proxy environment variables ({_PROXY})",
    "tls": "check `base_url`; a proxy that re-signs TLS needs REQUESTS_CA_BUNDLE",
    "timeout": "check the network to `base_url`; `request_timeout` bounds each call",
}


def describe_failure(result: DeliveryResult) -> str:
    """One clear sentence: stream, record keys, call, status and incident.io's own errors."""
    request = result.request
    keys = ", ".join(request.record_keys[:MAX_KEYS_IN_MESSAGE]) or "(none)"
    text = f"stream '{request.stream}', record {keys}: {describe(result)}"
    cause = result.error.cause if result.error is not None else None
    hint = NO_ANSWER_HINTS.get(cause or "") if result.status_code is None else None
    if hint:
        text += f" ({hint})"
    if result.error is not None:
        for detail in result.error.details:
            field = f" (field '{detail.field}')" if detail.field else ""
            text += f"; [{detail.code}] {detail.message}{field}"
        if result.error.request_id:
            text += f" (incident.io request_id {result.error.request_id})"
    return text


class Ledger:
    """Thread-safe bookkeeping of outcomes and the error policy."""

    def __init__(
        self,
        settings: Settings,
        redact: Callable[[str], str],
        settle: Callable[[Iterable[int]], None],
    ) -> None:
        self._settings = settings
        self._redact = redact
        self._settle = settle
        self._lock = threading.Lock()
        self._tallies: dict[str, StreamTally] = defaultdict(StreamTally)
        self._first_failure: str | None = None
        # A file of records that cannot be written stops the run, whatever `on_error` says.
        self._broken_output: str | None = None
        self._halted = threading.Event()
        self._started = time.monotonic()
        self._stop_progress = threading.Event()
        self._log: ResponseLog | None = None
        self._dead_letter: JsonLinesFile | None = None
        self._webhook: ResponseWebhook | None = None
        self._progress: threading.Thread | None = None
        # Results whose response record could not be built: accounted for all the same, but
        # the run is not clean (no heartbeat).
        self._unrecorded = 0

    def start(self) -> None:
        """Open the output files and start the webhook and progress threads."""
        responses = self._settings.responses
        delivery = self._settings.delivery
        self._started = time.monotonic()
        if responses.response_log_path:
            self._log = ResponseLog(responses.response_log_path, responses.response_log_format)
        if delivery.dead_letter_path:
            self._dead_letter = JsonLinesFile(
                delivery.dead_letter_path, "dead_letter_path", self._redact
            )
        if responses.response_webhook_url and not delivery.dry_run:
            self._webhook = ResponseWebhook(responses, delivery, self._redact)
            self._webhook.start()
        self._progress = threading.Thread(target=self._report_progress, daemon=True)
        self._progress.start()

    @property
    def stop_on_failure(self) -> bool:
        """`on_error: fail` stops at the first record that fails for good."""
        return self._settings.delivery.on_error == "fail"

    def halted(self) -> bool:
        """Whether a failure has stopped the run: nothing more may be sent."""
        return self._halted.is_set()

    # Outcomes -----------------------------------------------------------------

    def on_result(self, result: DeliveryResult) -> None:
        """Account for one finished call (runs on delivery threads)."""
        request = result.request
        if result.status == "cancelled":
            with self._lock:
                self._tallies[request.stream].not_sent += request.record_count
            return
        record = self._response_record(result)
        with self._lock:
            tally = self._count_call(result)
            if not result.ok:
                tally.failed += request.record_count
            elif request.effect == "resolve":
                tally.resolved += request.record_count
            elif request.effect == "delete":
                tally.deleted += 1
            elif request.effect == "close":
                tally.closed += 1
            else:
                tally.delivered += request.record_count
                tally.created += request.record_count if request.effect == "create" else 0
                tally.updated += request.record_count if request.effect == "update" else 0
        self._emit(record)
        if not result.ok:
            self._fail(
                stream=request.stream,
                keyed_records=list(zip(request.record_keys, request.records, strict=True)),
                message=self._redact(describe_failure(result)),
                error=record["error"],
            )
        if result.ok or not self.stop_on_failure:
            self._settle_if_recorded(request.sequences)

    def _response_record(self, result: DeliveryResult) -> dict[str, t.Any]:
        """The call's response record; a failure to build it never loses the result itself."""
        try:
            return response_record(result, redact=self._redact)
        except Exception as error:  # noqa: BLE001 - the result is confirmed whatever this is
            with self._lock:
                self._unrecorded += 1
            request = result.request
            logger.error(  # noqa: TRY400 - the traceback would repeat record values
                "Stream '%s': the response record of a %s call could not be built (%s); its "
                "result is still counted and its records settled.",
                request.stream,
                request.operation,
                self._redact(f"{type(error).__name__}: {error}"),
            )
            return {
                "status": result.status,
                "ok": result.ok,
                "stream": request.stream,
                "operation": request.operation,
                "record_keys": [self._redact(k) for k in request.record_keys],
                "error": {"code": "unrecorded", "message": type(error).__name__},
            }

    def log_call(self, result: DeliveryResult, status: str | None = None) -> None:
        """A call whose records are accounted for elsewhere: its response record, one call.

        A look-up (no records), or a bulk call refused as a whole and then split (`status`
        `split`: its records are settled by the calls its halves make).
        """
        with self._lock:
            self._count_call(result)
        self._emit(response_record(result, redact=self._redact, status=status))

    def _count_call(self, result: DeliveryResult) -> StreamTally:
        """One call made, with its retries and 429s; the caller holds the lock."""
        tally = self._tallies[result.request.stream]
        tally.calls += 1
        tally.retried += max(result.attempts - 1, 0)
        tally.throttled += result.throttled
        return tally

    def log_heartbeat(self, result: DeliveryResult) -> None:
        """The heartbeat ping: its response record and one line; it never fails the run."""
        self._emit(response_record(result, redact=self._redact))
        if result.ok:
            logger.info("Heartbeat pinged: incident.io knows this run delivered everything.")
        else:
            logger.warning(
                "Heartbeat ping failed (the run itself delivered everything): %s",
                self._redact(describe(result)),
            )

    def failed(self, stream: str) -> int:
        """Records of `stream` reported failed so far."""
        with self._lock:
            return self._tallies[stream].failed if stream in self._tallies else 0

    def totals(self) -> StreamTally:
        """Every stream's counts added up."""
        total = StreamTally()
        with self._lock:
            for tally in self._tallies.values():
                total.add(tally)
        return total

    def clean(self) -> bool:
        """Every record so far confirmed: none failed, none left unsent."""
        with self._lock:
            if self._unrecorded:
                return False
            return not any(tally.failed or tally.not_sent for tally in self._tallies.values())

    def on_skipped(self, request: ApiRequest, reason: str) -> None:
        """Records that needed no call: counted as unchanged and settled."""
        with self._lock:
            self._tallies[request.stream].unchanged += request.record_count
        if request.outcome is not None:  # a sync says what each record met, no call or not
            self._emit(skipped_record(request, reason, redact=self._redact))
        logger.debug(
            "Stream '%s': %s (%s).", request.stream, reason, ", ".join(request.record_keys)
        )
        self._settle_if_recorded(request.sequences)

    def on_invalid(
        self,
        error: RecordError,
        *,
        operation: str,
        record: dict[str, t.Any],
        sequence: int,
    ) -> None:
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
        if not self.stop_on_failure:
            self._settle_if_recorded((sequence,))

    def _settle_if_recorded(self, sequences: Iterable[int]) -> None:
        """Prepare, unless a file of records broke: then no state may pass these records."""
        if self._broken_output is None:
            self._settle(sequences)

    def _write(self, file: ResponseLog | JsonLinesFile, record: dict[str, t.Any]) -> None:
        """Write a record to one of the run's files; if it cannot be, stop the run (once)."""
        try:
            file.write(record)
        except OutputFileError as error:
            with self._lock:  # the first break is the story; `check` raises it
                self._broken_output = self._broken_output or str(error)
            self._halted.set()

    def _emit(self, record: dict[str, t.Any]) -> None:
        if self._log is not None:
            self._write(self._log, record)
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
                self._write(
                    self._dead_letter,
                    {"stream": stream, "key": key, "record": record, "error": error},
                )
        if self.stop_on_failure:
            self._halted.set()
        else:
            logger.warning("Record failed, continuing (on_error=continue): %s", message)

    # Barriers -------------------------------------------------------------------

    def raise_if_stopped(self, *, unsent_allowed: bool = False) -> None:
        """Raise once a failure has stopped the run (before sending anything more).

        Records left unsent fail it too, unless `unsent_allowed` (a stopped run writes the
        state as far as confirmed first; the unsent records lie past it).
        """
        if self.halted():
            reason = self._broken_output or self._first_failure or "the run was stopped"
            raise DeliveryFailedError(reason)
        with self._lock:
            not_sent = sum(tally.not_sent for tally in self._tallies.values())
        if not_sent and not unsent_allowed:
            msg = (
                f"{not_sent} records were not sent; refusing to confirm them (the state stops "
                "before them, so the next run sends them)."
            )
            raise DeliveryFailedError(msg)

    def finish(self) -> None:
        """End of run: summarise and close files; fail if `max_failures` says so."""
        self._stop_progress.set()
        if self._progress is not None:
            self._progress.join()
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
        """A line per stream whose counts moved since its last line; an idle stream is quiet."""
        interval = self._settings.responses.progress_interval
        dry_run = self._settings.delivery.dry_run
        reported: dict[str, StreamTally] = {}
        while not self._stop_progress.wait(interval):
            elapsed = time.monotonic() - self._started
            with self._lock:
                moved = {
                    stream: replace(tally)
                    for stream, tally in self._tallies.items()
                    if reported.get(stream) != tally
                }
            reported.update(moved)
            for stream, tally in moved.items():
                line = tally.line(elapsed, dry_run=dry_run)
                logger.info("Progress '%s': %s", stream, line, extra=tally.log_fields(stream))

    def _summary(self) -> None:
        elapsed = time.monotonic() - self._started
        dry_run = self._settings.delivery.dry_run
        with self._lock:
            tallies = dict(self._tallies)
        total = StreamTally()
        for stream, tally in sorted(tallies.items()):
            line = tally.line(elapsed, dry_run=dry_run)
            logger.info("Summary '%s': %s", stream, line, extra=tally.log_fields(stream))
            total.add(tally)
        logger.info(
            "Summary (all streams, %.1f s): %s",
            elapsed,
            total.line(elapsed, dry_run=dry_run),
            extra={"counts": asdict(total), "elapsed_s": round(elapsed, 3)},
        )
        if dry_run:
            logger.info("Dry run: nothing was sent and no state was emitted.")
        if total.not_sent:
            logger.warning(
                "%d records were not sent because the run stopped; no state was emitted "
                "past them, so the next run sends them again.",
                total.not_sent,
            )
