"""Catalog sync: `catalog_entry` streams under `catalog_mode: merge` or `sync`.

On the first row of a catalog type the strategy lists the type's entries. Each row is then
compared with its entry (`catalog/compare.py`): a new external id is
created with the call as built, a changed entry waits for a `bulk_update` (up to 250 per
call), an unchanged one costs no call. Under `sync`, once the stream (or a version, at
ACTIVATE_VERSION) has ended and every call is confirmed, the entries it did not carry are
deleted, as far as the guards of `deletions` allow.

Bulk updates are sent from the stream's own thread with `Outlet.send_now`, one at a time,
and reported once judged. `bulk_update` is atomic: a refused call must be split, and only
the outcome of the halves says which records failed, so the outcome has to reach the
strategy before the ledger hears of the records. Sending them one at a time costs nothing
measurable: one call per 250 changed entries, on an endpoint incident.io rate-limits hard
(catalog-importer sends its batches one after another for that reason). It keeps the
bisection (`bisection.py`) a plain recursion over `BulkUpdate.split`, and no call re-enters
delivery from one of its own threads (which could wait forever on a full queue).
"""

from __future__ import annotations

import logging
import threading
import typing as t
from dataclasses import dataclass, field, replace

from target_incidentio.catalog.bisection import send_bisected
from target_incidentio.catalog.bulk import (
    BULK_MAX_ENTRIES,
    BULK_UPDATE_PATH,
    BulkUpdate,
    bulk_updates,
)
from target_incidentio.catalog.compare import (
    Create,
    Row,
    Unchanged,
    Update,
    compare,
    managed_attributes,
    normalise,
)
from target_incidentio.catalog.listing import Listing, collect_listing
from target_incidentio.catalog.plan import CatalogPlan, deletions, snapshot_plan
from target_incidentio.catalog.types import PLANNED
from target_incidentio.core.errors import DeliveryFailedError, RecordError
from target_incidentio.reconcile.text import shown
from target_incidentio.strategies import Strategy

if t.TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from target_incidentio.catalog.listing import JSONObject
    from target_incidentio.catalog.plan import EntryRef, Mode
    from target_incidentio.delivery.engine import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")

# A listing's scope, for the hint when a key cannot list.
LIST_SCOPE = "catalog_entries.view"


class _ListingFailedError(RuntimeError):
    """A page of the listing did not come back."""


@dataclass
class _Snapshot:
    """One catalog type of the stream, from its listing to the end of the snapshot."""

    catalog_type_id: str
    # Every live entry as listed: where sync's deletion candidates come from.
    listed: tuple[JSONObject, ...] = ()
    # Live entries by external id, as incident.io holds them once our calls are confirmed.
    entries: dict[str, JSONObject] = field(default_factory=dict)
    attribute_types: Mapping[str, str] = field(default_factory=dict)
    # Why the type could not be listed; its rows fail with it.
    failure: str | None = None
    # External id -> payload of a create sent in this snapshot.
    created: dict[str, JSONObject] = field(default_factory=dict)
    # Changed entries waiting for a bulk call, by external id, in arrival order.
    held: dict[str, Update] = field(default_factory=dict)
    # External ids the stream carried, and those given by more than one row (in order).
    carried: set[str] = field(default_factory=set)
    repeated: dict[str, None] = field(default_factory=dict)
    # External ids confirmed created, updated or already equal (guarded by the lock).
    delivered: set[str] = field(default_factory=set)
    # Dry run only: every decision, for the plan it prints.
    decisions: dict[str, Create | Update | Unchanged] = field(default_factory=dict)


