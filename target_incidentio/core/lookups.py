"""Lists read from incident.io at most once per run, when first needed.

Generic: the caller names each list by a key (`("severities",)`, `("options", field_id)`)
and gives the one function that reads a list for a key, through delivery, so that every page
is paced against the key's rate limit and retried like any call. The first caller of a key
reads it; callers of the same key on other threads wait for that read instead of making
their own; different keys are read concurrently. A read that fails is kept too: every later
caller of that key gets the same error, and the list is not read again in this run.

Building a cache reads nothing; nothing is read until a caller asks.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

K = t.TypeVar("K", bound=Hashable)
V = t.TypeVar("V")


@dataclass
class _Slot(t.Generic[V]):
    """One key's list (or the error reading it raised), and the lock its readers share."""

    lock: threading.Lock
    value: V | None = None
    error: BaseException | None = None
    read: bool = False


class LookupCache(t.Generic[K, V]):
    """A keyed cache of lists, each read once per run with `fetch(key)`; thread-safe."""

    def __init__(self, fetch: Callable[[K], V]) -> None:
        self._fetch = fetch
        self._slots: dict[K, _Slot[V]] = {}
        self._lock = threading.Lock()
        self._reads = 0

    def _slot(self, key: K) -> _Slot[V]:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot(threading.Lock())
            return slot

    def _ensure(self, key: K, slot: _Slot[V]) -> V:
        """The key's list; the caller holds the slot's lock."""
        if not slot.read:
            slot.read = True
            with self._lock:
                self._reads += 1
            try:
                slot.value = self._fetch(key)
            except Exception as error:  # noqa: BLE001 - kept, and raised to every caller
                slot.error = error
        if slot.error is not None:
            raise slot.error
        return t.cast("V", slot.value)

    def get(self, key: K) -> V:
        """The list for `key`, read now if no one has read it yet in this run."""
        slot = self._slot(key)
        with slot.lock:
            return self._ensure(key, slot)

    def update(self, key: K, change: Callable[[V], V]) -> V:
        """Replace the key's list with `change(list)`, holding the key's lock while it runs.

        For what the run itself adds (an option it created): `change` may make the call that
        adds it, so that two threads missing the same item create it once. The list is read
        first if it was not; if `change` raises, the list stays as it was.
        """
        slot = self._slot(key)
        with slot.lock:
            slot.value = change(self._ensure(key, slot))
            return slot.value

    def refresh(self, key: K) -> V:
        """Read the key's list again, with the reader every other read uses.

        For a list the run learns is stale (a catalog type's schema version moved). If the read
        fails, the error is raised and the list stays as it was.
        """

        def read_again(_stale: V) -> V:
            with self._lock:
                self._reads += 1
            return self._fetch(key)

        return self.update(key, read_again)

    def cached(self, key: K) -> bool:
        """Whether `key` has been read (successfully or not) in this run."""
        with self._lock:
            slot = self._slots.get(key)
        return slot is not None and slot.read

    @property
    def reads(self) -> int:
        """How many lists were read so far (each key at most once)."""
        with self._lock:
            return self._reads


def follow_pages(
    fetch_page: Callable[[str | None], object], items_key: str
) -> list[Mapping[str, t.Any]]:
    """Every item of a listing that pages with `pagination_meta.after`, in order.

    `fetch_page(after)` returns one page's JSON body (`after` is None for the first page).
    The listing ends at a page without a cursor, or without items, so a server that repeats
    its cursor on an empty last page cannot loop the caller; a cursor seen twice otherwise is
    an error rather than an endless loop. A body without an `items_key` list is a TypeError.
    """
    items: list[Mapping[str, t.Any]] = []
    seen: set[str] = set()
    after: str | None = None
    while True:
        body = fetch_page(after)
        page = body.get(items_key) if isinstance(body, Mapping) else None
        if not isinstance(page, list):
            msg = (
                f"a listing page must be an object with a {items_key!r} list: "
                f"got {type(body).__name__}"
            )
            raise TypeError(msg)
        items.extend(item for item in page if isinstance(item, Mapping))
        meta = body.get("pagination_meta") if isinstance(body, Mapping) else None
        cursor = meta.get("after") if isinstance(meta, Mapping) else None
        if not page or not isinstance(cursor, str) or not cursor:
            return items
        if cursor in seen:
            msg = f"the {items_key} listing repeated cursor {cursor!r}"
            raise ValueError(msg)
        seen.add(cursor)
        after = cursor
