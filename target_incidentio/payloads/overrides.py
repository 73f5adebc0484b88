"""The `schedule_override` operation's pure half: a cover-table row, an override, a key.

A row names a schedule (name in any letter case, or id), its `rotation` and `layer` (either
may be left out when there is only one), the `user` who covers (e-mail or id) and the window
(`start_at`, `end_at`, RFC 3339 at any offset). Names resolve against the run's lists
(`schedules` carries each schedule's rotations and layers; `users`), so an unknown one fails
its record naming the closest. An override is the same as a row when schedule, rotation,
layer, user and both instants (in UTC) match: that tuple is the reconcile key, so a changed
row is a delete plus a create (incident.io cannot reassign an override), never an edit.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from target_incidentio.core.urls import segment
from target_incidentio.payloads.base import Resolved
from target_incidentio.payloads.common import Record, date_time, identifier
from target_incidentio.payloads.incident_fields import LOOKUP_HINT, NAMES_HINT, resolve_name
from target_incidentio.payloads.names import (
    LISTS,
    Item,
    ListKind,
    LookupFailedError,
    UnresolvedError,
    find,
)
from target_incidentio.reconcile.guard import Words

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered
    from target_incidentio.reconcile.engine import Difference

OVERRIDES_PATH = "/v2/schedule_overrides"
OVERRIDE_FIELDS = frozenset({"schedule", "rotation", "layer", "user", "start_at", "end_at"})
ROTATIONS = ListKind("", "rotations", "rotation")
LAYERS = ListKind("", "layers", "layer")
OVERRIDE_PAGE_SIZE = 250
WORDS = Words(
    "override",
    "overrides",
    "future overrides of the schedules in scope",
    "cover",
    "delete",
    "deleted",
    "deletion",
    "replace",
    "override_mode: sync",
    "override_max_delete_fraction",
)


def utc(text: str) -> dt.datetime:
    """An RFC 3339 instant at any offset, in UTC, to the second's fraction as given."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment.astimezone(dt.timezone.utc)


def shown(moment: dt.datetime) -> str:
    """`2030-06-10T09:00:00Z`."""
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Cover:
    """Who covers which layer when: a row as resolved, or an override as listed."""

    schedule_id: str
    rotation_id: str
    layer_id: str
    user_id: str
    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        """The reconcile key: every field, the instants in UTC."""
        parts = (self.schedule_id, self.rotation_id, self.layer_id, self.user_id)
        return "/".join((*parts, shown(self.start), shown(self.end)))

    @property
    def layer(self) -> tuple[str, str, str]:
        """Overrides on one layer never overlap."""
        return (self.schedule_id, self.rotation_id, self.layer_id)

    def overlaps(self, other: Cover) -> bool:
        """On the same layer, and the windows share time."""
        return self.layer == other.layer and self.start < other.end and other.start < self.end

    def body(self) -> dict[str, t.Any]:
        """`SchedulesCreateOverridePayloadV2`."""
        return {
            "schedule_id": self.schedule_id,
            "rotation_id": self.rotation_id,
            "layer_id": self.layer_id,
            "user": {"id": self.user_id},
            "start_at": shown(self.start),
            "end_at": shown(self.end),
        }


def listed_cover(override: Mapping[str, t.Any]) -> Cover | None:
    """A listed override as a `Cover`; None for one of another shape (never touched)."""
    try:
        user = override["user"]
        return Cover(
            str(override["schedule_id"]),
            str(override["rotation_id"]),
            str(override["layer_id"]),
            str(user["id"]),
            utc(str(override["start_at"])),
            utc(str(override["end_at"])),
        )
    except (KeyError, TypeError, ValueError):
        return None


def request_cover(request: ApiRequest) -> Cover:
    """The cover a create this module built asks for."""
    body = request.body
    return Cover(
        body["schedule_id"],
        body["rotation_id"],
        body["layer_id"],
        body["user"]["id"],
        utc(body["start_at"]),
        utc(body["end_at"]),
    )


# -- names ---------------------------------------------------------------------------------


def _schedules(record: Record, value: str) -> Item:
    try:
        items = record.ctx.directory.items("schedules")
    except LookupFailedError as problem:
        hint = LOOKUP_HINT.replace("`viewer`", "`schedules_reader`")
        problem_text = f"{value!r} could not be looked up: {problem}."
        raise record.error("schedule", problem_text, hint) from None
    try:
        return find(value, items, LISTS["schedules"])
    except UnresolvedError as problem:
        hint = NAMES_HINT.format(alternative="the schedule's id")
        raise record.error("schedule", f"{problem}.", hint) from None


def _part(record: Record, field: str, within: Item, kind: ListKind, owner: str) -> Item:
    """A schedule's rotation, or a rotation's layer: named, or the only one."""
    parts = within.get("config", {}).get(kind.items_key) if kind is ROTATIONS else None
    if kind is LAYERS:
        parts = within.get("layers")
    items = [p for p in parts or () if isinstance(p, dict) and isinstance(p.get("id"), str)]
    value = identifier(record, field)
    if value is None:
        if len(items) == 1:
            return items[0]
        names = ", ".join(str(p.get("name")) for p in items) or "none"
        raise record.missing(field, f"'<one of: {names}>'", f" ({owner} has {len(items)})")
    try:
        return find(value, items, kind)
    except UnresolvedError as problem:
        hint = NAMES_HINT.format(alternative=f"the {kind.what}'s id")
        raise record.error(field, f"{problem} of {owner}.", hint) from None


