from __future__ import annotations

import heapq
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from delivery_helpers import make_request
from windows import most_in_window

from incidentio_sandbox import Sandbox
from target_incidentio.core.secrets import Secret
from target_incidentio.delivery.engine import Delivery
from target_incidentio.delivery.limits import (
    GIVE_UP_AFTER,
    WINDOW_POLL,
    KeyBucket,
    SlidingWindow,
    TokenBucket,
)
from target_incidentio.delivery.ratelimit import Permit, RateLimiter, acquire_all, binding_limit
from target_incidentio.delivery.retry import RetryPolicy
from target_incidentio.payloads.base import RateScope
from target_incidentio.settings import DeliverySettings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from delivery_helpers import FakeTime

    from target_incidentio.delivery.results import DeliveryResult

KEY = RateScope("api_key:abc", 1200)  # incident.io's bucket: 1200, refilling 20/s
SOURCE = RateScope("alert_source:xyz", 120, "window")  # 120 in any 60 s
CAP = RateScope("stream:slow", 120, "cap")  # 2/s, one second's burst
LIMIT = {"X-RateLimit-Limit": "1200, 1200;window=60"}


def limiter(fake_time: FakeTime) -> RateLimiter:
    return RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)


def key_bucket(rl: RateLimiter, scope: RateScope = KEY) -> KeyBucket:
    bucket = rl.limit(scope)
    assert isinstance(bucket, KeyBucket)
    return bucket


def window(rl: RateLimiter, scope: RateScope = SOURCE) -> SlidingWindow:
    found = rl.limit(scope)
    assert isinstance(found, SlidingWindow)
    return found


