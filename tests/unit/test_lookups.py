"""The per-run look-up cache: each list read once, by one thread, errors kept; page following."""

from __future__ import annotations

import threading
import time

import pytest

from target_incidentio.core.lookups import LookupCache, follow_pages


def test_each_key_is_read_once_even_when_threads_ask_together() -> None:
    reads: list[str] = []
    release = threading.Event()

    def fetch(key: str) -> list[str]:
        reads.append(key)
        release.wait(5)
        return [key.upper()]

    cache: LookupCache[str, list[str]] = LookupCache(fetch)
    got: list[list[str]] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("a"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(5)
    assert reads == ["a"]
    assert got == [["A"]] * 8
    assert cache.get("b") == ["B"]
    assert cache.reads == 2
    assert cache.cached("a")
    assert not cache.cached("c")


def test_building_reads_nothing_and_different_keys_do_not_wait_for_each_other() -> None:
    slow_started = threading.Event()
    release = threading.Event()

    def fetch(key: str) -> str:
        if key == "slow":
            slow_started.set()
            release.wait(5)
        return key

    cache: LookupCache[str, str] = LookupCache(fetch)
    assert cache.reads == 0
    slow = threading.Thread(target=cache.get, args=("slow",))
    slow.start()
    assert slow_started.wait(5)
    assert cache.get("fast") == "fast"  # not blocked behind "slow"
    release.set()
    slow.join(5)


def test_a_failed_read_is_kept_and_not_retried() -> None:
    calls = 0

    def fetch(key: str) -> str:
        nonlocal calls
        calls += 1
        msg = f"GET {key}: rejected (HTTP 403)"
        raise RuntimeError(msg)

    cache: LookupCache[str, str] = LookupCache(fetch)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="HTTP 403"):
            cache.get("roles")
    assert calls == 1


def test_update_reads_first_runs_under_the_key_lock_and_keeps_the_list_when_it_fails() -> None:
    cache: LookupCache[str, tuple[str, ...]] = LookupCache(lambda _key: ("Payments",))
    assert cache.update("options", lambda items: (*items, "Billing")) == ("Payments", "Billing")
    assert cache.get("options") == ("Payments", "Billing")

    def refuse(_items: tuple[str, ...]) -> tuple[str, ...]:
        msg = "POST refused"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError):
        cache.update("options", refuse)
    assert cache.get("options") == ("Payments", "Billing")
    assert cache.reads == 1


def test_follow_pages_follows_cursors_and_stops_at_the_last_page() -> None:
    pages = {
        None: {"items": [{"id": 1}], "pagination_meta": {"after": "c1"}},
        "c1": {"items": [{"id": 2}], "pagination_meta": {"after": "c2"}},
        "c2": {"items": [], "pagination_meta": {"after": "c2"}},  # repeats on an empty page
    }
    asked: list[str | None] = []

    def fetch(after: str | None) -> object:
        asked.append(after)
        return pages[after]

    assert follow_pages(fetch, "items") == [{"id": 1}, {"id": 2}]
    assert asked == [None, "c1", "c2"]


def test_follow_pages_refuses_a_loop_and_a_malformed_page() -> None:
    def looping(_after: str | None) -> object:
        return {"items": [{"id": 1}], "pagination_meta": {"after": "same"}}

    with pytest.raises(ValueError, match="repeated cursor 'same'"):
        follow_pages(looping, "items")
    with pytest.raises(TypeError, match="'items' list"):
        follow_pages(lambda _after: {"error": "nope"}, "items")


def test_refresh_reads_again_with_the_same_reader() -> None:
    answers = iter([("v1",), ("v2",)])
    cache: LookupCache[str, tuple[str, ...]] = LookupCache(lambda _key: next(answers))
    assert cache.get("types") == ("v1",)
    assert cache.refresh("types") == ("v2",)
    assert (cache.get("types"), cache.reads) == (("v2",), 2)
