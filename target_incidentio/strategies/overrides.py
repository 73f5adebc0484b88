"""`schedule_override`: a cover table kept in step with incident.io's schedule overrides.

Every row is held until the stream ends (overrides must be planned together: on one layer
they never overlap, and creating one over a neighbour deletes it and brings its leftover
time back as new overrides with new ids). Then, for the schedules in scope (those the rows
name, plus `override_schedules`), each schedule's overrides are listed once, and the
reconcile engine decides every row: a match (schedule, rotation, layer, user, both instants
in UTC) needs no call; a row with no match is created. Under `override_mode: sync` an
override in scope that has not ended and matches no row is deleted, behind the engine's
guards (`override_max_delete_fraction`), and deletes go before creates. A schedule whose
creates covered an override still there is listed again afterwards and reconciled anew on
that listing (never on ids from before the write). The shared end of a snapshot (the
stream whole, the plan, the dry-run text, the guard's refusal, the deletes) is
`strategies/reconciling.py`'s, with `decides_first`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import typing as t

from typing_extensions import override

from target_incidentio.core.errors import DeliveryFailedError, RecordError
from target_incidentio.core.lookups import follow_pages
from target_incidentio.payloads.names import LISTS, LookupFailedError, UnresolvedError, find
from target_incidentio.payloads.overrides import (
    Cover,
    OverrideFeature,
    delete_override,
    listed_cover,
    outcome,
    overrides_page,
    request_cover,
    shown,
)
from target_incidentio.reconcile.engine import Create, Reconciler, Unchanged
from target_incidentio.reconcile.text import shown as shown_ids
from target_incidentio.strategies.reconciling import ListingFailedError, ReconcileStrategy

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.reconcile.engine import Plan
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")
Listed = dict[str, list[dict[str, t.Any]]]  # schedule id -> its overrides


SCOPE = "overrides"  # the schedules in scope are listed, planned and guarded as one


class OverrideSync(ReconcileStrategy["dict[str, t.Any]", Cover, None, "ApiRequest"]):
    """Hold the rows; at the stream's end list, plan, delete, create, list again if needed."""

    uses_versions = True
    decides_first = True
    withheld = "no override is deleted (override_mode sync)"

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._rows: list[ApiRequest] = []  # held until the snapshot ends
        self._snapshot: list[ApiRequest] = []  # this snapshot's rows (once listed: those decided)
        self._creates: list[ApiRequest] = []
        self._schedules: list[str] = []  # in scope
        self._listed_schedules: list[str] = []  # of them, those listed
        self._listing: list[dict[str, t.Any]] = []
        self.clock: t.Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)

    @override
    def send(self, request: ApiRequest) -> None:
        self._rows.append(dataclasses.replace(request, effect="create"))

    @property
    def syncs(self) -> bool:
        """`override_mode: sync`: what matches no row is deleted."""
        return self.ctx.settings.override_mode == "sync"

    # -- one snapshot ----------------------------------------------------------------------------

    @override
    def finish(self) -> None:
        """Every row decided against the listing; then the shared end (deletes, `written`)."""
        rows, self._rows = self._rows, []
        self._schedules = self._scope(rows)
        self._snapshot = rows  # a schedule that cannot be listed fails its rows
        engine = self.scope(SCOPE)
        if engine is None:  # each schedule's listing fails alone; a guard for mypy
            for row in rows:
                self.outlet.fail(row, self._unlisted(row, self.failure(SCOPE) or "not listed"))
            self._snapshot = self._creates = []
            super().finish()
            return
        rows = [row for row in rows if row.body["schedule_id"] in self._listed_schedules]
        self._snapshot = rows = self._without_overlaps(rows)
        self._creates = []
        for row in rows:
            cover = request_cover(row)
            decision = engine.decide(cover.key, cover, [row])
            if isinstance(decision, Create) and not decision.again:
                self._creates.append(row)
            elif isinstance(decision, Unchanged):
                reason = "already so" if decision.current is not None else "same as an earlier row"
                unchanged = outcome("unchanged", decision.current)
                self.outlet.skip(dataclasses.replace(row, outcome=unchanged), f"override {reason}")
        super().finish()

    @override
    def list_scope(self, scope: str) -> Reconciler[t.Any, Cover, None, ApiRequest]:
        """Every schedule in scope's overrides, as one reconciler (one guard over them all)."""
        listed = self._listed(self._schedules, self._snapshot)
        self._listed_schedules = list(listed)
        self._listing = [o for overrides in listed.values() for o in overrides]
        return Reconciler(
            OverrideFeature(self.clock()),
            self._listing,
            removes=self.syncs,
            max_fraction=self.ctx.settings.override_max_delete_fraction,
            several="last",
        )

    @override
    def removal(self, scope: str, item: dict[str, t.Any]) -> ApiRequest:
        return delete_override(item, self.ctx)

    @override
    def written(
        self, scope: str, plan: Plan[t.Any, Cover, None, ApiRequest], *, removes: bool
    ) -> None:
        """The creates, after the deletes; a schedule where they cut an override, listed again."""
        deleted = {id(item) for item in plan.verdict.removes}
        standing = [o for o in self._listing if id(o) not in deleted]
        touched = self._touched(self._creates, standing)
        for row in self._creates:
            self.outlet.submit(dataclasses.replace(row, outcome=outcome("created")))
        self.outlet.wait()
        if touched and not self.outlet.dry_run:
            self._again(touched, self._snapshot, removes=removes)

    def _again(self, touched: set[str], rows: Sequence[ApiRequest], *, removes: bool) -> None:
        """List the touched schedules again; what is still not as the rows say, made so."""
        wanted = {request_cover(r).key: r for r in rows if r.body["schedule_id"] in touched}
        listed = self._listed(sorted(touched), ())
        fresh = [o for overrides in listed.values() for o in overrides]
        engine: Reconciler[t.Any, Cover, None, ApiRequest] = Reconciler(
            OverrideFeature(self.clock()), fresh, removes=removes, max_fraction=1
        )
        missing = [
            row
            for key, row in wanted.items()
            if isinstance(engine.decide(key, request_cover(row)), Create)
        ]
        extra = list(engine.plan(assume_delivered=True).verdict.removes)
        for item in extra:
            self.outlet.submit(delete_override(item, self.ctx))
        self.outlet.wait()
        for row in missing:
            again = dataclasses.replace(
                row,
                records=(),
                record_keys=(),
                sequences=(),
                purpose="create override again",
                outcome=outcome("created"),
            )
            self.outlet.submit(again)
        self.outlet.wait()
        if missing or extra:
            LOG.warning(
                "Stream '%s': after the writes, schedules %s held %d overrides no row asks for "
                "and lacked %d; deleted and created again from a fresh listing.",
                self.ctx.stream,
                ", ".join(sorted(touched)),
                len(extra),
                len(missing),
            )

    # -- scope and listing -----------------------------------------------------------------------

    def _scope(self, rows: Sequence[ApiRequest]) -> list[str]:
        """The schedules the rows name, then those `override_schedules` adds (sync only)."""
        scope = dict.fromkeys(str(row.body["schedule_id"]) for row in rows)
        for index, name in enumerate(self.ctx.settings.override_schedules if self.syncs else ()):
            try:
                found = find(name, self.ctx.directory.items("schedules"), LISTS["schedules"])
            except (UnresolvedError, LookupFailedError) as problem:
                msg = (
                    f"Stream '{self.ctx.stream}': `override_schedules[{index}]`: {problem}; "
                    "nothing was deleted."
                )
                raise DeliveryFailedError(msg) from None
            scope[str(found["id"])] = None
        return list(scope)

    def _listed(self, scope: Sequence[str], rows: Sequence[ApiRequest]) -> Listed:
        """Each schedule's overrides; a schedule that cannot be listed fails its rows."""
        listed: Listed = {}
        for schedule_id in scope:
            try:
                listed[schedule_id] = self._list(schedule_id)
            except LookupFailedError as problem:  # noqa: PERF203 - one schedule fails alone
                for row in rows:
                    if row.body["schedule_id"] == schedule_id:
                        self.outlet.fail(row, self._unlisted(row, str(problem)))
                if not rows:
                    raise DeliveryFailedError(str(problem)) from None
        return listed

    def _list(self, schedule_id: str) -> list[dict[str, t.Any]]:
        def page(after: str | None) -> object:
            try:
                return self.fetch(overrides_page(schedule_id, after, self.ctx))
            except ListingFailedError as problem:
                msg = (
                    f"could not list the overrides of schedule {schedule_id}: {problem}. "
                    "The API key needs the `schedules_reader` role."
                )
                raise LookupFailedError(msg) from None

        try:
            items = follow_pages(page, "overrides")
        except (TypeError, ValueError) as problem:
            raise LookupFailedError(str(problem)) from None
        return [dict(item) for item in items if listed_cover(item) is not None and item.get("id")]

    def _unlisted(self, row: ApiRequest, problem: str) -> RecordError:
        return RecordError(
            stream=self.ctx.stream,
            record_key=row.record_keys[0] if row.record_keys else "?",
            field="schedule",
            problem=f"{problem}; nothing was written for this schedule.",
        )

    # -- the rules of a layer --------------------------------------------------------------------

    def _without_overlaps(self, rows: Sequence[ApiRequest]) -> list[ApiRequest]:
        """Two rows on one layer whose windows overlap cannot both hold: the later one fails."""
        kept: list[tuple[Cover, ApiRequest]] = []
        for row in rows:
            cover = request_cover(row)
            clash = next((k for k, _ in kept if k.overlaps(cover) and k.key != cover.key), None)
            if clash is None:
                kept.append((cover, row))
                continue
            self.outlet.fail(
                row,
                RecordError(
                    stream=self.ctx.stream,
                    record_key=row.record_keys[0] if row.record_keys else "?",
                    field="start_at",
                    problem=(
                        f"overlaps an earlier row on the same layer ({shown(clash.start)} to "
                        f"{shown(clash.end)}); overrides on one layer never overlap, so "
                        "incident.io would keep only one."
                    ),
                    hint="fix the cover table so each layer's windows follow one another.",
                ),
            )
        return [row for _, row in kept]

    @staticmethod
    def _touched(
        creates: Sequence[ApiRequest], standing: Sequence[Mapping[str, t.Any]]
    ) -> set[str]:
        """Schedules where a create covers an override still there (incident.io will cut it)."""
        covers = [c for o in standing if (c := listed_cover(o)) is not None]
        return {
            cover.schedule_id
            for cover in map(request_cover, creates)
            if any(cover.overlaps(other) and cover.key != other.key for other in covers)
        }

    @override
    def plan_lines(
        self, scope: str, plan: Plan[t.Any, Cover, None, ApiRequest], *, removes: bool
    ) -> list[str]:
        """Per schedule: what a real run would create and delete."""
        lines = []
        for schedule_id in self._schedules:
            made = [request_cover(r) for r in self._creates if r.body["schedule_id"] == schedule_id]
            gone = [o for o in plan.verdict.removes if o.get("schedule_id") == schedule_id]
            lines.append(
                f"schedule {schedule_id}: would create {len(made)}"
                + (f" ({shown_ids([_label(c) for c in made])})" if made else "")
                + f"; would delete {len(gone)}"
                + (f" ({shown_ids([str(o['id']) for o in gone])})" if gone else "")
                + "."
            )
        return lines


def _label(cover: Cover) -> str:
    return f"{cover.user_id} {shown(cover.start)} to {shown(cover.end)}"
