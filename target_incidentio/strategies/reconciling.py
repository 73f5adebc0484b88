"""A strategy on the reconcile engine: the steps every sync shares, written once.

Catalog sync and incident sync differ in what they list, how a row is written and what a
removal is; the rest is this: each scope (a catalog type, a stream's incidents) is listed
once per snapshot through the outlet, a listing that fails is kept as the reason its rows
fail, records rejected before their key was known are counted, and at the snapshot's end
(end of input, or an ACTIVATE_VERSION after the calls are confirmed) each scope's plan is
made, its removals asked of `Outlet.snapshot_whole`, the dry run's plan logged, a guard's
refusal raised (`DeliveryFailedError`, too many removals) or warned, and the removals the
guards allow submitted. A subclass decides its rows with `scope(...)`'s reconciler and gives
the hooks: `list_scope`, `plan_text`, `removal`.

A subclass whose rows must all be decided before any write (`decides_first`: overrides, where
a create over a neighbour deletes it) holds them, decides them at the snapshot's end, and is
planned as if every row were delivered; its removals are confirmed before `written` sends
the rest (delete before create) and lists again what those writes may have moved.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

from target_incidentio.core.errors import DeliveryFailedError
from target_incidentio.strategies import Strategy

if t.TYPE_CHECKING:
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.reconcile.engine import Plan, Reconciler
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")

C = t.TypeVar("C")
D = t.TypeVar("D")
W = t.TypeVar("W")
R = t.TypeVar("R")


class ListingFailedError(RuntimeError):
    """A page of a scope's listing did not come back."""


@dataclass
class _Scope(t.Generic[C, D, W, R]):
    """One scope of a snapshot: its reconciler, or why it could not be listed."""

    engine: Reconciler[C, D, W, R] | None
    failure: str | None = None


class ReconcileStrategy(Strategy, t.Generic[C, D, W, R]):
    """List once per scope, let the subclass decide each row, plan and remove at the end."""

    # What a stream not signalled whole withholds, for `Outlet.snapshot_whole`'s warning.
    withheld: t.ClassVar[str] = "nothing is removed"
    # What could not be read, in "… could not be read: <why>".
    listing_name: t.ClassVar[str] = "the listing"
    # Every row is decided before any write: planned as if all were delivered, and the
    # removals confirmed before `written`.
    decides_first: t.ClassVar[bool] = False

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        self._scopes: dict[str, _Scope[C, D, W, R]] = {}
        self._rejected = 0  # records that failed before their key was known
        self._ended_any = False  # a snapshot with a listed scope has ended

    # -- hooks -------------------------------------------------------------------------------

    def list_scope(self, scope: str) -> Reconciler[C, D, W, R]:
        """The scope's listing as a reconciler, its pages read through `fetch`.

        May raise `ListingFailedError`, or `TypeError`/`ValueError` for an answer it cannot read.
        """
        raise NotImplementedError

    def plan_text(self, scope: str, plan: Plan[C, D, W, R], *, removes: bool) -> str:
        """The dry run's plan of one scope (`removes`: whether the snapshot may remove)."""
        raise NotImplementedError

    def removal(self, scope: str, item: C) -> ApiRequest:
        """The call that removes a listed object the snapshot did not carry."""
        raise NotImplementedError

    def planned(self, scope: str, plan: Plan[C, D, W, R]) -> None:
        """A scope's plan, before its removals (a warning about it, say)."""

    def plan_lines(self, scope: str, plan: Plan[C, D, W, R], *, removes: bool) -> list[str]:
        """The dry run's log messages of one scope: `plan_text`, as one message."""
        return [self.plan_text(scope, plan, removes=removes)]

    def written(self, scope: str, plan: Plan[C, D, W, R], *, removes: bool) -> None:
        """After a scope's removals (confirmed, under `decides_first`): the writes held back."""

    # -- the listing -------------------------------------------------------------------------

    def scope(self, scope: str) -> Reconciler[C, D, W, R] | None:
        """The scope's reconciler, listed on first use in a snapshot; None if that failed."""
        found = self._scopes.get(scope)
        if found is None:
            try:
                found = _Scope(self.list_scope(scope))
            except ListingFailedError as error:
                found = _Scope(None, str(error))
            except (TypeError, ValueError) as error:
                found = _Scope(None, f"{self.listing_name} could not be read: {error}")
            self._scopes[scope] = found
        return found.engine

    def listed(self, scope: str) -> Reconciler[C, D, W, R] | None:
        """The scope's reconciler if this snapshot listed it already (never lists)."""
        found = self._scopes.get(scope)
        return None if found is None else found.engine

    def failure(self, scope: str) -> str | None:
        """Why the scope could not be listed (its rows fail with it)."""
        found = self._scopes.get(scope)
        return None if found is None else found.failure

    def fetch(self, request: ApiRequest) -> object:
        """One listing page through the outlet (sent in a dry run too: it changes nothing)."""
        result, body = self.outlet.call(request)
        if not result.ok:
            raise ListingFailedError(result.summary)
        return body

    def rejected(self, records: int) -> None:
        """Records whose key is unknown: while any are, the snapshot removes nothing."""
        self._rejected += records

    # -- the snapshot's end ------------------------------------------------------------------

    def boundary(self) -> None:
        """ACTIVATE_VERSION: the rows so far are one snapshot; the next lists anew."""
        self.flush()
        self.outlet.wait()
        self.finish()
        self.outlet.wait()  # its removals done before the next snapshot lists again

    def end(self) -> None:
        """End of input, every call confirmed: plan each scope and remove what the guards allow."""
        self.finish()

    def finish(self) -> None:
        """Every scope's plan, dry-run text and removals; raise if a guard refused."""
        scopes, self._scopes = self._scopes, {}
        rejected, self._rejected = self._rejected, 0
        stream = self.ctx.stream
        errors: list[str] = []
        for name, found in scopes.items():
            engine = found.engine
            if engine is None:
                continue
            self._ended_any = True
            removes = engine.removes and self.outlet.snapshot_whole(stream, self.withheld)
            plan = engine.plan(
                rejected_records=rejected,
                assume_delivered=self.outlet.dry_run or self.decides_first,
                removes=removes,
            )
            self.planned(name, plan)
            if self.outlet.dry_run:
                for line in self.plan_lines(name, plan, removes=removes):
                    LOG.info("Stream '%s', dry run: %s", stream, line)
            verdict = plan.verdict
            if verdict.refusal and verdict.error:
                errors.append(f"Stream '{stream}': {verdict.refusal}")
            elif verdict.refusal:
                LOG.warning("Stream '%s': %s", stream, verdict.refusal)
            for item in verdict.removes:
                self.outlet.submit(self.removal(name, item))
            if self.decides_first:
                self.outlet.wait()  # deletes before creates: nothing left for a create to cut
            self.written(name, plan, removes=removes)
        if errors:
            raise DeliveryFailedError(" ".join(errors))
