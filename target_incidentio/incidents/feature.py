"""Incident sync on the reconcile engine: its hooks, its close plan, its words and records.

`IncidentSync` is the engine's `Feature` for one stream: incidents are keyed by the key
field's text, compared in the owned fields, changed with an edit carrying only what differs,
and, under `close_missing_incidents`, those open and keyed whose key the snapshot did not
carry are closed, behind `incident_max_close_fraction` of the open, keyed incidents.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass

from target_incidentio.core.urls import segment
from target_incidentio.incidents.compare import close_body, differences, edit_body
from target_incidentio.incidents.listing import INCIDENTS_PATH
from target_incidentio.reconcile.engine import Change, Conflict, Create, Reconciler, Unchanged
from target_incidentio.reconcile.guard import Words
from target_incidentio.reconcile.text import summary

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.incidents.compare import Desired
    from target_incidentio.incidents.listing import Listed, Listing
    from target_incidentio.incidents.owned import SyncField
    from target_incidentio.reconcile.engine import Difference, Plan

CLOSE_FRACTION_SETTING = "incident_max_close_fraction"
Action = t.Literal["created", "edited", "unchanged", "closed"]


def edit_path(incident_id: str) -> str:
    """`POST /v2/incidents/{id}/actions/edit`'s path."""
    return f"{INCIDENTS_PATH}/{segment(incident_id)}/actions/edit"


@dataclass(frozen=True)
class IncidentSync:
    """The engine's hooks for one `incident_mode: sync` stream."""

    stream: str
    owned: tuple[SyncField, ...]
    notify: bool = False

    @property
    def words(self) -> Words:
        """Closing, in the words of incident sync's messages."""
        return Words(
            item="incident",
            items="incidents",
            pool=f"open incidents holding a key of stream '{self.stream}'",
            key="key",
            remove="close",
            removed="closed",
            removal="closing",
            change="edit",
            actor="close_missing_incidents",
            fraction_setting=CLOSE_FRACTION_SETTING,
        )

    def key_of(self, item: Listed) -> str | None:
        """The key field's text."""
        return item.key

    def differences(self, current: Listed, desired: Desired) -> tuple[Difference, ...]:
        """The owned fields the record gives that the incident does not hold."""
        return differences(current, desired, self.owned)

    def change(
        self, current: Listed, desired: Desired, differences: tuple[Difference, ...]
    ) -> dict[str, t.Any]:
        """The edit body carrying only what differs."""
        del current
        return edit_body(desired, (d.field for d in differences), self.owned, notify=self.notify)

    def differs_from_sent(self, sent: Desired, desired: Desired) -> bool:
        """A later row of a key this run created: whether its owned fields say otherwise."""
        return {s: v.key for s, v in sent.values.items()} != {
            s: v.key for s, v in desired.values.items()
        }

    def removable(self, item: Listed) -> bool:
        """Open: not closed, declined, canceled or merged already."""
        return item.open

    def counted(self, item: Listed) -> bool:
        """The pool of the close fraction: open incidents holding a key."""
        return item.key is not None and item.open


IncidentPlan: t.TypeAlias = "Plan[Listed, Desired, dict[str, t.Any], t.Any]"


def reconciler(
    feature: IncidentSync,
    listing: Listing,
    *,
    closes: bool,
    max_close_fraction: float = 0.5,
    record: bool = False,
) -> Reconciler[Listed, Desired, dict[str, t.Any], t.Any]:
    """One stream's reconciler; several incidents holding a key refuse its records."""
    return Reconciler(
        feature,
        listing.incidents,
        removes=closes,
        max_fraction=max_close_fraction,
        several="refuse",
        record=record,
    )


@dataclass(frozen=True)
class Close:
    """One incident whose row left the source: the edit that closes it."""

    incident: Listed
    path: str
    body: Mapping[str, t.Any]


def closing(item: Listed, status_id: str, *, notify: bool) -> Close:
    """The edit that closes one incident whose row left the source."""
    return Close(item, edit_path(item.id), close_body(status_id, notify=notify))


def closes(plan: IncidentPlan, status_id: str, *, notify: bool) -> tuple[Close, ...]:
    """The edits the plan's verdict allows, in listing order."""
    return tuple(closing(item, status_id, notify=notify) for item in plan.verdict.removes)


def _label(item: Listed) -> str:
    return f"{item.key} ({item.label})" if item.key else item.label


def plan_text(plan: IncidentPlan) -> str:
    """The dry run's plan: to create, to edit (old -> new per field), unchanged, to close."""
    headline = (
        f"incidents (incident_mode sync): {len(plan.creates)} to create, "
        f"{len(plan.changes)} to edit, {len(plan.unchanged)} unchanged, "
        f"{len(plan.verdict.removes)} to close, {len(plan.conflicts)} refused (several "
        f"incidents hold the key); {plan.listed} incidents listed, {plan.pool} open with a key"
    )
    return summary(plan, headline=headline, label=_label)


# -- response records ------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync did for a record (or to an incident), for its response record."""

    action: Action
    incident_id: str | None
    reference: str | None
    fields_changed: tuple[str, ...] = ()

    def fields(self) -> dict[str, t.Any]:
        """The response record's fields: action, the incident's id and reference, the fields."""
        return {
            "action": self.action,
            "incident_id": self.incident_id,
            "incident_reference": self.reference,
            "fields_changed": list(self.fields_changed),
        }


def outcome(
    decision: Create[Desired, t.Any]
    | Change[Listed, Desired, t.Any, t.Any]
    | Unchanged[Listed, t.Any],
    answer: object = None,
) -> SyncOutcome:
    """The outcome of a decision once confirmed; a create's incident is read from its answer."""
    if isinstance(decision, Create):
        incident = answer.get("incident") if isinstance(answer, Mapping) else None
        found = incident if isinstance(incident, Mapping) else {}
        ident, reference = found.get("id"), found.get("reference")
        return SyncOutcome(
            "created",
            ident if isinstance(ident, str) else None,
            reference if isinstance(reference, str) else None,
        )
    if isinstance(decision, Change):
        fields = tuple(d.field for d in decision.differences)
        return SyncOutcome("edited", decision.current.id, decision.current.reference, fields)
    current = decision.current
    if current is None:  # the same as a create of this run
        return SyncOutcome("unchanged", None, None)
    return SyncOutcome("unchanged", current.id, current.reference)


def closed_outcome(close: Close) -> SyncOutcome:
    """A closed incident's outcome."""
    return SyncOutcome("closed", close.incident.id, close.incident.reference, ("incident_status",))


def conflict_holders(conflict: Conflict[Listed, t.Any]) -> Sequence[tuple[str, str]]:
    """`(reference, id)` of every incident holding a refused key, for `keys.conflict_error`."""
    return [(item.reference, item.id) for item in conflict.holders]
