"""Escalations are paced to the endpoint's 60 a minute from the first call, not from 429s."""

from __future__ import annotations

import typing as t

from numbering import numbered
from support import StaticLists

from target_incidentio.core.secrets import Secret
from target_incidentio.delivery.ratelimit import RateLimiter
from target_incidentio.payloads.base import BuildContext
from target_incidentio.payloads.escalations import build_escalation
from target_incidentio.settings import StreamSettings

if t.TYPE_CHECKING:
    from delivery_helpers import FakeTime

ANN = "01HUSER0000000000000000ANN"


def test_sixty_go_at_once_and_the_sixty_first_waits_a_minute(fake_time: FakeTime) -> None:
    ctx = BuildContext("dq", ("n",), StreamSettings(api_key=Secret("k")), directory=StaticLists({}))
    rl = RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)
    start = fake_time.now
    waits = []
    for n in range(61):
        request = build_escalation(numbered({"n": n, "title": "t", "users": [ANN]}), ctx)
        permit = rl.take(request.rate_scopes)
        rl.answer(permit, request.rate_scopes, {}, None)
        waits.append(fake_time.now - start)
    assert waits[59] == 0  # the first 60: a minute's worth
    assert waits[60] >= 60.0 - 0.01  # the 61st: a minute after the first
