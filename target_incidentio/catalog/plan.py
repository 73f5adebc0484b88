"""Catalog sync: what a listing holds that the stream did not carry, and what may be deleted.

`merge` sends only what differs (`compare.py`): new external ids are created, changed
entries go through `bulk_update` (`bulk.py`), unchanged ones cost no call. `sync` also
deletes, once the stream has ended and its calls are confirmed, the entries whose external id
the stream did not carry, behind the guards of `deletions`. Everything here is pure: the
strategy (`catalog/sync.py`) does the HTTP.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from target_incidentio.catalog.bulk import BULK_MAX_ENTRIES, BulkUpdate, bulk_updates
from target_incidentio.catalog.compare import entry_id_of
from target_incidentio.catalog.listing import ENTRIES_PATH
from target_incidentio.core.urls import segment
from target_incidentio.reconcile.text import SHOWN, kind_line

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from target_incidentio.catalog.compare import Create, Unchanged, Update
    from target_incidentio.catalog.listing import JSONObject

Mode = t.Literal["merge", "sync"]
DELETE_FRACTION_SETTING = "catalog_max_delete_fraction"
# Ids named in one log line or dry-run line before "… and N more" (the engine's count).
SHOWN_IDS = SHOWN
_ids = kind_line


@dataclass(frozen=True)
class EntryRef:
    """A listed entry the stream did not carry: one to delete, or one left alone."""

    entry_id: str
    external_id: str | None
    name: str

    @property
    def delete_path(self) -> str:
        """Path of this entry's `DELETE /v3/catalog_entries/{id}`."""
        return f"{ENTRIES_PATH}/{segment(self.entry_id)}"


@dataclass(frozen=True)
class DeleteVerdict:
    """The deletions the guards allow; `refusal` says why nothing is deleted."""

    deletes: tuple[EntryRef, ...]
    refusal: str | None = None
    # The refusal must fail the stream (too many deletions), not merely be logged.
    error: bool = False


@dataclass(frozen=True)
class CatalogPlan:
    """The calls that bring one catalog type in line with a stream's rows."""

    catalog_type_id: str
    mode: Mode
    creates: tuple[Create, ...]
    updates: tuple[Update, ...]
    unchanged: tuple[Unchanged, ...]
    # Sync's candidates: entries with an external id the stream did not carry (merge: none).
    # They are deleted only through `deletions`, after the stream's calls are confirmed.
    deletes: tuple[EntryRef, ...]
    # Listed entries neither in the stream nor deleted: those without an external id, and
    # under merge every entry the stream did not carry.
    kept: tuple[EntryRef, ...]
    # External ids given by more than one row, in first-seen order; the last row wins.
    duplicates: tuple[str, ...]
    # Live entries of the type when listed, the base of the delete fraction.
    entry_count: int
    max_delete_fraction: float
    stream_external_ids: frozenset[str] = field(repr=False)

    @property
    def verdict(self) -> DeleteVerdict:
        """The deletions the guards would allow if every planned row is delivered (dry run)."""
        return deletions(self, self.stream_external_ids)

    def bulk_updates(self, max_entries: int = BULK_MAX_ENTRIES) -> tuple[BulkUpdate, ...]:
        """The plan's updates as bulk calls of at most `max_entries`."""
        return bulk_updates(self.catalog_type_id, self.updates, max_entries)

    def summary(self, limit: int = SHOWN_IDS) -> str:
        """The plan as dry_run prints it: counts, then up to `limit` ids of each kind."""
        verdict = self.verdict
        lines = [
            (
                f"catalog type {self.catalog_type_id} ({self.mode}): {len(self.creates)} to "
                f"create, {len(self.updates)} to update in {len(self.bulk_updates())} bulk "
                f"call(s), {len(self.unchanged)} unchanged, {len(verdict.deletes)} to delete, "
                f"{len(self.kept)} left alone; {self.entry_count} entries listed"
            ),
            _ids("create", [c.external_id for c in self.creates], limit),
            _ids(
                "update", [f"{u.external_id} ({', '.join(u.changed)})" for u in self.updates], limit
            ),
            _ids(
                "delete", [f"{d.external_id} (entry {d.entry_id})" for d in verdict.deletes], limit
            ),
            _ids("unchanged", [u.external_id for u in self.unchanged], limit),
            _ids("left alone", [_described(e) for e in self.kept], limit),
        ]
        if self.duplicates:
            lines.append(
                _ids("duplicate external ids, last row wins", list(self.duplicates), limit)
            )
        if verdict.refusal:
            lines.append(f"no deletion: {verdict.refusal}")
        return "\n".join(line for line in lines if line)


