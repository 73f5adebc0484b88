"""Sending `ApiRequest`s: classification, pacing, retries, ordering and the delivery engine.

One `Delivery` per run, shared by every sink, so that rate-limit buckets are shared too.
"""

from __future__ import annotations

from target_incidentio.delivery.engine import (
    RESPONSE_BODY_LIMIT,
    Delivery,
    DeliveryResult,
    DeliveryStats,
    DeliveryStoppedError,
    describe,
    request_label,
)
from target_incidentio.delivery.outcome import ErrorDetail, ErrorInfo

__all__ = [
    "RESPONSE_BODY_LIMIT",
    "Delivery",
    "DeliveryResult",
    "DeliveryStats",
    "DeliveryStoppedError",
    "ErrorDetail",
    "ErrorInfo",
    "describe",
    "request_label",
]
