"""Catalog sync: `catalog_entry` streams under `catalog_mode: merge` or `sync`.

On the first row of a catalog type the strategy lists the type's entries and hands them to
the reconcile engine (`catalog/feature.py`'s hooks). Each row is then decided as it comes: a
new external id is created with the call as built, a changed entry waits for a
`bulk_update` (up to 250 per call), an unchanged one costs no call. Under `sync`, once the
stream (or a version, at ACTIVATE_VERSION) has ended and every call is confirmed, the entries
it did not carry are deleted, as far as the engine's guards allow (the shared end of a
snapshot: `strategies/reconciling.py`).

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
import typing as t
from dataclasses import replace

from target_incidentio.catalog.bisection import send_bisected
from target_incidentio.catalog.bulk import (
    BULK_MAX_ENTRIES,
    BULK_UPDATE_PATH,
    BulkUpdate,
    bulk_updates,
)
from target_incidentio.catalog.compare import Row, entry_id_of
from target_incidentio.catalog.feature import as_update, delete_path, plan_text, reconciler
from target_incidentio.catalog.listing import Listing, collect_listing
from target_incidentio.catalog.types import PLANNED
from target_incidentio.core.errors import RecordError
from target_incidentio.reconcile.engine import Change, Create, Unchanged
from target_incidentio.reconcile.text import shown
from target_incidentio.strategies.reconciling import ReconcileStrategy

if t.TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from target_incidentio.catalog.compare import Update
    from target_incidentio.catalog.feature import CatalogPlan, CatalogReconciler, Mode
    from target_incidentio.catalog.listing import JSONObject
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")

# A listing's scope, for the hint when a key cannot list.
LIST_SCOPE = "catalog_entries.view"


class CatalogMerge(ReconcileStrategy["JSONObject", Row, "Update", Row]):
    """`catalog_mode: merge`: list, then create, bulk-update or skip; never delete."""

    mode: t.ClassVar[Mode] = "merge"
    withheld = "nothing is deleted (catalog_mode sync)"
    listing_name = "its listing"

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._warned_unschemed = False
        self._map_fields()
        # Per catalog type: changed entries waiting for a bulk call, by external id, in order.
        self._held: dict[str, dict[str, Update]] = {}
        self._operation = "catalog_entry"

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
        engine = self.scope(type_id)
        if engine is None:
            self.outlet.fail(request, self._unlisted(row, type_id))
            return
        external_id = row.external_id
        held = self._held.setdefault(type_id, {}).pop(external_id, None)
        rows = (*held.rows, row) if held is not None else (row,)
        decision = engine.decide(external_id, row, rows)
        if isinstance(decision, Create):
            self._create(engine, external_id, request)
        elif isinstance(decision, Change):
            self._hold(engine, type_id, as_update(decision))
        elif isinstance(decision, Unchanged):
            reason = f"unchanged in catalog type {type_id}"
            self.outlet.skip(_for_rows(request, decision.rows), reason)

    def list_scope(self, scope: str) -> CatalogReconciler:
        """Every live entry of the type, page by page, as the type's reconciler."""
        # A dry run's type still to be created has no entries (and no id to list).
        if scope.startswith(PLANNED):
            listing = Listing((), {}, 0)
        else:
            listing = collect_listing(
                scope,
                lambda path: self.fetch(self._request("GET", path, order_key="catalog-list")),
            )
        engine = reconciler(
            scope,
            listing.entries,
            mapped=self.mapped,
            attribute_types=listing.attribute_types,
            mode=self.mode,
            max_delete_fraction=self.ctx.settings.catalog_max_delete_fraction,
            record=self.outlet.dry_run,
        )
        LOG.info(
            "Stream '%s': catalog type %s lists %d entries (%d page(s)); catalog_mode %s.",
            self.ctx.stream,
            scope,
            len(engine.listed),
            listing.pages,
            self.mode,
        )
        return engine

    def _unlisted(self, row: Row, type_id: str) -> RecordError:
        """The error of a row whose type could not be listed."""
        return RecordError(
            stream=self.ctx.stream,
            record_key=row.record_key,
            field="catalog_type_id",
            problem=(
                f"catalog type {type_id} could not be listed, so "
                f"`catalog_mode: {self.mode}` cannot compare this row with its entry: "
                f"{self.failure(type_id)}"
            ),
            hint=(
                f"check the catalog type id and that the API key has the `{LIST_SCOPE}` "
                "scope, or set `catalog_mode: upsert` for this stream."
            ),
        )

    def _create(self, engine: CatalogReconciler, external_id: str, request: ApiRequest) -> None:
        """An external id the listing did not hold: create it (again, if it changed since)."""

        def confirmed(result: DeliveryResult) -> None:
            if result.ok:
                engine.confirmed(external_id)

        self.outlet.submit(replace(request, effect="create"), then=confirmed)

    def _hold(self, engine: CatalogReconciler, type_id: str, update: Update) -> None:
        """A changed entry waits for a bulk call; a full batch goes now."""
        held = self._held.setdefault(type_id, {})
        held[update.external_id] = update
        attributes = update.update_attributes
        group = [u for u in held.values() if u.update_attributes == attributes]
        if len(group) >= BULK_MAX_ENTRIES:
            for queued in group:
                del held[queued.external_id]
            self._send_bulk(engine, BulkUpdate(type_id, tuple(group)))

    # -- bulk updates --------------------------------------------------------------------------

    def flush(self) -> None:
        """Send every held update, in batches of up to 250."""
        for type_id, held in self._held.items():
            engine = self.listed(type_id)
            if held and engine is not None:
                batches = bulk_updates(type_id, held.values())
                held.clear()
                for batch in batches:
                    self._send_bulk(engine, batch)

    def _send_bulk(self, engine: CatalogReconciler, batch: BulkUpdate) -> None:
        """One bulk call; refused as a whole, it is split until the refused entries stand alone."""
        type_id = batch.catalog_type_id

        def request(part: BulkUpdate) -> ApiRequest:
            return self._request(
                "POST",
                BULK_UPDATE_PATH,
                order_key=f"catalog-bulk:{type_id}",
                body=part.body,
                records=part.records,
                record_keys=part.record_keys,
                sequences=part.sequences,
                effect="update",
            )

        def delivered(update: Update) -> None:
            entry = engine.current(update.external_id)
            if entry is not None:
                engine.applied(update.external_id, _updated(entry, update))
            engine.confirmed(update.external_id)

        with self.outlet.uninterrupted():
            send_bisected(self.outlet, batch, request, delivered, self._record_field)

    def _record_field(self, body_field: str) -> str:
        """`attribute_values.01ATTR` as the record field `catalog_attributes` maps to it."""
        attribute_id = body_field.removeprefix("attribute_values.")
        if attribute_id != body_field and attribute_id in self.fields:
            return f"{self.fields[attribute_id]} (attribute {attribute_id})"
        return body_field

    # -- the end of a snapshot -----------------------------------------------------------------

    def planned(self, scope: str, plan: CatalogPlan) -> None:
        """External ids given by more than one row: the last row of each won; say so."""
        if plan.repeated:
            LOG.warning(
                "Stream '%s': external ids given by more than one row in catalog type %s; "
                "the last row of each won: %s",
                self.ctx.stream,
                scope,
                shown(plan.repeated),
            )

    def plan_text(self, scope: str, plan: CatalogPlan, *, removes: bool) -> str:
        """The dry run's plan; a snapshot that may not delete plans as merge."""
        return plan_text(plan, scope, self.mode if removes else "merge")

    def removal(self, scope: str, item: JSONObject) -> ApiRequest:
        """`DELETE /v3/catalog_entries/{id}`; its one record is the entry, keyed by external id."""
        external_id = str(item.get("external_id") or "")
        entry_id = entry_id_of(item)
        name = str(item.get("name") or "")
        return self._request(
            "DELETE",
            delete_path(entry_id),
            order_key=f"catalog:{scope}:{external_id}",
            records=({"entry_id": entry_id, "external_id": external_id, "name": name},),
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

    def end(self) -> None:
        """End of input: as merge, and say so when an empty stream left the type alone."""
        if not self._scopes and not self._ended_any:
            type_id = self.ctx.settings.catalog_type_id
            LOG.warning(
                "Stream '%s' (catalog_mode sync): the stream carried no records, so nothing "
                "was deleted%s; a sync never empties a catalog type.",
                self.ctx.stream,
                f" from catalog type {type_id}" if type_id else "",
            )
        super().end()


def _for_rows(request: ApiRequest, rows: tuple[Row, ...]) -> ApiRequest:
    """`request` standing for every row behind a decision (rows of a repeated external id)."""
    return replace(
        request,
        records=tuple(dict(r.record) for r in rows),
        record_keys=tuple(r.record_key for r in rows),
        sequences=tuple(number for r in rows for number in r.sequences),
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


def unschemed_fields(
    attributes: Mapping[str, str], schema_fields: Collection[str] | None
) -> tuple[str, ...]:
    """The mapped record fields (dotted paths by their first part) the stream's SCHEMA lacks.

    None when the schema declares no properties: then every field counts.
    """
    if schema_fields is None:
        return ()
    return tuple(f for f in attributes if f.split(".", 1)[0] not in schema_fields)