def _described(entry: EntryRef) -> str:
    """A kept entry by external id, or by id and name when made by hand."""
    return entry.external_id or f"entry {entry.entry_id} {entry.name!r} (no external id)"


def snapshot_plan(
    catalog_type_id: str,
    entries: Iterable[JSONObject],
    carried_external_ids: Iterable[str],
    *,
    mode: Mode,
    max_delete_fraction: float,
) -> CatalogPlan:
    """What a listing holds that a stream did not carry: sync's candidates, the rest kept.

    For a stream whose rows were decided one by one as they came (the sync strategy): the
    plan has no creates, updates or unchanged rows, so `deletions` must be given every
    external id delivered or found unchanged. Archived entries are ignored.
    """
    if not 0 <= max_delete_fraction <= 1:
        msg = f"{DELETE_FRACTION_SETTING} must be between 0 and 1, got {max_delete_fraction}"
        raise ValueError(msg)
    carried = frozenset(carried_external_ids)
    live = [entry for entry in entries if not entry.get("archived_at")]
    absent = [
        EntryRef(entry_id_of(e), e.get("external_id") or None, str(e.get("name") or ""))
        for e in live
        if not e.get("external_id") or e["external_id"] not in carried
    ]
    deletes = tuple(e for e in absent if e.external_id) if mode == "sync" else ()
    deleted = {e.entry_id for e in deletes}
    return CatalogPlan(
        catalog_type_id=catalog_type_id,
        mode=mode,
        creates=(),
        updates=(),
        unchanged=(),
        deletes=deletes,
        kept=tuple(e for e in absent if e.entry_id not in deleted),
        duplicates=(),
        entry_count=len(live),
        max_delete_fraction=max_delete_fraction,
        stream_external_ids=carried,
    )


def deletions(
    plan: CatalogPlan, delivered_external_ids: Iterable[str], *, rejected_records: int = 0
) -> DeleteVerdict:
    """The entries `sync` may delete now that the stream has ended and its calls are done.

    `delivered_external_ids`: external ids whose create or update incident.io confirmed;
    unchanged rows count as delivered by themselves. A row whose create or update failed
    is still part of the stream: its entry is never a candidate and it deletes nothing
    else, it only does not count as delivered. `rejected_records`: records of the stream
    that failed before becoming a row (bad fields); their external ids are unknown, so
    any candidate might be theirs. The guards, in order:
    - merge never deletes; entries without an external id are never candidates;
    - any rejected record: nothing is deleted (warn);
    - nothing delivered: nothing is deleted (warn), so an empty or failed stream cannot
      empty the type;
    - more than `catalog_max_delete_fraction` of the type's listed entries: nothing is
      deleted and the verdict is an error naming the setting and the counts.
    """
    delivered = frozenset(delivered_external_ids) | {u.external_id for u in plan.unchanged}
    seen = plan.stream_external_ids | delivered
    candidates = tuple(d for d in plan.deletes if d.external_id not in seen)
    if not candidates:
        return DeleteVerdict(())
    withheld = (
        f"the {len(candidates)} entries of catalog type {plan.catalog_type_id} "
        "the stream did not carry"
    )
    if rejected_records:
        return DeleteVerdict(
            (),
            f"{rejected_records} record(s) of the stream were rejected before their external id "
            f"was known, and any entry could be theirs; {withheld} were kept. Fix the rejected "
            "records to let sync delete.",
        )
    if not delivered:
        return DeleteVerdict((), f"the stream delivered no records; {withheld} were kept.")
    allowed = plan.max_delete_fraction * plan.entry_count
    if len(candidates) > allowed:
        share = len(candidates) / plan.entry_count
        return DeleteVerdict(
            (),
            f"sync would delete {len(candidates)} of the {plan.entry_count} entries of catalog "
            f"type {plan.catalog_type_id} ({share:.0%}; the stream carried "
            f"{len(plan.stream_external_ids)} external ids), more than "
            f"`{DELETE_FRACTION_SETTING}` ({plan.max_delete_fraction:g}) allows; nothing was "
            f"deleted. Fix: check the stream sent every row, or raise `{DELETE_FRACTION_SETTING}` "
            "for this stream.",
            error=True,
        )
    return DeleteVerdict(candidates)
