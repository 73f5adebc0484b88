"""Catalog sync on the reconcile engine: its hooks, its words, its deletions, its dry-run text.

`CatalogFeature` is the engine's `Feature` for one catalog type: entries are keyed by
external id, compared on what the row manages (`compare.normalise`), changed through one
`PartialEntryPayloadV3` of a bulk update (`compare.Update`), and, under `sync`, every entry
with an external id the snapshot did not carry is deleted, behind
`catalog_max_delete_fraction` of the type's live entries (with or without external id).
Everything here is pure: the strategy (`catalog/sync.py`) does the HTTP.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field, replace

from target_incidentio.catalog.bulk import bulk_updates
from target_incidentio.catalog.compare import (
    NO_TYPES,
    Update,
    entry_id_of,
    managed_attributes,
    normalise,
    update_body,
)
from target_incidentio.catalog.listing import ENTRIES_PATH
from target_incidentio.core.urls import segment
from target_incidentio.reconcile.engine import Change, Difference, Reconciler
from target_incidentio.reconcile.guard import Words
from target_incidentio.reconcile.text import SHOWN, summary

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_incidentio.catalog.compare import Row
    from target_incidentio.catalog.listing import JSONObject
    from target_incidentio.reconcile.engine import Plan

Mode = t.Literal["merge", "sync"]
DELETE_FRACTION_SETTING = "catalog_max_delete_fraction"

CatalogReconciler: t.TypeAlias = "Reconciler[JSONObject, Row, Update, Row]"
CatalogPlan: t.TypeAlias = "Plan[JSONObject, Row, Update, Row]"


def words(catalog_type_id: str) -> Words:
    """Deletion, in the words of catalog sync's messages (`Words`' fields, in order)."""
    return Words(
        "entry", "entries", f"entries of catalog type {catalog_type_id}", "external id",
        "delete", "deleted", "deletion", "update", "sync", DELETE_FRACTION_SETTING,
    )  # fmt: skip


@dataclass(frozen=True)
class CatalogFeature:
    """The engine's hooks for one catalog type of a `catalog_mode: merge`/`sync` stream."""

    catalog_type_id: str
    # The attribute ids `catalog_attributes` maps (the fields the SCHEMA has).
    mapped: tuple[str, ...] = ()
    # Attribute id -> type, from the listing: Number and Bool literals compare by meaning.
    attribute_types: Mapping[str, str] = field(default_factory=lambda: NO_TYPES)

    @property
    def words(self) -> Words:
        """Deletion, in catalog sync's words."""
        return words(self.catalog_type_id)

    def key_of(self, item: JSONObject) -> str | None:
        """The entry's external id; an entry made by hand has none and is never touched."""
        external_id = item.get("external_id")
        return str(external_id) if external_id else None

    def _managed(self, *rows: Row) -> frozenset[str]:
        return frozenset().union(*(managed_attributes(r.payload, self.mapped) for r in rows))

    def differences(self, current: JSONObject, desired: Row) -> tuple[Difference, ...]:
        """What differs in what the row manages, normalised as incident.io lists it."""
        managed = self._managed(desired)
        types = self.attribute_types
        changed = normalise(desired.payload, managed, types).differences(
            normalise(current, managed, types)
        )
        return tuple(Difference(name) for name in changed)

    def change(
        self, current: JSONObject, desired: Row, differences: tuple[Difference, ...]
    ) -> Update:
        """The bulk update's entry that leaves `current` as the row would create it."""
        managed = self._managed(desired)
        entry_id = entry_id_of(current)
        return Update(
            entry_id,
            desired.external_id,
            update_body(entry_id, desired.payload, managed),
            tuple(sorted(managed)),
            tuple(d.field for d in differences),
            (desired,),
        )

    def differs_from_sent(self, sent: Row, desired: Row) -> bool:
        """Whether a later row would change the entry a create of this snapshot made."""
        managed = self._managed(desired, sent)
        types = self.attribute_types
        return bool(
            normalise(desired.payload, managed, types).differences(
                normalise(sent.payload, managed, types)
            )
        )

    def removable(self, item: JSONObject) -> bool:
        """Every keyed entry the snapshot did not carry may be deleted."""
        del item
        return True

    def counted(self, item: JSONObject) -> bool:
        """The fraction is of every live entry, with or without external id."""
        del item
        return True


def reconciler(  # noqa: PLR0913 - the type, its listing, and how the stream syncs it
    catalog_type_id: str,
    entries: Iterable[JSONObject],
    *,
    mapped: Iterable[str] = (),
    attribute_types: Mapping[str, str] = NO_TYPES,
    mode: Mode,
    max_delete_fraction: float = 0.5,
    record: bool = True,
) -> CatalogReconciler:
    """One catalog type's reconciler over its live entries (archived ones are not the type's).

    An external id several entries hold resolves to the last listed, as incident.io's own
    upsert does; a listed entry without an id is refused (`ValueError`).
    """
    live = tuple(e for e in entries if not e.get("archived_at"))
    for entry in live:
        entry_id_of(entry)
    return Reconciler(
        CatalogFeature(catalog_type_id, tuple(mapped), attribute_types),
        live,
        removes=mode == "sync",
        max_fraction=max_delete_fraction,
        several="last",
        record=record,
    )


def as_update(change: Change[JSONObject, Row, Update, Row]) -> Update:
    """A decided change as the bulk update's entry, answering for every row behind it."""
    return replace(change.write, rows=change.rows)


def delete_path(entry_id: str) -> str:
    """Path of an entry's `DELETE /v3/catalog_entries/{id}`."""
    return f"{ENTRIES_PATH}/{segment(entry_id)}"


def _label(entry: JSONObject) -> str:
    """An entry to delete: `svc-1 (entry 01E…)`."""
    return f"{entry.get('external_id')} (entry {entry_id_of(entry)})"


def _described(entry: JSONObject) -> str:
    """A kept entry by external id, or by id and name when made by hand."""
    external_id = entry.get("external_id")
    if external_id:
        return str(external_id)
    return f"entry {entry_id_of(entry)} {str(entry.get('name') or '')!r} (no external id)"


def plan_text(plan: CatalogPlan, catalog_type_id: str, mode: Mode, limit: int = SHOWN) -> str:
    """The plan as dry_run prints it: counts, then up to `limit` ids of each kind."""
    updates = tuple(as_update(c) for c in plan.changes)
    headline = (
        f"catalog type {catalog_type_id} ({mode}): {len(plan.creates)} to create, "
        f"{len(updates)} to update in {len(bulk_updates(catalog_type_id, updates))} bulk "
        f"call(s), {len(plan.unchanged)} unchanged, {len(plan.verdict.removes)} to delete, "
        f"{len(plan.kept)} left alone; {plan.listed} entries listed"
    )
    return summary(plan, headline=headline, label=_label, kept_label=_described, limit=limit)
