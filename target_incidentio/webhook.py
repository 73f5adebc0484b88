"""The response webhook: every response record POSTed to the user's endpoint.

It runs beside the main delivery on its own queue and thread, so a slow or failing
webhook never blocks or loses a delivery to incident.io; its own failures are logged
and counted.
"""

from __future__ import annotations

import logging
import queue
import threading
import typing as t
from dataclasses import replace

from target_incidentio.delivery.engine import Delivery, DeliveryResult
from target_incidentio.payloads.base import ApiRequest

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_incidentio.settings import DeliverySettings

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
_STOP = object()


class ResponseWebhook:
    """Batches response records and posts them with retries, off the delivery path."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        batch_size: int,
        delivery_settings: DeliverySettings,
        redact: Callable[[str], str],
    ) -> None:
        self._url = url
        self._headers = dict(headers)
        self._batch_size = batch_size
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(QUEUE_LIMIT)
        self._delivery = Delivery(
            replace(delivery_settings, max_concurrency=1, on_error="continue", dry_run=False),
            on_result=self._on_result,
            redact=redact,
        )
        self._thread = threading.Thread(target=self._run, name="response-webhook", daemon=True)
        self._thread.start()

    def post(self, record: dict[str, t.Any]) -> None:
        """Queue a response record; never blocks (a full queue drops and counts)."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning("Response webhook queue is full; response records are dropped.")

    def close(self) -> None:
        """Send what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join()
        self._delivery.wait()
        self._delivery.close()
        if self.failed or self.dropped:
            logger.warning(
                "Response webhook: %d posts failed, %d records dropped (see earlier warnings).",
                self.failed,
                self.dropped,
            )

    def _run(self) -> None:
        batch: list[dict[str, t.Any]] = []
        while True:
            item = self._queue.get()
            if item is _STOP:
                if batch:
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
                records=(),
                record_keys=(),
                headers=self._headers,
                stream="(response webhook)",
                operation="webhook",
            )
        )

    def _on_result(self, result: DeliveryResult) -> None:
        if result.ok:
            return
        self.failed += 1
        message = result.error.message if result.error else result.status
        logger.warning(
            "Response webhook post failed for good (status %s): %s", result.status_code, message
        )