class CatalogMerge(Strategy):
    """`catalog_mode: merge`: list, then create, bulk-update or skip; never delete."""

    mode: t.ClassVar[Mode] = "merge"

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._warned_unschemed = False
        self._map_fields()
        self._types: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()
        self._operation = "catalog_entry"
        self._rejected = 0  # records that failed before their external id was known
        self._ended_any = False  # a snapshot with rows has ended (at a version boundary)

    def prepared(self, ctx: BuildContext) -> None:
        """Attributes named by name are ids now: the mapping is read again from them."""
        super().prepared(ctx)
        self._map_fields()

    def _map_fields(self) -> None:
        """Which attributes the stream manages, from `catalog_attributes` and the SCHEMA."""
        settings = self.ctx.settings
        # A field the stream's SCHEMA lacks (deselected, renamed upstream) says nothing about
        # its attribute: left as it is, never cleared. Only a field in the schema and null is.
        self.unschemed = unschemed_fields(settings.catalog_attributes, self.ctx.schema_fields)
        self.mapped = tuple(
            a for f, a in settings.catalog_attributes.items() if f not in self.unschemed
        )
        # Attribute id -> the record field that fills it, to name fields in errors.
        self.fields = {a: f for f, a in settings.catalog_attributes.items()}

    # -- rows in -------------------------------------------------------------------------------

    def send(self, request: ApiRequest) -> None:
        """One built `POST /v3/catalog_entries`: create, hold for a bulk update, or skip."""
        self._operation = request.operation or self._operation
        if self.unschemed and not self._warned_unschemed:
            self._warned_unschemed = True
            LOG.warning(
                "Stream '%s': `catalog_attributes` maps %s, which the stream's SCHEMA does not "
                "have (deselected, or renamed upstream); those attributes are left as they are "
                "in incident.io, never cleared. Select the field in the tap, or remove it from "
                "`catalog_attributes`.",
                self.ctx.stream,
                ", ".join(f"'{f}'" for f in self.unschemed),
            )
        row = Row.from_request(request)
        type_id = str(row.payload["catalog_type_id"])
        snapshot = self._types.get(type_id) or self._list(type_id)
        if snapshot.failure is not None:
            self.outlet.fail(request, self._unlisted(row, snapshot))
            return
        external_id = row.external_id
        if external_id in snapshot.carried:
            snapshot.repeated[external_id] = None
        snapshot.carried.add(external_id)
        held = snapshot.held.pop(external_id, None)
        rows = (*held.rows, row) if held is not None else (row,)
        entry = snapshot.entries.get(external_id)
        if entry is None:
            self._send_new(snapshot, rows, request)
            return
        decided = compare(
            entry, rows, mapped_attribute_ids=self.mapped, attribute_types=snapshot.attribute_types
        )
        if isinstance(decided, Update):
            self._hold(snapshot, decided)
        else:
            self._unchanged(snapshot, decided, request)

    def rejected(self, records: int) -> None:
        """Records whose external id is unknown: while any are, sync deletes nothing."""
        self._rejected += records

    def _list(self, type_id: str) -> _Snapshot:
        """Every entry of the type, page by page; a failure is kept for the type's rows."""
        snapshot = _Snapshot(type_id)
        try:
            # A dry run's type still to be created has no entries (and no id to list).
            planned = type_id.startswith(PLANNED)
            listing = Listing((), {}, 0) if planned else collect_listing(type_id, self._fetch)
        except _ListingFailedError as error:
            snapshot.failure = str(error)
        except (TypeError, ValueError) as error:
            snapshot.failure = f"its listing could not be read: {error}"
        else:
            snapshot.listed = tuple(e for e in listing.entries if not e.get("archived_at"))
            snapshot.entries = {
                str(e["external_id"]): e for e in snapshot.listed if e.get("external_id")
            }
            snapshot.attribute_types = listing.attribute_types
            LOG.info(
                "Stream '%s': catalog type %s lists %d entries (%d page(s)); catalog_mode %s.",
                self.ctx.stream,
                type_id,
                len(snapshot.listed),
                listing.pages,
                self.mode,
            )
        self._types[type_id] = snapshot
        return snapshot

    def _fetch(self, path: str) -> object:
        """One listing page through the outlet (sent even in a dry run: it changes nothing)."""
        result, body = self.outlet.call(self._request("GET", path, order_key="catalog-list"))
        if not result.ok:
            raise _ListingFailedError(result.summary)
        return body

    def _unlisted(self, row: Row, snapshot: _Snapshot) -> RecordError:
        """The error of a row whose type could not be listed."""
        return RecordError(
            stream=self.ctx.stream,
            record_key=row.record_key,
            field="catalog_type_id",
            problem=(
                f"catalog type {snapshot.catalog_type_id} could not be listed, so "
                f"`catalog_mode: {self.mode}` cannot compare this row with its entry: "
                f"{snapshot.failure}"
            ),
            hint=(
                f"check the catalog type id and that the API key has the `{LIST_SCOPE}` "
                "scope, or set `catalog_mode: upsert` for this stream."
            ),
        )

    def _send_new(self, snapshot: _Snapshot, rows: tuple[Row, ...], request: ApiRequest) -> None:
        """An external id the listing did not hold: create it (again, if it changed since)."""
        row = rows[-1]
        external_id = row.external_id
        previous = snapshot.created.get(external_id)
        if previous is not None and not self._differs(snapshot, previous, row.payload):
            self._unchanged(snapshot, Unchanged("", external_id, rows), request)
            return
        snapshot.created[external_id] = row.payload
        if self.outlet.dry_run:
            earlier = snapshot.decisions.get(external_id)
            before = earlier.rows if isinstance(earlier, Create) else ()
            snapshot.decisions[external_id] = Create((*before, row))

        def confirmed(result: DeliveryResult) -> None:
            if result.ok:
                with self._lock:
                    snapshot.delivered.add(external_id)

        self.outlet.submit(replace(request, effect="create"), then=confirmed)

    def _differs(self, snapshot: _Snapshot, sent: JSONObject, payload: JSONObject) -> bool:
        """Whether `payload` would change the entry a create of `sent` made."""
        managed = managed_attributes(payload, self.mapped) | managed_attributes(sent, self.mapped)
        types = snapshot.attribute_types
        return bool(normalise(payload, managed, types).differences(normalise(sent, managed, types)))

    def _unchanged(self, snapshot: _Snapshot, same: Unchanged, request: ApiRequest) -> None:
        """No call: the entry already matches (every row behind it is settled)."""
        with self._lock:
            snapshot.delivered.add(same.external_id)
        if self.outlet.dry_run:
            snapshot.decisions[same.external_id] = same
        reason = f"unchanged in catalog type {snapshot.catalog_type_id}"
        self.outlet.skip(_for_rows(request, same), reason)

    def _hold(self, snapshot: _Snapshot, update: Update) -> None:
        """A changed entry waits for a bulk call; a full batch goes now."""
        snapshot.held[update.external_id] = update
        if self.outlet.dry_run:
            snapshot.decisions[update.external_id] = update
        attributes = update.update_attributes
        group = [u for u in snapshot.held.values() if u.update_attributes == attributes]
        if len(group) >= BULK_MAX_ENTRIES:
            for queued in group:
                del snapshot.held[queued.external_id]
            self._send_bulk(snapshot, BulkUpdate(snapshot.catalog_type_id, tuple(group)))

    # -- bulk updates --------------------------------------------------------------------------

    def flush(self) -> None:
        """Send every held update, in batches of up to 250."""
        for snapshot in self._types.values():
            if snapshot.held:
                batches = bulk_updates(snapshot.catalog_type_id, snapshot.held.values())
                snapshot.held.clear()
                for batch in batches:
                    self._send_bulk(snapshot, batch)

    def _send_bulk(self, snapshot: _Snapshot, batch: BulkUpdate) -> None:
        """One bulk call; refused as a whole, it is split until the refused entries stand alone."""

        def request(part: BulkUpdate) -> ApiRequest:
            return self._request(
                "POST",
                BULK_UPDATE_PATH,
                order_key=f"catalog-bulk:{snapshot.catalog_type_id}",
                body=part.body,
                records=part.records,
                record_keys=part.record_keys,
                sequences=part.sequences,
                effect="update",
            )

        def delivered(update: Update) -> None:
            snapshot.entries[update.external_id] = _updated(
                snapshot.entries[update.external_id], update
            )
            with self._lock:
                snapshot.delivered.add(update.external_id)

        with self.outlet.uninterrupted():
            send_bisected(self.outlet, batch, request, delivered, self._record_field)

    def _record_field(self, body_field: str) -> str:
        """`attribute_values.01ATTR` as the record field `catalog_attributes` maps to it."""
        attribute_id = body_field.removeprefix("attribute_values.")
        if attribute_id != body_field and attribute_id in self.fields:
            return f"{self.fields[attribute_id]} (attribute {attribute_id})"
        return body_field

    # -- the end of a snapshot -----------------------------------------------------------------

    def end(self) -> None:
        """End of input, every call confirmed: delete what the stream no longer has (sync)."""
        self._end_snapshot()

    def _end_snapshot(self) -> None:
        """Every type's deletions (sync), the dry run's plan; raise if a guard refused."""
        snapshots, self._types = self._types, {}
        rejected, self._rejected = self._rejected, 0
        errors: list[str] = []
        mode = self.mode
        for snapshot in snapshots.values():
            if snapshot.failure is not None:
                continue
            self._ended_any = True
            if mode == "sync" and not self.outlet.snapshot_whole(
                self.ctx.stream, "nothing is deleted (catalog_mode sync)"
            ):
                mode = "merge"  # the stream's rows are merged; nothing it lacks is deleted
            if snapshot.repeated:
                LOG.warning(
                    "Stream '%s': external ids given by more than one row in catalog type %s; "
                    "the last row of each won: %s",
                    self.ctx.stream,
                    snapshot.catalog_type_id,
                    shown(snapshot.repeated),
                )
            plan = snapshot_plan(
                snapshot.catalog_type_id,
                snapshot.listed,
                snapshot.carried,
                mode=mode,
                max_delete_fraction=self.ctx.settings.catalog_max_delete_fraction,
            )
            with self._lock:
                delivered = frozenset(snapshot.delivered)
            verdict = deletions(plan, delivered, rejected_records=rejected)
            if self.outlet.dry_run:
                LOG.info("Stream '%s', dry run: %s", self.ctx.stream, _planned(plan, snapshot))
            if verdict.refusal and verdict.error:
                errors.append(f"Stream '{self.ctx.stream}': {verdict.refusal}")
            elif verdict.refusal:
                LOG.warning("Stream '%s': %s", self.ctx.stream, verdict.refusal)
            for entry in verdict.deletes:
                self.outlet.submit(self._delete(snapshot, entry))
        if errors:
            raise DeliveryFailedError(" ".join(errors))

    def _delete(self, snapshot: _Snapshot, entry: EntryRef) -> ApiRequest:
        """`DELETE /v3/catalog_entries/{id}`; its one record is the entry, keyed by external id."""
        external_id = entry.external_id or ""
        return self._request(
            "DELETE",
            entry.delete_path,
            order_key=f"catalog:{snapshot.catalog_type_id}:{external_id}",
            records=({"entry_id": entry.entry_id, "external_id": external_id, "name": entry.name},),
            record_keys=(external_id,),
            effect="delete",
        )

    # -- requests ------------------------------------------------------------------------------

    def _request(  # noqa: PLR0913 - the parts of a call a strategy makes itself
        self,
        method: str,
        path: str,
        *,
        order_key: str,
        body: t.Any = None,  # noqa: ANN401 - any JSON body
        records: tuple[Mapping[str, t.Any], ...] = (),
        record_keys: tuple[str, ...] = (),
        sequences: tuple[int, ...] = (),
        effect: t.Literal["send", "update", "delete"] = "send",
    ) -> ApiRequest:
        """A call with the API key, on the key's rate scopes, with the stream's headers."""
        return self.ctx.api_key_call(
            method,
            path,
            order_key=order_key,
            operation=self._operation,
            body=body,
            records=records,
            record_keys=record_keys,
            sequences=sequences,
            effect=effect,
        )


