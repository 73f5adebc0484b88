"""The response webhook: every response record POSTed to the user's endpoint.

It runs beside the main delivery on its own queue and thread, so a slow or failing
webhook never blocks or loses a delivery to incident.io. At the end of the run it gets
`response_webhook_timeout` seconds more; what it has not posted by then is counted in
the summary and stays in the response log, and neither delivery nor the exit code depends on it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import typing as t
from dataclasses import replace

from target_incidentio.delivery.engine import Delivery
from target_incidentio.payloads.base import ApiRequest

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.settings import DeliverySettings, ResponseSettings

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
_STOP = object()


class ResponseWebhook:
    """Batches response records and posts them with retries, off the delivery path."""

    def __init__(
        self,
        settings: ResponseSettings,
        delivery_settings: DeliverySettings,
        redact: Callable[[str], str],
    ) -> None:
        self._settings = settings
        self._url = settings.response_webhook_url or ""
        self._batch_size = settings.response_webhook_batch_size
        self._lock = threading.Lock()
        self.records = 0  # response records handed over
        self.posted = 0  # of them, in a post the endpoint accepted
        self.failed_posts = 0
        self._queue: queue.Queue[object] = queue.Queue(QUEUE_LIMIT)
        self._abort = threading.Event()
        self._delivery = Delivery(
            replace(delivery_settings, max_concurrency=1, dry_run=False),
            on_result=self._on_result,
            halted=self._abort.is_set,
            redact=redact,
            sleep=self._wait,
            origin=self._url,  # nothing follows a redirect elsewhere: the headers stay here
        )
        self._thread = threading.Thread(target=self._run, name="response-webhook", daemon=True)

    def _wait(self, seconds: float) -> None:
        """A wait between retries that ends when the time budget runs out."""
        self._abort.wait(seconds)

    def start(self) -> None:
        """Start the thread that batches and posts."""
        self._thread.start()

    def post(self, record: dict[str, t.Any]) -> None:
        """Queue a response record; never blocks (a full queue counts it as not posted)."""
        with self._lock:
            self.records += 1
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(record)

    def close(self) -> None:
        """Post what is queued within the time budget, then stop and say what was left."""
        deadline = time.monotonic() + self._settings.response_webhook_timeout
        self._queue.put(_STOP)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._delivery.wait(max(0.0, deadline - time.monotonic())):
            self._abort.set()  # queued posts are cancelled, a post being retried stops
            self._delivery.stop_by(0)  # and a post still being answered is cut now
        self._thread.join()
        self._delivery.close()
        left = self.records - self.posted
        if left:
            logger.warning(
                "Response webhook: %d posts failed; %d of %d response records were not "
                "posted (they are in the response log, if one is set).",
                self.failed_posts,
                left,
                self.records,
            )

    def _run(self) -> None:
        batch: list[dict[str, t.Any]] = []
        while True:
            item = self._queue.get()
            if item is _STOP or self._abort.is_set():
                if batch and not self._abort.is_set():
                    self._send(batch)
                return
            batch.append(t.cast("dict[str, t.Any]", item))
            if len(batch) >= self._batch_size:
                self._send(batch)
                batch = []

    def _send(self, batch: list[dict[str, t.Any]]) -> None:
        body: t.Any = batch if self._batch_size > 1 else batch[0]
        self._delivery.submit(
            ApiRequest(
                method="POST",
                url=self._url,
                body=body,
                credential=None,
                order_key="webhook",
                rate_scopes=(),
                records=tuple(batch),
                record_keys=(),
                headers=self._settings.response_webhook_headers,
                stream="(response webhook)",
                operation="webhook",
            )
        )

    def _on_result(self, result: DeliveryResult) -> None:
        if result.ok:
            with self._lock:
                self.posted += result.request.record_count
            return
        if result.status == "cancelled":
            return
        with self._lock:
            self.failed_posts += 1
        message = result.error.message if result.error else result.status
        logger.warning(
            "Response webhook post failed for good (status %s): %s", result.status_code, message
        )
