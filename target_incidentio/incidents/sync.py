"""Incident sync (`incident_mode: sync`): one incident per source key, kept in step.

Before the stream's first row the strategy lists the incidents once (`listing.py`, through
the outlet: paced, retried, a response record per page) and hands them to the reconcile
engine, keyed by the key field. Each row is then decided as it comes: no incident holds its
key, so it is created carrying the key and an idempotency key of the stream and key alone;
one holds it, so one edit carries only the owned fields that differ, or, when nothing
differs, no call is made and the response record says so; several hold it, so the row
fails naming each. Calls of one key go one after another. Once the snapshot ended (end of
input or ACTIVATE_VERSION) and every call is confirmed, `close_missing_incidents` edits
the open keyed incidents it did not carry to the close status, behind the engine's guards.
Create mode's warning (`IncidentCreate`) lives here too: it reads the answers, no call more.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from dataclasses import replace

from target_incidentio.core.errors import RecordError
from target_incidentio.core.urls import endpoint_url
from target_incidentio.incidents.compare import after_edit, desired, keyed_create, stale_fields
from target_incidentio.incidents.feature import (
    IncidentSync,
    closed_outcome,
    closing,
    conflict_holders,
    edit_path,
    outcome,
    plan_text,
    reconciler,
)
from target_incidentio.incidents.keys import conflict_error, sync_key
from target_incidentio.incidents.listing import listing_request, read_incident, read_listing
from target_incidentio.incidents.setup import sync_setup
from target_incidentio.reconcile.engine import Change, Create, Unchanged
from target_incidentio.strategies import Strategy
from target_incidentio.strategies.reconciling import ReconcileStrategy

if t.TYPE_CHECKING:
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.incidents.compare import Desired
    from target_incidentio.incidents.feature import IncidentPlan
    from target_incidentio.incidents.listing import Listed
    from target_incidentio.incidents.setup import SyncSetup
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.reconcile.engine import Reconciler
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")
# The scope a key needs to list incidents, for the error when the listing fails.
LIST_SCOPE = "incidents.view"
# A stream's incidents are one scope.
SCOPE = "incidents"

IncidentReconciler: t.TypeAlias = "Reconciler[Listed, Desired, dict[str, t.Any], t.Any]"


class IncidentSyncStrategy(ReconcileStrategy["Listed", "Desired", dict[str, t.Any], t.Any]):
    """`incident_mode: sync`: list once, then create, edit only what differs, or skip."""

    uses_versions = True
    withheld = "no incident is closed (close_missing_incidents)"

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._setup: SyncSetup | None = None
        self._made: set[str] = set()
        self._lock = threading.Lock()

    def prepared(self, ctx: BuildContext) -> None:
        """The sync settings as ids (the lists are the run's, read already by the prepare step)."""
        super().prepared(ctx)
        self._setup = sync_setup(ctx)

    def _settings(self) -> SyncSetup:
        if self._setup is None:  # prepared() runs before the first row; a guard for mypy
            self._setup = sync_setup(self.ctx)
        return self._setup

    # -- the snapshot's gate -----------------------------------------------------------------

    def may_remove(self) -> bool:
        """May this stream's snapshot close what it did not carry? (`close_missing_incidents`).

        The one place a destructive step asks; a stream the tap did not signal complete
        will answer no at the snapshot's end (`Outlet.snapshot_whole`).
        """
        return self._setup is not None and self._setup.close_status_id is not None

    # -- rows in -----------------------------------------------------------------------------

    def send(self, request: ApiRequest) -> None:
        """One built create: decided against the listing, then sent, skipped or failed."""
        setup = self._settings()
        engine = self.scope(SCOPE)
        if engine is None:
            self.outlet.fail(request, self._unlisted(request))
            return
        record_key = request.record_keys[0] if request.record_keys else ""
        try:
            key = sync_key(
                request.records[0],
                self.ctx.key_properties,
                stream=self.ctx.stream,
                record_key=record_key,
            )
        except RecordError as error:
            self.rejected(1)
            self.outlet.fail(request, error)
            return
        body = keyed_create(
            request.body, stream=self.ctx.stream, key=key, key_field_id=setup.key_field_id
        )
        wanted = desired(key, body, setup.owned, request.resolved)
        self._act(engine, request, key, wanted, body)

    def _act(
        self,
        engine: IncidentReconciler,
        request: ApiRequest,
        key: str,
        wanted: Desired,
        body: dict[str, t.Any],
    ) -> None:
        decision = engine.decide(key, wanted, (request,))
        order_key = f"incident-sync:{self.ctx.stream}:{key}"
        if isinstance(decision, Create):
            if decision.again:
                # A row of a key this snapshot created already says otherwise: once the
                # create is answered, the incident it made is what this row is compared with.
                self.outlet.wait()
                if key in self._created():
                    self._act(engine, request, key, wanted, body)
                    return
            sent = replace(
                request,
                body=body,
                order_key=order_key,
                effect="create",
                outcome=outcome(decision).fields(),
            )
            self.outlet.submit(sent, self._after_create(engine, key))
        elif isinstance(decision, Change):
            edit = replace(
                request,
                url=endpoint_url(self.ctx.settings.base_url, edit_path(decision.current.id)),
                body=decision.write,
                order_key=order_key,
                effect="update",
                outcome=outcome(decision).fields(),
            )
            self.outlet.submit(edit, self._after_edit(engine, decision))
        elif isinstance(decision, Unchanged):
            self.outlet.skip(
                replace(request, outcome=outcome(decision).fields()),
                "unchanged in incident.io (incident_mode: sync)",
            )
        else:
            holders = conflict_holders(decision)
            record_key = request.record_keys[0] if request.record_keys else ""
            self.outlet.fail(request, conflict_error(self.ctx.stream, record_key, key, holders))

    def _created(self) -> set[str]:
        """Keys whose create this snapshot confirmed, with the incident it made applied."""
        with self._lock:
            return set(self._made)

    def _after_create(
        self, engine: IncidentReconciler, key: str
    ) -> t.Callable[[DeliveryResult], None]:
        setup = self._setup

        def then(result: DeliveryResult) -> None:
            if not result.ok:
                return
            engine.confirmed(key)
            body = result.response_body
            incident = body.get("incident") if isinstance(body, dict) else None
            if setup is None or not isinstance(incident, dict):
                return
            try:
                listed = read_incident(incident, setup.key_field_id, setup.owned)
            except ValueError:
                return
            engine.applied(key, listed)
            with self._lock:
                self._made.add(key)

        return then

    def _after_edit(
        self,
        engine: IncidentReconciler,
        change: Change[Listed, Desired, dict[str, t.Any], t.Any],
    ) -> t.Callable[[DeliveryResult], None]:
        owned = self._setup.owned if self._setup is not None else ()

        def then(result: DeliveryResult) -> None:
            if result.ok:
                engine.confirmed(change.key)
                labels = [d.field for d in change.differences]
                engine.applied(
                    change.key, after_edit(change.current, change.desired, labels, owned)
                )

        return then

    # -- the listing -------------------------------------------------------------------------

    def list_scope(self, scope: str) -> IncidentReconciler:
        """Every incident, page by page, once per snapshot, as the stream's reconciler."""
        del scope
        setup = self._settings()
        self._made = set()
        feature = IncidentSync(
            self.ctx.stream, setup.owned, notify=self.ctx.settings.notify_incident_channel
        )
        # A stream whose map fixes its incident type lists only that type (two such
        # streams may then close on one key field: `operations.parse_settings`).
        fixed_type = self.ctx.constants.get("incident_type_id")
        listing = read_listing(
            lambda after: self.fetch(listing_request(self.ctx, after, fixed_type)),
            setup.key_field_id,
            setup.owned,
        )
        engine = reconciler(
            feature,
            listing,
            closes=self.may_remove(),
            max_close_fraction=self.ctx.settings.incident_max_close_fraction,
            record=self.outlet.dry_run,
        )
        held = sum(1 for item in listing.incidents if item.key is not None)
        LOG.info(
            "Stream '%s': %d incidents listed (%d page(s)), %d hold a key; incident_mode sync.",
            self.ctx.stream,
            len(listing.incidents),
            listing.pages,
            held,
        )
        return engine

    def _unlisted(self, request: ApiRequest) -> RecordError:
        return RecordError(
            stream=self.ctx.stream,
            record_key=request.record_keys[0] if request.record_keys else "",
            field=None,
            problem=(
                f"the incidents could not be listed ({self.failure(SCOPE)}), so it is not known "
                "whether this record's incident exists; nothing was written for it."
            ),
            hint=f"the API key needs the `{LIST_SCOPE}` scope (the `viewer` role); run again.",
        )

    # -- the snapshot's end ------------------------------------------------------------------

    def plan_text(self, scope: str, plan: IncidentPlan, *, removes: bool) -> str:
        """The dry run's plan: to create, to edit (old -> new per field), unchanged, to close."""
        del scope, removes
        return plan_text(plan)

    def removal(self, scope: str, item: Listed) -> ApiRequest:
        """The edit to the close status; its one record is the incident, keyed by its key."""
        del scope
        status_id = self._settings().close_status_id or ""
        close = closing(item, status_id, notify=self.ctx.settings.notify_incident_channel)
        key = item.key or ""
        return self.ctx.api_key_call(
            "POST",
            close.path,
            body=dict(close.body),
            order_key=f"incident-sync:{self.ctx.stream}:{key}",
            operation="incident",
            records=({"incident_id": item.id, "reference": item.reference, "key": key},),
            record_keys=(key,),
            effect="close",
            outcome=closed_outcome(close).fields(),
        )


class IncidentCreate(Strategy):
    """`incident_mode: create`: send as built; say once when a create met an older incident."""

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._warned = threading.Event()

    def send(self, request: ApiRequest) -> None:
        """Send as built; read the answer for fields the existing incident holds otherwise."""
        self.outlet.submit(request, self._check(request))

    def _check(self, request: ApiRequest) -> t.Callable[[DeliveryResult], None]:
        def then(result: DeliveryResult) -> None:
            if not result.ok or self._warned.is_set():
                return
            stale = stale_fields(result.response_body, request.body)
            if stale and not self._warned.is_set():
                self._warned.set()
                LOG.warning(
                    "Stream '%s': incident.io answered a create (record %s) with the incident "
                    "it made earlier for the same idempotency key, whose %s differ from the "
                    "record's; the change was not applied. `incident_mode: sync` (with "
                    "`incident_key_field`) keeps incidents in step with their rows. Said once "
                    "per stream.",
                    self.ctx.stream,
                    ", ".join(request.record_keys),
                    ", ".join(stale),
                )

        return then