def call(
    rl: RateLimiter,
    scopes: Sequence[RateScope],
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> float:
    """One call as the engine makes it: a permit taken, then answered; the seconds waited."""
    permit = rl.take(scopes)
    rl.answer(permit, scopes, headers or {}, retry_after)
    return permit.waited


def remaining(value: int, **more: str) -> Mapping[str, str]:
    return {"X-RateLimit-Remaining": str(value), **more}


# -- the key's bucket: burst, then the rate ---------------------------------------------------


def test_key_bucket_bursts_to_capacity_then_sustains_the_rate(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    start = fake_time.now
    for _ in range(1200):
        call(rl, [KEY])
    assert fake_time.sleeps == []  # the whole documented burst goes at once
    for _ in range(100):
        call(rl, [KEY])
    # Then one every 1/20 s, indefinitely.
    assert fake_time.now - start == pytest.approx(100 / 20)
    assert fake_time.sleeps == [pytest.approx(0.05)] * 100


def test_key_bucket_refills_to_its_capacity_after_idle(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    for _ in range(1200):
        call(rl, [KEY])
    fake_time.now += 30  # half refilled
    assert key_bucket(rl).tokens() == pytest.approx(600)
    fake_time.now += 600  # full, and no fuller
    assert key_bucket(rl).tokens() == pytest.approx(1200)
    for _ in range(1200):
        call(rl, [KEY])
    assert fake_time.sleeps == []
    assert call(rl, [KEY]) == pytest.approx(0.05)


def test_stream_cap_has_one_second_of_burst_and_starts_nearly_empty(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    assert call(rl, [CAP]) == 0.0
    assert call(rl, [CAP]) == pytest.approx(0.5)
    fake_time.now += 600  # long idle: the cap refills only to its capacity, two calls
    call(rl, [CAP])
    call(rl, [CAP])
    assert call(rl, [CAP]) == pytest.approx(0.5)


def test_bucket_capacity_is_at_least_one() -> None:
    bucket = TokenBucket(0.5)
    assert bucket.capacity == 1.0
    assert TokenBucket(20).capacity == 20.0
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
    assert KeyBucket(0.5).capacity == 1.0
    assert KeyBucket(1200).capacity == 1200.0


def test_every_scope_pays_and_the_slowest_binds(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    for _ in range(10):
        call(rl, [KEY, CAP])
    assert fake_time.now - 1000.0 == pytest.approx(9 * 0.5)
    # The key's bucket was charged too: full (1200) meanwhile, less the last call.
    assert key_bucket(rl).tokens() == pytest.approx(1199.0)


def test_limits_are_shared_by_scope_name(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    assert rl.limit(KEY) is rl.limit(RateScope(KEY.name, 1200))
    # A later, lower rate for the same scope slows it; a higher one never speeds it up.
    assert key_bucket(rl, RateScope(KEY.name, 600)).rate == 10.0
    assert key_bucket(rl, RateScope(KEY.name, 600)).capacity == 600.0
    assert key_bucket(rl, RateScope(KEY.name, 6000)).rate == 10.0
    assert window(rl, RateScope(SOURCE.name, 60, "window")).limit == 60
    assert window(rl, RateScope(SOURCE.name, 600, "window")).limit == 60


# -- the key's bucket: what the server says ---------------------------------------------------


def test_remaining_lowers_the_tokens(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    call(rl, [KEY], remaining(3, **LIMIT))  # others on the key used the rest
    for _ in range(3):
        call(rl, [KEY])
    assert fake_time.sleeps == []
    assert call(rl, [KEY]) == pytest.approx(0.05)


def test_remaining_raises_the_tokens(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.answer(None, [KEY], remaining(0))
    assert key_bucket(rl).tokens() == 0.0
    # It waits one refill. Another run stopped and the server's bucket refilled faster than
    # ours: believe it.
    call(rl, [KEY], remaining(500))
    assert key_bucket(rl).tokens() == pytest.approx(500)
    sleeps = len(fake_time.sleeps)
    for _ in range(500):
        call(rl, [KEY])
    assert len(fake_time.sleeps) == sleeps
    # Never above the bucket's capacity, whatever the header says.
    rl.answer(None, [KEY], remaining(10**6))
    assert key_bucket(rl).tokens() == pytest.approx(1200)


def test_remaining_zero_waits_for_one_refill(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    fake_time.now += 5
    rl.answer(None, [KEY], {"x-ratelimit-remaining": "0"})
    call(rl, [KEY])
    assert fake_time.sleeps == [pytest.approx(0.05)]


def test_limit_sets_rate_and_capacity_of_the_binding_limit(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    rl.answer(None, [KEY, SOURCE], {"X-RateLimit-Limit": "60, 1200;window=60, 60;window=60"})
    bucket = key_bucket(rl)
    assert (bucket.capacity, bucket.rate) == (60.0, pytest.approx(1.0))
    assert bucket.tokens() == pytest.approx(60)  # the burst shrank with it
    assert window(rl).limit == 120  # only the first scope is corrected
    for _ in range(60):
        call(rl, [KEY])
    assert fake_time.sleeps == []
    assert call(rl, [KEY]) == pytest.approx(1.0)
    # Back up when the server says so, but never above the configured 1200/min.
    rl.answer(None, [KEY], {"X-RateLimit-Limit": "600, 600;window=30"})
    assert (bucket.capacity, bucket.rate) == (600.0, pytest.approx(20.0))
    rl.answer(None, [KEY], {"X-RateLimit-Limit": "6000, 6000;window=60"})
    assert (bucket.capacity, bucket.rate) == (1200.0, pytest.approx(20.0))


def test_missing_or_unreadable_headers_leave_the_model(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    for _ in range(200):
        call(rl, [KEY])
    rl.answer(None, [KEY], {})
    rl.answer(None, [KEY], {"X-RateLimit-Remaining": "lots", "X-RateLimit-Limit": "junk"})
    rl.answer(None, [KEY], {"X-RateLimit-Limit": "1200"})  # no window: no rate to take from it
    rl.answer(None, [], remaining(0))
    bucket = key_bucket(rl)
    assert (bucket.tokens(), bucket.capacity, bucket.rate) == (1000.0, 1200.0, 20.0)
    assert call(rl, []) == 0.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1200, 1200;window=60", (1200.0, 20.0)),
        ("60, 1200;window=60, 60;window=60", (60.0, 1.0)),
        ("40, 40;window=2", (40.0, 20.0)),
        ("1200;w=60", (1200.0, 20.0)),
        ("1200", None),
        ("1200, 600;window=60", None),  # no policy with the binding quota: no window for it
        ("", None),
        ("junk", None),
        ("0;window=60", None),
    ],
)
def test_binding_limit(header: str, expected: tuple[float, float] | None) -> None:
    assert binding_limit(header) == (pytest.approx(expected) if expected else None)


def test_in_flight_calls_are_not_refunded_by_remaining(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    first, second, third = (rl.take([KEY]) for _ in range(3))
    # The server handled the first while the other two were on their way: its Remaining
    # still includes their tokens, which we have spent already.
    rl.answer(first, [KEY], remaining(100))
    assert key_bucket(rl).tokens() == pytest.approx(98)
    # Each later answer counts itself, so nothing is refunded twice.
    rl.answer(second, [KEY], remaining(99))
    assert key_bucket(rl).tokens() == pytest.approx(98)
    rl.answer(third, [KEY], remaining(98))
    assert key_bucket(rl).tokens() == pytest.approx(98)


def test_in_flight_calls_answered_out_of_order_are_still_not_refunded(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    first, second, third = (rl.take([KEY]) for _ in range(3))
    assert key_bucket(rl).in_flight() == 3
    # The third came back first. The other two may not have reached the server yet, so they
    # are held back from its Remaining too: a token or two short beats a 429.
    rl.answer(third, [KEY], remaining(97))
    assert key_bucket(rl).tokens() == pytest.approx(95)
    rl.answer(first, [KEY], remaining(99))  # stale: the third's 97 is newer
    rl.answer(second, [KEY], remaining(98))
    assert key_bucket(rl).tokens() == pytest.approx(95)
    assert key_bucket(rl).in_flight() == 0
    # The next fresh answer sets the count again.
    rl.answer(rl.take([KEY]), [KEY], remaining(96))
    assert key_bucket(rl).tokens() == pytest.approx(96)


def test_a_stale_response_does_not_overwrite_a_fresher_one(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    older, newer = rl.take([KEY]), rl.take([KEY])
    rl.answer(newer, [KEY], remaining(10))
    bucket = key_bucket(rl)
    assert bucket.tokens() == 9.0  # the older call is still in flight
    rl.answer(older, [KEY], remaining(900, **{"X-RateLimit-Limit": "60, 60;window=60"}))
    assert (bucket.tokens(), bucket.capacity, bucket.rate) == (9.0, 1200.0, 20.0)
    # A stale 429 still pauses everyone (the refusal happened), but keeps the fresher count.
    third = rl.take([KEY])
    rl.answer(third, [KEY], remaining(8))
    rl.answer(older, [KEY], remaining(0, **{"Retry-After": "2"}), retry_after=2.0)
    assert call(rl, [KEY]) == pytest.approx(2.0)
    assert key_bucket(rl).tokens() == pytest.approx(7.0)


def test_retry_after_pauses_the_bucket_for_everyone(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    call(rl, [KEY], {"X-RateLimit-Remaining": "0", "Retry-After": "2"}, retry_after=2.0)
    assert call(rl, [KEY]) == pytest.approx(2.0)  # one call may go once the pause ends
    assert call(rl, [KEY]) == pytest.approx(0.05)


def test_retry_after_pauses_a_full_bucket_too(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    call(rl, [KEY], {}, retry_after=3.0)  # a 429 without any X-RateLimit-* header
    assert key_bucket(rl).tokens() == 0.0
    assert call(rl, [KEY]) == pytest.approx(3.0)


def _share_with_others(rl: RateLimiter, fake_time: FakeTime, others: int, seconds: int) -> float:
    """We and others each send `others` calls/s on a key; return the server's bucket at the end.

    The server's bucket refills 20/s and starts at 600, so it neither fills nor empties.
    """
    server = 600.0
    for _ in range(seconds * 10):
        fake_time.now += 0.1
        server += 2.0 - others / 10  # refill, less the others' calls
        permit = rl.take([KEY])
        server -= 1
        rl.answer(permit, [KEY], remaining(int(server)))
    return server


def test_others_drawing_on_the_key_are_left_their_share(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    server = _share_with_others(rl, fake_time, others=10, seconds=10)
    bucket = key_bucket(rl)
    assert bucket.others() == pytest.approx(10, abs=0.1)
    # Our tokens follow the server's count, less a quarter second of refill left unspent...
    before = bucket.tokens()
    assert before == pytest.approx(server - 5)
    # ...and between responses they refill at only the share the others leave us.
    fake_time.now += 0.1
    assert bucket.tokens() - before == pytest.approx(1.0, abs=0.05)


def test_others_stopping_gives_the_whole_rate_back(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    _share_with_others(rl, fake_time, others=10, seconds=10)
    server = _share_with_others(rl, fake_time, others=0, seconds=10)
    bucket = key_bucket(rl)
    assert bucket.others() < 0.1
    before = bucket.tokens()
    assert before == pytest.approx(server)  # no reserve left unspent for them any more
    fake_time.now += 0.1
    assert bucket.tokens() - before == pytest.approx(2.0, abs=0.05)


# -- alert sources: a sliding window ------------------------------------------------------------


def test_most_in_window_counts_what_it_should() -> None:
    assert most_in_window([i * 0.495 for i in range(121)]) == 121  # 121 within 59.4 s
    assert most_in_window([i * 0.5 for i in range(121)]) == 120  # the 121st at exactly 60 s
    assert most_in_window([0.0, 59.999, 60.0, 120.0]) == 2
    assert most_in_window([]) == 0


def test_a_bucket_of_the_same_rate_admits_121_in_60_seconds(fake_time: FakeTime) -> None:
    """Why alert sources need a window: the old bucket (2/s, burst 2) let 121 land in a minute."""
    bucket = TokenBucket(2.0, 2.0, clock=fake_time.clock, sleep=fake_time.sleep, tokens=2.0)
    sent = []
    for _ in range(130):
        acquire_all([bucket], threading.RLock(), fake_time.sleep)
        sent.append(fake_time.now)
    assert most_in_window(sent) > 120


def _simulate(
    limit: SlidingWindow,
    fake_time: FakeTime,
    calls: list[tuple[float, float, float]],
    *,
    answer_at_send: bool = False,
) -> list[float]:
    """Send `calls` (not before, to arrival, arrival to response) as fast as `limit` admits.

    Many calls may be in flight at once. Returns when each reached the server.
    `answer_at_send` frees slots a window after the send instead, the mistake to catch.
    """
    pending: list[tuple[float, int]] = []
    arrivals: list[float] = []
    index = 0
    while True:
        while pending and pending[0][0] <= fake_time.now:
            limit.answered(heapq.heappop(pending)[1])
        if index == len(calls) and not pending:
            return arrivals
        not_before, to_server, to_client = calls[index] if index < len(calls) else (0, 0, 0)
        wait = limit.wait_time()
        if index < len(calls) and fake_time.now >= not_before and wait == 0:
            ticket = limit.take()
            arrivals.append(fake_time.now + to_server)
            if answer_at_send:
                limit.answered(ticket)
            else:
                heapq.heappush(pending, (fake_time.now + to_server + to_client, ticket))
            index += 1
            continue
        upcoming = [pending[0][0]] if pending else []
        if index < len(calls):
            upcoming.append(max(not_before, fake_time.now + wait))
        fake_time.now = max(fake_time.now, min(upcoming))


def test_a_slot_is_reused_a_window_after_the_response_not_the_send(fake_time: FakeTime) -> None:
    # The first event is sent at once but crawls to the server (10 s); 119 more are sent at 5 s
    # and arrive at once. Freed a window after the send, the first slot would let a call reach
    # the server at 60 s, inside the server's window [5, 65) with the other 120.
    start = fake_time.now
    calls = [(start, 10.0, 0.0)] + [(start + 5, 0.0, 0.0)] * 119 + [(start, 0.0, 0.0)] * 10
    wrong = _simulate(
        SlidingWindow(120, clock=fake_time.clock), fake_time, calls, answer_at_send=True
    )
    assert most_in_window(wrong) == 121

    fake_time.now = start
    right = _simulate(SlidingWindow(120, clock=fake_time.clock), fake_time, calls)
    assert most_in_window(right) == 120
    assert sorted(right)[120] - start == pytest.approx(65.0)  # 60 s after the 119's answers


def test_window_never_admits_121_in_any_60_seconds(fake_time: FakeTime) -> None:
    rng = random.Random(7)
    start = fake_time.now
    calls = [
        (start + i * rng.uniform(0, 0.2), rng.expovariate(2.0), rng.expovariate(2.0))
        for i in range(1000)
    ]
    arrivals = _simulate(SlidingWindow(120, clock=fake_time.clock), fake_time, calls)
    assert len(arrivals) == 1000
    assert most_in_window(arrivals) == 120  # the whole allowance is used, never more
    # The same network, slots counted from the send: the checker catches the overflow.
    fake_time.now = start
    wrong = _simulate(
        SlidingWindow(120, clock=fake_time.clock), fake_time, calls, answer_at_send=True
    )
    assert most_in_window(wrong) > 120


def test_window_of_a_limiter_admits_its_limit_then_waits(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    for _ in range(119):
        call(rl, [SOURCE])
    # What the server says is left does not widen the window (incident.io documents no burst).
    call(rl, [SOURCE], remaining(120, **{"X-RateLimit-Limit": "1200, 1200;window=60"}))
    assert fake_time.sleeps == []
    assert window(rl).limit == 120
    fake_time.now += 10
    assert call(rl, [SOURCE]) == pytest.approx(50.0)


def test_window_waits_for_an_unanswered_call(fake_time: FakeTime) -> None:
    one = SlidingWindow(1, clock=fake_time.clock)
    ticket = one.take()
    assert one.in_flight() == 1
    # The call may still reach the server: its slot is held, and callers poll.
    fake_time.now += GIVE_UP_AFTER / 2
    assert one.wait_time() == pytest.approx(WINDOW_POLL)
    one.answered(ticket)
    assert one.wait_time() == pytest.approx(60.0)


def test_window_gives_up_on_a_call_never_answered(fake_time: FakeTime) -> None:
    one = SlidingWindow(1, clock=fake_time.clock)
    one.take()
    fake_time.now += GIVE_UP_AFTER
    assert one.in_flight() == 0
    assert one.wait_time() == pytest.approx(60.0)


def test_retry_after_pauses_the_window(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    call(rl, [SOURCE], {"Retry-After": "4"}, retry_after=4.0)
    assert call(rl, [SOURCE]) == pytest.approx(4.0)


def test_after_a_429_the_window_spaces_calls_evenly_for_a_window(fake_time: FakeTime) -> None:
    # Someone else spends the source's allowance: bursting into it would only meet more 429s.
    rl = limiter(fake_time)
    for _ in range(5):  # a burst is fine while nothing says otherwise
        assert call(rl, [SOURCE]) == 0
    call(rl, [SOURCE], {"Retry-After": "1"}, retry_after=1.0)
    waits = [call(rl, [SOURCE]) for _ in range(4)]
    assert waits[0] == pytest.approx(1.0)  # the pause itself
    assert waits[1:] == [pytest.approx(0.5)] * 3  # then 60 s / 120, evenly
    fake_time.sleep(60)  # a whole window without a 429: bursts again
    assert call(rl, [SOURCE]) == 0
    assert call(rl, [SOURCE]) == 0


def test_window_of_a_fractional_rate_never_exceeds_it(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    fractional = window(rl, RateScope("alert_source:a", 90.5, "window"))
    assert (fractional.limit, fractional.window) == (90, 60.0)
    slow = window(rl, RateScope("alert_source:b", 0.5, "window"))
    assert (slow.limit, slow.window) == (1, 120.0)
    call(rl, [RateScope("alert_source:b", 0.5, "window")], {})
    assert call(rl, [RateScope("alert_source:b", 0.5, "window")]) == pytest.approx(120.0)
    # A lower rate asked for later shrinks the window's allowance; a higher one does not.
    lowered = window(rl, RateScope("alert_source:a", 30, "window"))
    assert (lowered.limit, lowered.window) == (30, 60.0)
    assert window(rl, RateScope("alert_source:a", 120, "window")).limit == 30


def test_window_rejects_a_nonsense_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindow(0)


# -- matching responses to calls -------------------------------------------------------------


def test_a_transport_error_releases_the_call(fake_time: FakeTime) -> None:
    rl = limiter(fake_time)
    results = []
    delivery = Delivery(
        DeliverySettings(max_concurrency=1, request_timeout=2),
        on_result=results.append,
        retry_policy=RetryPolicy(max_retries=0),
        rate_limiter=rl,
    )
    with delivery:
        # Port 9 on loopback: nothing listens there, so the connection is refused.
        url = "http://127.0.0.1:9/v2/alert_events/http/x"
        delivery.submit(make_request(url, scopes=(SOURCE,)))
        delivery.wait()
    assert [r.status for r in results] == ["failed"]
    assert window(rl).in_flight() == 0
    assert window(rl).used() == 1


def test_threads_share_the_limits() -> None:
    rl = RateLimiter()
    scope = RateScope("stream:threads", 12_000, "cap")  # 200/s, capacity 200
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            call(rl, [scope])
            with lock:
                taken.append(time.monotonic())

    # Drain the initial token so the run is fully paced.
    call(rl, [scope])
    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 80 tokens at 200/s need 0.4 s whatever the thread count (a per-thread bucket would take 0.1).
    assert len(taken) == 80
    assert max(taken) - start >= 0.38


def test_acquire_all_blocks_through_injected_sleep(fake_time: FakeTime) -> None:
    bucket = TokenBucket(4, clock=fake_time.clock, sleep=fake_time.sleep)
    lock = threading.RLock()
    waited = [acquire_all([bucket], lock, fake_time.sleep)[0] for _ in range(5)]
    assert waited == [0.0, *[pytest.approx(0.25)] * 4]


# -- two runs on one key, over real HTTP -------------------------------------------------------

SANDBOX_KEY = "shared-key"


def _two_runs(
    sandbox: Sandbox, calls: int, limiter_type: type[RateLimiter], retries: int = 8
) -> list[DeliveryResult]:
    """Two deliveries, each with its own limiter as two processes would have, `calls` each."""
    results: list[DeliveryResult] = []
    lock = threading.Lock()

    def collect(result: DeliveryResult) -> None:
        with lock:
            results.append(result)

    runs = [
        Delivery(
            DeliverySettings(max_concurrency=4, request_timeout=10, max_retries=0),
            on_result=collect,
            retry_policy=RetryPolicy(max_retries=retries),
            rate_limiter=limiter_type(),
        )
        for _ in range(2)
    ]

    def feed(delivery: Delivery, run: int) -> None:
        for call in range(calls):
            body = {"idempotency_key": f"run{run}-{call}-{uuid.uuid4()}", "visibility": "public"}
            request = make_request(
                f"{sandbox.url}/v2/incidents",
                body,
                order_key=f"{run}-{call}",
                credential=Secret(SANDBOX_KEY),
                scopes=(RateScope(f"api_key:{SANDBOX_KEY}", 1200),),
            )
            delivery.submit(request)
        delivery.wait()

    threads = [threading.Thread(target=feed, args=(d, i)) for i, d in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for delivery in runs:
        delivery.close()
    return results


class _Deaf(RateLimiter):
    """The wrong thing: a limiter that learns nothing from responses, only its own bucket."""

    def answer(
        self,
        permit: Permit | None,
        scopes: Sequence[RateScope],
        headers: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        super().answer(permit, scopes, {}, None)


def _server_bucket() -> Sandbox:
    return Sandbox(api_key=SANDBOX_KEY, rate_limit=True, bucket_capacity=40, refill_per_second=20)


@pytest.mark.slow
def test_two_runs_on_one_key_share_its_bucket_over_http() -> None:
    # The server's bucket: 40 calls, refilling 20/s; each run alone would burst 1200. Together
    # they must learn the bucket from the headers and split it: 100 calls take about 3 s.
    with _server_bucket() as sb:
        results = _two_runs(sb, 50, RateLimiter)
        created = len(sb.state()["incidents"])
        throttled = sum(1 for e in sb.journal() if e["status"] == 429)
    assert [r.status for r in results] == ["delivered"] * 100
    assert created == 100  # nothing lost
    assert throttled <= 5  # at most 5% of calls answered 429

    # The checker is live: two runs that learn nothing from the server trip its bucket.
    with _server_bucket() as sb:
        _two_runs(sb, 50, _Deaf, retries=0)
        throttled = sum(1 for e in sb.journal() if e["status"] == 429)
    assert throttled > 5
