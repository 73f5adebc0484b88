"""What every part of the store shares: ids, timestamps, the two refusals and paging.

Each resource keeps its own part (``incidents``, ``alerts``, ``catalog``, ``configuration``,
matching ``handlers/``); ``Store`` in the package puts them together. A part that reads the
account's configuration gets it as an ``Account``, the store itself.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable

    from incidentio_sandbox.seed import Seed

T = TypeVar("T", bound="Identified")


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_TIME_CHARS = 10
_ULID_RANDOM_CHARS = 16


_last_id = 0
_id_lock = threading.Lock()


def new_id() -> str:
    """A ULID-shaped id like incident.io's: 48-bit millisecond time + 80 random bits.

    Monotonic within the process (as ULID's monotonic mode), so sorting by id is sorting
    by creation: list pages and their ``after`` cursors rely on that order.
    """
    global _last_id  # noqa: PLW0603 - one counter shared by every store
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        value = max(value, _last_id + 1)
        _last_id = value
    chars = []
    for _ in range(_ULID_TIME_CHARS + _ULID_RANDOM_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def now_rfc3339() -> str:
    """Current UTC time the way incident.io prints timestamps."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class NotFoundError(LookupError):
    """A referenced resource does not exist; ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidError(ValueError):
    """The request is well formed but the account refuses it (a 422); one item per problem."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(message for _code, message, _field in errors))
        self.errors = errors  # (code, message, field)


class Identified(Protocol):
    """Anything the seed configures: it has an id."""

    @property
    def id(self) -> str:
        """Its id."""
        ...


def seeded(items: Iterable[T], item_id: str, what: str, field: str = "id") -> T:
    """The configured item with this id, or ``NotFoundError`` naming ``what`` and ``field``."""
    found = next((item for item in items if item.id == item_id), None)
    if found is None:
        msg = f"No {what} found with id {item_id!r}"
        raise NotFoundError(msg, field)
    return found


class Account(Protocol):
    """What the store's parts read and change of the account: its configuration, the seed."""

    seed: Seed


def page(
    items: list[dict[str, Any]], after: str | None, page_size: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Items after the id ``after`` (ids sort by creation), and the cursor for the next page.

    Comparing ids rather than looking ``after`` up keeps a cursor valid when the record it
    names is deleted between pages. No cursor comes back on the last page.
    """
    rest = [item for item in items if after is None or str(item["id"]) > after]
    chosen = rest[:page_size]
    next_after = str(chosen[-1]["id"]) if len(rest) > page_size else None
    return chosen, next_after
