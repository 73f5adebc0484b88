"""One run of the target: what lives from the first message to the last, started and stopped here.

Building a `Run` has no side effects. `start()` (at the run's first message) installs the
redacting log filter, opens the output files and starts the delivery, webhook, progress and
checkpoint threads; `finish()` (the run ended well) or `abort()` (it did not) stops them, in
this one place. Outcomes flow one way: delivery → ledger → checkpoints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import typing as t

from target_incidentio.core.errors import DeliveryFailedError, RunStoppedError
from target_incidentio.core.secrets import install_redaction, remove_redaction
from target_incidentio.delivery.engine import Delivery
from target_incidentio.payloads.heartbeat import build_heartbeat_ping
from target_incidentio.run.checkpoints import Checkpoints
from target_incidentio.run.completion import Completion
from target_incidentio.run.directory import (
    Directory,
    resolve_settings,
)
from target_incidentio.run.ledger import Ledger
from target_incidentio.run.signals import SignalGuard

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from target_incidentio.core.errors import RecordError
    from target_incidentio.core.secrets import Redactor
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest
    from target_incidentio.settings import Settings
    from target_incidentio.strategies import Strategy

LOG = logging.getLogger("target-incidentio")


class Run:
    """The run's moving parts, shared by every sink."""

    def __init__(
        self, settings: Settings, redact: Redactor, write_state: Callable[[str], None]
    ) -> None:
        self.settings = settings
        self.redact = redact
        self.signals = SignalGuard()
        self.checkpoints = Checkpoints(settings.responses.state_interval, write_state)
        self.ledger = Ledger(settings, redact, self.checkpoints.settle)
        self._then: dict[int, Callable[[DeliveryResult], None]] = {}
        self._then_lock = threading.Lock()
        self.delivery = Delivery(
            settings.delivery,
            on_result=self._on_result,
            halted=self.ledger.halted,
            redact=redact,
            origin=settings.defaults.base_url,
        )
        # The run's one look-up object: incident.io's lists and catalog types, each read once,
        # when first needed, through `call`.
        self.directory = Directory.of(settings, self.call)
        # What the tap said of each stream's end: the gate of every destructive step.
        self.completion = Completion()
        self._incomplete_warned: set[str] = set()
        self._names_resolved: set[str] = set()
        self._warned: dict[str, set[str]] = {}
        self._versions_noted: dict[str, bool] = {}
        # Idempotency key -> (digest of the rest of the body, the first record's key).
        self._idempotency: dict[str, tuple[str, str]] = {}
        self._strategies: dict[str, Strategy] = {}
        self._started = False
        self._input_ended = False
        self._interrupted: str | None = None  # the signal that stopped the run
        self._closed = False

    def warned_fields(self, stream: str) -> set[str]:
        """Fields already named in a warning for `stream` (shared by its sinks)."""
        return self._warned.setdefault(stream, set())

    def resolve_names(self, stream: str) -> None:
        """The names `stream`'s settings give (`custom_field`, `role`), before its first record.

        Only when that stream starts, so that a run carrying other streams never reads those
        lists; a name that names nothing fails with the known names.
        """
        if stream in self._names_resolved:
            return
        for setting, found in resolve_settings(self.settings, self.directory, stream).items():
            LOG.info("Stream '%s': setting `%s` names %s.", stream, setting, found)
        self._names_resolved.add(stream)

    def record_arrives(self, stream: str, version: object, source: str) -> None:
        """A RECORD of `stream` (tap name `source`), before it is taken: its completion hears.

        One that follows an ACTIVATE_VERSION of another version ends the snapshot before it.
        """
        if self.completion.ends_version(stream, version) and stream in self._strategies:
            self._strategies[stream].boundary()
        self.completion.record(stream, version, source)

    def snapshot_whole(self, stream: str, step: str) -> bool:
        """May `step` (what would be removed) run for `stream`: is its snapshot whole?

        The one gate of every step that removes what a stream no longer carries (catalog sync
        deletion, alert resolution, incident closing): under `snapshot_complete: tap_signal`
        only after the tap signalled the stream finished (`completion.py`); under
        `end_of_input`, always. Refused, it warns once per stream, naming the setting.
        """
        if self.settings.for_stream(stream).snapshot_complete == "end_of_input":
            return True
        if self.completion.finished(stream):
            return True
        if stream not in self._incomplete_warned:
            self._incomplete_warned.add(stream)
            LOG.warning(
                "Stream '%s': the tap did not signal that it finished the stream (no STATE "
                "with a finished bookmark, no ACTIVATE_VERSION after its records), so %s. A "
                "tap that dies halfway ends the input the same way. If this tap never sends "
                "such a signal (singer-sdk FULL_TABLE streams), set `snapshot_complete: "
                "end_of_input` for the stream, and make sure a failed tap cannot reach the "
                "target's end of input (see docs/promises.md).",
                stream,
                step,
            )
        return False

    def note_version(self, stream: str, operation: str) -> None:
        """ACTIVATE_VERSION where the operation has no use for it: said once per stream."""
        if self._versions_noted.setdefault(stream, False):
            return
        self._versions_noted[stream] = True
        LOG.info(
            "Stream '%s': ACTIVATE_VERSION is not used by the `%s` operation; ignored.",
            stream,
            operation,
        )

    def note_idempotency_key(self, request: ApiRequest) -> None:
        """Warn when a key already sent in this run comes again with other content.

        incident.io de-duplicates a create on its key, so the second call is answered as
        delivered although its content never arrives (as a repeated external id is warned of
        by catalog sync).
        """
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("idempotency_key"), str):
            return
        key = body["idempotency_key"]
        rest = {k: v for k, v in body.items() if k != "idempotency_key"}
        digest = hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()
        record = request.record_keys[0] if request.record_keys else "(no record)"
        first = self._idempotency.setdefault(key, (digest, record))
        if first[0] not in (digest, ""):
            self._idempotency[key] = ("", first[1])  # warned once per key
            LOG.warning(
                "Stream '%s': idempotency key %r given twice in this run with different "
                "content (records %s and %s): incident.io keeps the first and answers the "
                "second as delivered, so its content never arrives. Fix: give each record its "
                "own key (key_properties, idempotency_key), or send the change as an update.",
                request.stream,
                key,
                first[1],
                record,
            )

    @property
    def dry_run(self) -> bool:
        """Build and log every request, send nothing, emit no state."""
        return self.settings.delivery.dry_run

    def start(self) -> None:
        """Start everything the run needs (once)."""
        if self._started:
            return
        self._started = True
        install_redaction(self.redact)
        self.ledger.start()
        if not self.dry_run:
            self.checkpoints.start()

    # -- the main thread: records in -------------------------------------------------------------

    def admit(self, count: int = 1) -> tuple[int, ...]:
        """Sequence numbers for records just read (see `Checkpoints`)."""
        with self.signals.deferred():
            return self.checkpoints.admit(count)

    def submit(
        self, request: ApiRequest, then: Callable[[DeliveryResult], None] | None = None
    ) -> None:
        """Hand a built call to delivery; raise first if a failure has stopped the run.

        `then` runs on a delivery thread once the ledger has accounted for the result.
        """
        with self.signals.deferred():
            self.ledger.raise_if_stopped()
            if then is None:
                self.delivery.submit(request)
                return
            with self._then_lock:
                self._then[id(request)] = then  # the request lives until its result
            try:
                self.delivery.submit(request)
            except BaseException:
                with self._then_lock:
                    self._then.pop(id(request), None)
                raise

    def _on_result(self, result: DeliveryResult) -> None:
        """Every submitted call's result: the ledger, then whoever asked to hear of it."""
        self.ledger.on_result(result)
        with self._then_lock:
            then = self._then.pop(id(result.request), None)
        if then is not None:
            then(result)

    def report_invalid(
        self, error: RecordError, operation: str, records: Iterator[tuple[int, dict[str, t.Any]]]
    ) -> None:
        """Records that never became a call: reported failed; raise if that stops the run."""
        with self.signals.deferred():
            for sequence, record in records:
                self.ledger.on_invalid(error, operation=operation, record=record, sequence=sequence)
            self.ledger.raise_if_stopped()

    def offer_state(self, state: t.Any) -> None:  # noqa: ANN401 - a tap's state is any JSON
        """A STATE message: emitted once every record before it is settled."""
        with self.signals.deferred():
            self.checkpoints.offer(state)

    def strategy(self, stream: str, make: Callable[[], Strategy]) -> Strategy:
        """The stream's strategy, made by its first sink and kept by the ones after."""
        if stream not in self._strategies:
            self._strategies[stream] = make()
        return self._strategies[stream]

    def call(self, request: ApiRequest) -> tuple[DeliveryResult, t.Any]:
        """A look-up, sent now; its response record is written, the caller judges the result."""
        with self.signals.deferred():
            self.ledger.raise_if_stopped()
        result, body = self.delivery.call(request)
        self.ledger.log_call(result)
        return result, body

    def send_now(self, request: ApiRequest) -> DeliveryResult:
        """A call of records sent now, paced and retried; the caller judges, then `report`s it.

        Once a failure has stopped the run, nothing is sent: the result is `cancelled`.
        """
        return self.delivery.call(request)[0]

    def report(self, result: DeliveryResult, *, split: bool = False) -> None:
        """The outcome of a `send_now` call, accounted for as a submitted call's would be.

        `split`: refused as a whole and re-sent in halves, whose results account for its
        records, so only its response record is written.
        """
        if split:
            self.ledger.log_call(result, status="split")
        else:
            self.ledger.on_result(result)

    def fail(self, request: ApiRequest, error: RecordError) -> None:
        """The records of a built call that cannot be sent: reported failed, nothing sent."""
        records = zip(request.sequences, request.records, strict=True)
        self.report_invalid(error, request.operation, records)

    @contextlib.contextmanager
    def uninterrupted(self) -> Iterator[None]:
        """A section SIGTERM waits for: a call and the report of its outcome stay together."""
        with self.signals.deferred():
            yield

    def skip(self, request: ApiRequest, reason: str) -> None:
        """Records already so in incident.io: no call, counted and settled."""
        self.ledger.on_skipped(request, reason)

    def wait(self) -> None:
        """Block until every call submitted so far has ended; raise if the run must stop."""
        with self.signals.deferred():
            self.delivery.wait()
            self.ledger.raise_if_stopped()

    def failed(self, stream: str) -> int:
        """Records of `stream` reported failed so far."""
        return self.ledger.failed(stream)

    def flush_held(self) -> None:
        """Every strategy sends what it holds."""
        for strategy in self._strategies.values():
            strategy.flush()

    def end_streams(self) -> None:
        """End of input: every stream's snapshot is complete once its calls are confirmed.

        Every stream ends even if one fails (its guard refused a deletion); then the first
        failure is raised.
        """
        self._input_ended = True
        self.flush_held()
        self.wait()
        failures = [error for s in self._strategies.values() if (error := _ended(s))]
        self.wait()
        for later in failures[1:]:
            LOG.error("%s", later)
        if failures:
            raise failures[0]

    # -- the end -----------------------------------------------------------------------------

    def interrupt(self, cause: str = "SIGTERM") -> None:
        """SIGTERM (or SIGINT, `cause`): end within `request_timeout`, whatever a server does.

        Nothing is retried from now; a call still running then is cut, one not started by then
        is not sent. `finish()` then writes the state as far as confirmed. Called from the
        signal handler: it only notes the cause and leaves the rest to its own thread, since
        that takes locks the main thread may hold.
        """
        self._interrupted = cause
        timeout = self.settings.delivery.request_timeout
        threading.Thread(
            target=self.delivery.stop_by, args=(timeout,), name="sigterm", daemon=True
        ).start()

    def finish(self) -> None:
        """The run ended well: confirm every call, write the final state, summarise, close.

        After SIGTERM, the state covers what was confirmed; calls it could not send make the
        run fail after that state is written, and so does input left unread: the orchestrator
        must not take a stopped load for a finished one (`RunStoppedError`, one line saying
        how far it got).
        """
        if self._closed:
            return
        try:
            self.flush_held()
            self.delivery.wait()
            self.ledger.raise_if_stopped(unsent_allowed=self._interrupted is not None)
        except BaseException:
            self.abort()
            raise
        if self.dry_run:
            self.checkpoints.abandon()
        else:
            self.checkpoints.finish()
            self._ping_heartbeat()
        self._close(raise_errors=True)
        if self._interrupted is None:
            return
        self.ledger.raise_if_stopped()
        if not self._input_ended:
            raise RunStoppedError(self._how_far(self._interrupted))

    def _how_far(self, cause: str) -> str:
        """The one line a run stopped before the end of its input ends with."""
        total = self.ledger.totals()
        return (
            f"Stopped by {cause} before the end of the input: {self.checkpoints.admitted} "
            f"records read, {total.delivered + total.unchanged} delivered or unchanged, "
            f"{total.failed} failed; the last state written covers what was confirmed, so "
            "the next run sends the rest."
        )

    def _ping_heartbeat(self) -> None:
        """After the final state of a run that read all its input and delivered every record.

        Never after a stopped or failed run, so the heartbeat source alerts when the pipeline
        stops running or keeps failing. A failed ping is logged, and never fails the run.
        """
        delivery = self.settings.delivery
        config_id, token = delivery.heartbeat_alert_source_config_id, delivery.heartbeat_token
        if config_id is None or token is None or not self._input_ended or not self.ledger.clean():
            return
        try:
            request = build_heartbeat_ping(self.settings.defaults.base_url, config_id, token)
            result, _ = self.delivery.call(request)
        except Exception as error:  # noqa: BLE001 - the records are delivered whatever this is
            LOG.warning("Heartbeat ping failed (the run itself delivered everything): %s", error)
            return
        self.ledger.log_heartbeat(result)

    def abort(self) -> None:
        """The run failed or was stopped: send nothing more, let calls under way end, close."""
        if self._closed:
            return
        self.delivery.stop()  # queued calls end `cancelled`, unsent
        self.delivery.wait()
        self.checkpoints.abandon()
        self._close(raise_errors=False)

    def _close(self, *, raise_errors: bool) -> None:
        self._closed = True
        try:
            self.ledger.finish()
        except Exception:
            if raise_errors:
                raise
            # The error already on its way out is the story; don't mask it.
        finally:
            self.delivery.close()
            remove_redaction(self.redact)


def _ended(strategy: Strategy) -> DeliveryFailedError | None:
    """End a strategy; its failure (a guard that refused) is returned, to raise once all ended."""
    try:
        strategy.end()
    except DeliveryFailedError as error:
        return error
    return None
