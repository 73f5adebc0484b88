"""Shared by the delivery tests (not named conftest, so it can be imported)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from target_incidentio.core.secrets import Secret
from target_incidentio.payloads.base import ApiRequest, RateScope

API_KEY = "inc_test_Zq8VxK3mP0-DISTINCTIVE-7f2c9b"
NOW = datetime(2025, 4, 17, 11, 17, 8, tzinfo=timezone.utc)


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def make_request(
    url: str,
    body: Any = None,
    *,
    order_key: str = "key",
    credential: Secret | None = None,
    scopes: tuple[RateScope, ...] = (RateScope("api_key:test", 1200),),
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> ApiRequest:
    return ApiRequest(
        method=method,
        url=url,
        body={"title": "disk full"} if body is None else body,
        credential=Secret(API_KEY) if credential is None else credential,
        order_key=order_key,
        rate_scopes=scopes,
        records=({"id": 1},),
        record_keys=("1",),
        headers=headers or {},
    )