class CatalogSync(CatalogMerge):
    """`catalog_mode: sync`: merge, then delete what the stream did not carry."""

    mode: t.ClassVar[Mode] = "sync"
    uses_versions = True

    def boundary(self) -> None:
        """ACTIVATE_VERSION: the rows so far are a whole snapshot; the next ones start anew."""
        self.flush()
        self.outlet.wait()
        self._end_snapshot()
        self.outlet.wait()  # its deletions done before the next snapshot lists the type

    def end(self) -> None:
        """End of input: as merge, and say so when an empty stream left the type alone."""
        if not self._types and not self._ended_any:
            type_id = self.ctx.settings.catalog_type_id
            LOG.warning(
                "Stream '%s' (catalog_mode sync): the stream carried no records, so nothing "
                "was deleted%s; a sync never empties a catalog type.",
                self.ctx.stream,
                f" from catalog type {type_id}" if type_id else "",
            )
        super().end()


def _for_rows(request: ApiRequest, action: Create | Update | Unchanged) -> ApiRequest:
    """`request` standing for every row behind `action` (rows of a repeated external id)."""
    return replace(
        request,
        records=tuple(dict(r) for r in action.records),
        record_keys=action.record_keys,
        sequences=action.sequences,
    )


def _updated(entry: JSONObject, update: Update) -> JSONObject:
    """The entry once `update` is applied: its managed attributes replaced, the rest kept."""
    body = update.body
    values = dict(entry.get("attribute_values") or {})
    values.update(body.get("attribute_values") or {})
    return {
        **entry,
        "name": body["name"],
        "aliases": list(body.get("aliases") or ()),
        "rank": body.get("rank", 0),
        "attribute_values": values,
    }


def _planned(plan: CatalogPlan, snapshot: _Snapshot) -> str:
    """The dry run's plan: the snapshot's deletions with the decisions taken row by row."""
    decisions = list(snapshot.decisions.values())
    return replace(
        plan,
        creates=tuple(d for d in decisions if isinstance(d, Create)),
        updates=tuple(d for d in decisions if isinstance(d, Update)),
        unchanged=tuple(d for d in decisions if isinstance(d, Unchanged)),
        duplicates=tuple(snapshot.repeated),
    ).summary()


def unschemed_fields(
    attributes: Mapping[str, str], schema_fields: Collection[str] | None
) -> tuple[str, ...]:
    """The mapped record fields (dotted paths by their first part) the stream's SCHEMA lacks.

    None when the schema declares no properties: then every field counts.
    """
    if schema_fields is None:
        return ()
    return tuple(f for f in attributes if f.split(".", 1)[0] not in schema_fields)
