"""Whether a snapshot may remove what it no longer carries: the guards every sync shares.

Catalog sync deletes entries, incident sync closes incidents, override sync deletes
overrides; each withholds every removal when the snapshot cannot be trusted to be whole, and
refuses (fails the run) when it would remove more than its `*_max_*_fraction` allows.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Sequence

T = t.TypeVar("T")


@dataclass(frozen=True)
class Words:
    """How a feature names its objects and its removal in messages and the dry-run plan.

    Catalog sync: `Words("entry", "entries", "catalog type 01T", "external id", "delete",
    "deleted", "deletion", "update", "sync", "catalog_max_delete_fraction")` gives today's texts.
    """

    item: str  # one object: "entry", "incident"
    items: str  # several: "entries", "incidents"
    # The objects the guard's fraction is of, after "the N ...": "entries of catalog type 01T".
    pool: str
    key: str  # what keys a row: "external id", "key"
    remove: str  # "delete", "close"
    removed: str  # "deleted", "closed"
    removal: str  # "deletion", "closing"
    change: str  # "update", "edit"
    actor: str  # who removes, in messages: "sync", "close_missing_incidents"
    fraction_setting: str  # "catalog_max_delete_fraction"

    @property
    def keys(self) -> str:
        """The key in the plural: "external ids"."""
        return f"{self.key}s"


@dataclass(frozen=True)
class Verdict(t.Generic[T]):
    """The removals the guards allow; `refusal` says why nothing is removed."""

    removes: tuple[T, ...]
    refusal: str | None = None
    # The refusal must fail the stream (too many removals), not merely be logged.
    error: bool = False


def check_fraction(setting: str, fraction: float) -> float:
    """A guard's fraction, refused outside 0 to 1 (the settings allow no other)."""
    if not 0 <= fraction <= 1:
        msg = f"{setting} must be between 0 and 1, got {fraction}"
        raise ValueError(msg)
    return fraction


def guarded(  # noqa: PLR0913 - the candidates and each thing the guards weigh them against
    candidates: Sequence[T],
    words: Words,
    *,
    pool: int,
    carried: int,
    delivered_any: bool,
    rejected_records: int,
    max_fraction: float,
) -> Verdict[T]:
    """The removals of `candidates` the guards allow.

    The guards, in order:

    - any record rejected before its key was known: nothing is removed (warn), since any
      candidate could be its object;
    - nothing delivered (created, changed, confirmed unchanged): nothing is removed (warn),
      so an empty or failed stream cannot empty the pool;
    - more than `max_fraction` of `pool` (the objects a removal could reach, as listed):
      nothing is removed, and the verdict is an error naming the setting and the counts.
    """
    if not candidates:
        return Verdict(())
    withheld = f"the {len(candidates)} {words.pool} the stream did not carry"
    if rejected_records:
        return Verdict(
            (),
            f"{rejected_records} record(s) of the stream were rejected before their "
            f"{words.key} was known, and any {words.item} could be theirs; {withheld} were "
            f"kept. Fix the rejected records to let {words.actor} {words.remove}.",
        )
    if not delivered_any:
        return Verdict((), f"the stream delivered no records; {withheld} were kept.")
    if len(candidates) > max_fraction * pool:
        share = len(candidates) / pool
        setting = words.fraction_setting
        return Verdict(
            (),
            f"{words.actor} would {words.remove} {len(candidates)} of the {pool} {words.pool} "
            f"({share:.0%}; the stream carried {carried} {words.keys}), more than "
            f"`{setting}` ({max_fraction:g}) allows; nothing was {words.removed}. Fix: check "
            f"the stream sent every row, or raise `{setting}` for this stream.",
            error=True,
        )
    return Verdict(tuple(candidates))