def resolve_layer(record: Record, schedule: str) -> tuple[Item, Item, Item]:
    """The schedule, rotation and layer a row names (rotation, layer: or the only one)."""
    found = _schedules(record, schedule)
    label = f"schedule {found.get('name')!r}"
    rotation = _part(record, "rotation", found, ROTATIONS, label)
    layer = _part(record, "layer", rotation, LAYERS, f"rotation {rotation.get('name')!r}")
    for field, item in (("schedule", found), ("rotation", rotation), ("layer", layer)):
        given = identifier(record, field)
        if given is not None and given != item["id"]:
            record.resolved.append(Resolved(field, given, str(item["id"])))
    return found, rotation, layer


def _instant(record: Record, field: str) -> dt.datetime:
    value = date_time(record, field)
    if value is None:
        raise record.missing(field, "<field holding an RFC 3339 instant>")
    return utc(value)


def build_schedule_override(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Create the override a row asks for (the strategy decides whether it is needed)."""
    record = Record.single(records, ctx, "schedule_override")
    schedule = identifier(record, "schedule")
    if schedule is None:
        raise record.missing("schedule", "'Primary'")
    user = identifier(record, "user")
    if user is None:
        raise record.missing("user", "<field holding the e-mail of who covers>")
    start, end = _instant(record, "start_at"), _instant(record, "end_at")
    if end <= start:
        raise record.error("end_at", f"ends at {shown(end)}, not after it starts ({shown(start)}).")
    found, rotation, layer = resolve_layer(record, schedule)
    user_id = resolve_name(record, "user", user, "users")
    cover = Cover(str(found["id"]), str(rotation["id"]), str(layer["id"]), user_id, start, end)
    return record.api_key_request(
        path=OVERRIDES_PATH, body=cover.body(), order_key=f"schedule:{cover.schedule_id}"
    )


# -- listing and removal -------------------------------------------------------------------


def overrides_page(schedule_id: str, after: str | None, ctx: BuildContext) -> ApiRequest:
    """`GET /v2/schedule_overrides?schedule_id=`: one page of a schedule's overrides."""
    query = f"?schedule_id={segment(schedule_id)}&page_size={OVERRIDE_PAGE_SIZE}"
    if after:
        query += f"&after={segment(after)}"
    return ctx.api_key_call(
        "GET",
        OVERRIDES_PATH + query,
        order_key=f"schedule:{schedule_id}",
        operation="schedule_override",
    )


def outcome(action: str, override: Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The response record's `action` and, where no answer names it, the override's id.

    `created` (the id comes from the create's answer), `unchanged` (the override that already
    says what the row says, or none when an earlier row of the stream asked for it first),
    `deleted` (no row asks for it).
    """
    ident = override.get("id") if override is not None else None
    return {"action": action, "resource_id": ident if isinstance(ident, str) else None}


def delete_override(override: Mapping[str, t.Any], ctx: BuildContext) -> ApiRequest:
    """`DELETE /v2/schedule_overrides/{id}`; its one record is the override it removes."""
    cover = listed_cover(override)
    key = cover.key if cover else str(override.get("id"))
    return ctx.api_key_call(
        "DELETE",
        f"{OVERRIDES_PATH}/{segment(str(override['id']))}",
        order_key=f"schedule:{override.get('schedule_id')}",
        operation="schedule_override",
        records=({k: override.get(k) for k in ("id", "schedule_id", "start_at", "end_at")},),
        record_keys=(key,),
        effect="delete",
        outcome=outcome("deleted", override),
    )


# -- the reconcile feature ------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideFeature:
    """Keyed by every field: nothing is ever changed in place, the past never removed."""

    now: dt.datetime
    words: Words = WORDS

    def key_of(self, item: Mapping[str, t.Any]) -> str | None:
        """Every field of the override, the instants in UTC; None for another shape."""
        cover = listed_cover(item)
        return cover.key if cover else None

    def differences(self, current: object, desired: object) -> tuple[Difference, ...]:  # noqa: ARG002
        """Same key, same override."""
        return ()

    def change(self, current: object, desired: object, differences: object) -> None:  # noqa: ARG002
        """Never called: equal keys never differ."""
        msg = "an override is never changed in place"
        raise AssertionError(msg)

    def differs_from_sent(self, sent: object, desired: object) -> bool:  # noqa: ARG002
        """Two rows of one key ask for the same override."""
        return False

    def removable(self, item: Mapping[str, t.Any]) -> bool:
        """Only an override that has not ended yet."""
        cover = listed_cover(item)
        return cover is not None and cover.end > self.now

    def counted(self, item: Mapping[str, t.Any]) -> bool:
        """The guard's pool: the future overrides in scope."""
        return self.removable(item)
