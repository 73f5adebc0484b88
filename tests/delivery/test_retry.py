from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from target_incidentio.delivery.outcome import Delivered, Outcome, Rejected, Retry
from target_incidentio.delivery.retry import Retrier, RetryPolicy
from target_incidentio.settings import DeliverySettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pytest
    from delivery_helpers import FakeTime

FLAKY = Retry(None, "HTTP 503 Service Unavailable")


def run(outcomes: Sequence[Outcome], policy: RetryPolicy, fake_time: FakeTime) -> int:
    """Play `outcomes` in turn (the last one repeats); return the attempts made."""
    calls = iter(outcomes)
    last = outcomes[-1]
    retrier = Retrier(policy, sleep=fake_time.sleep)
    tried = retrier.run(lambda: next(calls, last), lambda o: o, "POST /v2/alert_events")
    return tried.attempts


def test_backoff_doubles_and_stops_on_success(fake_time: FakeTime) -> None:
    attempts = run([FLAKY, FLAKY, FLAKY, Delivered()], RetryPolicy(jitter=None), fake_time)
    assert attempts == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def test_backoff_is_capped_by_max_wait(fake_time: FakeTime) -> None:
    run([FLAKY] * 5 + [Delivered()], RetryPolicy(max_wait=3, jitter=None), fake_time)
    assert fake_time.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_stays_under_the_exponential_ceiling(fake_time: FakeTime) -> None:
    random.seed(7)
    run([FLAKY] * 8 + [Delivered()], RetryPolicy(max_wait=10), fake_time)
    ceilings = [1, 2, 4, 8, 10, 10, 10, 10]
    assert len(fake_time.sleeps) == 8
    assert all(0 <= w <= c for w, c in zip(fake_time.sleeps, ceilings, strict=False))
    assert fake_time.sleeps != [float(c) for c in ceilings]  # really jittered


def test_server_wait_is_used_and_capped(fake_time: FakeTime) -> None:
    outcomes: list[Outcome] = [Retry(2.5, "429"), Retry(0.0, "429"), Retry(600, "429"), Delivered()]
    run(outcomes, RetryPolicy(max_wait=60), fake_time)
    assert fake_time.sleeps == [2.5, 0.0, 60.0]


def test_gives_up_after_max_retries(fake_time: FakeTime) -> None:
    assert run([FLAKY], RetryPolicy(max_retries=3, jitter=None), fake_time) == 4
    assert len(fake_time.sleeps) == 3


def test_zero_retries_means_one_attempt(fake_time: FakeTime) -> None:
    assert run([FLAKY], RetryPolicy(max_retries=0), fake_time) == 1
    assert fake_time.sleeps == []


def test_rejections_are_not_retried(fake_time: FakeTime) -> None:
    assert run([Rejected("HTTP 422"), Delivered()], RetryPolicy(), fake_time) == 1
    assert fake_time.sleeps == []


def test_policy_from_settings() -> None:
    policy = RetryPolicy.from_settings(DeliverySettings(max_retries=2, max_retry_wait=7))
    assert (policy.max_retries, policy.max_wait) == (2, 7)


def test_each_retry_is_logged_without_secrets(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sekrit-token-value"
    outcomes: list[Outcome] = [Retry(1.0, f"HTTP 429 for {secret}"), Delivered()]
    calls = iter(outcomes)
    retrier = Retrier(
        RetryPolicy(max_retries=4),
        sleep=fake_time.sleep,
        redact=lambda text: text.replace(secret, "***"),
    )
    with caplog.at_level(logging.DEBUG):
        retrier.run(lambda: next(calls), lambda o: o, "POST /v2/alert_events/http/01ABC")
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message == (
        "POST /v2/alert_events/http/01ABC failed: HTTP 429 for ***; retry 1/4 in 1.00 s"
    )
    assert secret not in caplog.text


REFUSED = Retry(None, "127.0.0.1:1 refused the connection (nothing listens there)", "refused")
TIMED_OUT = Retry(None, "h:443 timed out: no complete answer within 5 s", "timeout")


def test_a_policy_may_cap_calls_without_an_answer_apart(fake_time: FakeTime) -> None:
    # `--check`'s kind of policy: a server that answers 503 gets its retries, a port that
    # refuses one, a call that timed out none; the run's policy (unset) treats all alike.
    policy = RetryPolicy(max_retries=3, jitter=None, unanswered_retries=1, timeout_retries=0)
    assert run([REFUSED], policy, fake_time) == 2
    assert run([TIMED_OUT], policy, fake_time) == 1
    assert run([FLAKY], policy, fake_time) == 4
    assert run([FLAKY, REFUSED, FLAKY, Delivered()], policy, fake_time) == 4
    assert run([REFUSED, REFUSED, Delivered()], policy, fake_time) == 2
    assert run([REFUSED], RetryPolicy(max_retries=3, jitter=None), fake_time) == 4
    assert run([TIMED_OUT], RetryPolicy(max_retries=3, jitter=None), fake_time) == 4
