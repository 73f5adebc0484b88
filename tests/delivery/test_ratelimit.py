from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from target_incidentio.delivery.ratelimit import RateLimiter, TokenBucket, server_rate
from target_incidentio.payloads.base import RateScope

if TYPE_CHECKING:
    from delivery_helpers import FakeTime

KEY = RateScope("api_key:abc", 1200)  # 20/s
SOURCE = RateScope("alert_source:xyz", 120)  # 2/s


def limiter(fake_time: FakeTime) -> RateLimiter:
    return RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)


def test_steady_run_is_paced_at_the_rate(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    start = fake_time.now
    for _ in range(100):
        rl.acquire([KEY])
    # The first call goes at once, then one every 1/20 s.
    assert fake_time.now - start == pytest.approx(99 / 20)
    assert all(wait == pytest.approx(1 / 20, abs=1e-9) or wait < 1e-9 for wait in fake_time.sleeps)


def test_acquire_returns_the_time_waited(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    assert rl.acquire([KEY]) == 0.0
    assert rl.acquire([KEY]) == pytest.approx(0.05)


def test_burst_after_idle_is_one_second_worth(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.acquire([KEY])
    fake_time.now += 600  # long idle: the bucket refills only to its capacity
    for _ in range(20):
        rl.acquire([KEY])
    assert fake_time.sleeps == []
    rl.acquire([KEY])
    assert fake_time.sleeps == [pytest.approx(0.05)]


def test_bucket_capacity_is_at_least_one() -> None:
    bucket = TokenBucket(0.5)
    assert bucket.capacity == 1.0
    assert TokenBucket(20).capacity == 20.0
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


def test_every_scope_pays_and_the_slowest_binds(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    for _ in range(10):
        rl.acquire([KEY, SOURCE])
    assert fake_time.now - 1000.0 == pytest.approx(9 * 0.5)
    # The key's bucket was charged too: full (20) after 4.5 s, less the last call.
    assert rl.bucket(KEY).tokens() == pytest.approx(19.0)


def test_buckets_are_shared_by_scope_name(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    assert rl.bucket(KEY) is rl.bucket(RateScope(KEY.name, 1200))
    # A later, lower rate for the same scope slows it; a higher one never speeds it up.
    assert rl.bucket(RateScope(KEY.name, 600)).rate == 10.0
    assert rl.bucket(RateScope(KEY.name, 6000)).rate == 10.0


def test_local_tokens_are_clamped_to_server_remaining(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.acquire([KEY])
    fake_time.now += 5  # 20 tokens locally
    rl.observe([KEY], {"X-RateLimit-Remaining": "3", "X-RateLimit-Limit": "1200, 1200;window=60"})
    for _ in range(3):
        rl.acquire([KEY])
    assert fake_time.sleeps == []
    rl.acquire([KEY])
    assert fake_time.sleeps == [pytest.approx(0.05)]


def test_remaining_zero_waits_for_one_refill(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    fake_time.now += 5
    rl.observe([KEY], {"x-ratelimit-remaining": "0"})
    rl.acquire([KEY])
    assert fake_time.sleeps == [pytest.approx(0.05)]


def test_server_remaining_never_adds_tokens(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.acquire([KEY])
    rl.observe([KEY], {"X-RateLimit-Remaining": "1199"})
    rl.acquire([KEY])
    assert fake_time.sleeps == [pytest.approx(0.05)]


def test_lower_server_limit_slows_the_bucket(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.observe([KEY, SOURCE], {"X-RateLimit-Limit": "60, 1200;window=60, 60;window=60"})
    assert rl.bucket(KEY).rate == pytest.approx(1.0)
    assert rl.bucket(KEY).capacity == 1.0
    assert rl.bucket(SOURCE).rate == pytest.approx(2.0)  # only the first scope is corrected
    rl.acquire([KEY])
    rl.acquire([KEY])
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_higher_server_limit_is_ignored(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.observe([KEY], {"X-RateLimit-Limit": "6000, 6000;window=60"})
    assert rl.bucket(KEY).rate == pytest.approx(20.0)


def test_retry_after_pauses_the_bucket_for_everyone(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.acquire([KEY])
    rl.observe([KEY], {"X-RateLimit-Remaining": "0", "Retry-After": "2"}, retry_after=2.0)
    assert rl.acquire([KEY]) == pytest.approx(2.0)  # one call may go once the pause ends
    assert rl.acquire([KEY]) == pytest.approx(0.05)


def test_observe_without_scopes_or_headers_is_harmless(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.observe([], {"X-RateLimit-Remaining": "0"})
    rl.observe([KEY], {"X-RateLimit-Remaining": "lots", "X-RateLimit-Limit": "junk"})
    assert rl.bucket(KEY).tokens() == pytest.approx(1.0)
    assert rl.acquire([]) == 0.0


@pytest.mark.parametrize(
    ("header", "rate"),
    [
        ("1200, 1200;window=60", 20.0),
        ("60, 1200;window=60, 60;window=60", 1.0),
        ("1200;w=60", 20.0),
        ("1200", None),
        ("", None),
        ("0;window=60", None),
    ],
)
def test_server_rate(header: str, rate: float | None) -> None:
    assert server_rate(header) == (pytest.approx(rate) if rate is not None else None)


def test_token_bucket_acquire_blocks_through_injected_sleep(fake_time: FakeTime) -> None:
    bucket = TokenBucket(4, clock=fake_time.clock, sleep=fake_time.sleep)
    waited = [bucket.acquire() for _ in range(5)]
    assert waited == [0.0, *[pytest.approx(0.25)] * 4]


def test_threads_share_the_buckets() -> None:
    rl = RateLimiter()
    scope = RateScope("api_key:threads", 12_000)  # 200/s, capacity 200
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            rl.acquire([scope])
            with lock:
                taken.append(time.monotonic())

    # Drain the initial token so the run is fully paced.
    rl.acquire([scope])
    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 80 tokens at 200/s need 0.4 s whatever the thread count (a per-thread bucket would take 0.1).
    assert len(taken) == 80
    assert max(taken) - start >= 0.38
