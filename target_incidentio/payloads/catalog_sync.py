"""Catalog sync (issue 12): plan the calls that make a catalog type match a stream.

`merge` lists the type's entries and sends only what differs: new external ids are
created, changed entries go through `bulk_update`, unchanged ones cost no call. `sync`
also deletes, once the stream has ended and its calls are confirmed, the entries whose
external id the stream did not carry. Everything here is pure: the caller does the HTTP,
feeding listing pages in and taking bodies out, so every rule is tested without a server.

Comparison works on what the target would send, normalised the way incident.io returns
it (see `normalise`), so an unchanged row is never rewritten: the bug catalog-importer
users hit with empty arrays.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from target_incidentio.payloads.common import number_text
from target_incidentio.urls import segment

if t.TYPE_CHECKING:
    from target_incidentio.payloads.base import ApiRequest

JSONObject = Mapping[str, t.Any]
# A normalised attribute value: one literal, or the literals of an array, in order.
Value: t.TypeAlias = str | tuple[str, ...]
Mode = t.Literal["merge", "sync"]

ENTRIES_PATH = "/v3/catalog_entries"
BULK_UPDATE_PATH = "/v3/catalog_entries/actions/bulk_update"
# The most `GET /v3/catalog_entries` pages and `bulk_update` calls accept.
PAGE_SIZE = 250
BULK_MAX_ENTRIES = 250
DELETE_FRACTION_SETTING = "catalog_max_delete_fraction"
DEFAULT_MAX_DELETE_FRACTION = 0.5
# Attribute types (`catalog_type.schema.attributes[].type`) whose literals have one meaning
# under several spellings; every other type compares its literals exactly.
NUMBER_TYPE = "Number"
BOOL_TYPE = "Bool"
NO_TYPES: Mapping[str, str] = {}


# -- listing ---------------------------------------------------------------------------


def listing_path(catalog_type_id: str, after: str | None = None, page_size: int = PAGE_SIZE) -> str:
    """Path and query of one `GET /v3/catalog_entries` page; the caller prefixes base_url."""
    query = {"catalog_type_id": catalog_type_id, "page_size": str(page_size)}
    if after:
        query["after"] = after
    return f"{ENTRIES_PATH}?{urlencode(query)}"


@dataclass(frozen=True)
class ListingPage:
    """One parsed `CatalogListEntriesResultV3`."""

    entries: tuple[JSONObject, ...]
    # The cursor for the next page; None once the listing is complete.
    after: str | None
    # Attribute id -> type, from the `catalog_type` every page carries.
    attribute_types: Mapping[str, str]


def parse_listing_page(body: object) -> ListingPage:
    """Entries, next cursor and attribute types of a listing page.

    The listing ends at a page without `pagination_meta.after`, or without entries (where
    catalog-importer stops), so a server that repeats its cursor on an empty last page
    cannot loop the caller.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("catalog_entries"), list):
        msg = f"a catalog listing must be an object with a 'catalog_entries' list: {body!r:.200}"
        raise TypeError(msg)
    entries = tuple(body["catalog_entries"])
    meta = body.get("pagination_meta")
    after = meta.get("after") if isinstance(meta, Mapping) else None
    return ListingPage(
        entries=entries,
        after=after if entries and isinstance(after, str) and after else None,
        attribute_types=_attribute_types(body.get("catalog_type")),
    )


def _attribute_types(catalog_type: object) -> dict[str, str]:
    """Attribute id -> type name from a `CatalogTypeV3`, skipping anything malformed."""
    schema = catalog_type.get("schema") if isinstance(catalog_type, Mapping) else None
    attributes = schema.get("attributes") if isinstance(schema, Mapping) else None
    return {
        a["id"]: a["type"]
        for a in attributes or ()
        if isinstance(a, Mapping)
        and isinstance(a.get("id"), str)
        and isinstance(a.get("type"), str)
    }


@dataclass(frozen=True)
class Listing:
    """Every entry of a catalog type, gathered page by page."""

    entries: tuple[JSONObject, ...]
    attribute_types: Mapping[str, str]
    pages: int


def collect_listing(
    catalog_type_id: str, fetch: Callable[[str], object], page_size: int = PAGE_SIZE
) -> Listing:
    """Follow the listing's cursors with `fetch(path) -> JSON body` (the caller's HTTP GET).

    A cursor seen twice is an error rather than an endless loop.
    """
    entries: list[JSONObject] = []
    types: dict[str, str] = {}
    seen: set[str] = set()
    after: str | None = None
    pages = 0
    while True:
        page = parse_listing_page(fetch(listing_path(catalog_type_id, after, page_size)))
        pages += 1
        entries.extend(page.entries)
        types.update(page.attribute_types)
        if page.after is None:
            return Listing(tuple(entries), types, pages)
        if page.after in seen:
            msg = f"the listing of catalog type {catalog_type_id} repeated cursor {page.after!r}"
            raise ValueError(msg)
        seen.add(page.after)
        after = page.after


# -- normalisation ---------------------------------------------------------------------


@dataclass(frozen=True)
class EntryState:
    """What merge compares: name, aliases, rank, managed attributes, as incident.io keeps them."""

    name: str
    aliases: tuple[str, ...]
    rank: int
    # (attribute id, value) sorted by id; attributes without a value are left out.
    attributes: tuple[tuple[str, Value], ...]

    def differences(self, other: EntryState) -> tuple[str, ...]:
        """The fields that differ, e.g. `("name", "attribute_values.01ATTR")`."""
        changed = [
            name
            for name in ("name", "aliases", "rank")
            if getattr(self, name) != getattr(other, name)
        ]
        mine, theirs = dict(self.attributes), dict(other.attributes)
        changed.extend(
            f"attribute_values.{attribute_id}"
            for attribute_id in sorted(mine.keys() | theirs.keys())
            if mine.get(attribute_id) != theirs.get(attribute_id)
        )
        return tuple(changed)


def managed_attributes(payload: JSONObject, mapped: Iterable[str]) -> frozenset[str]:
    """The attribute ids a row owns: those `catalog_attributes` maps plus the row's own keys.

    A mapped attribute is managed even when the record's field is null (the row says "no
    value", so merge clears it); an attribute neither mapped nor given by the record is
    someone else's (the dashboard's, another stream's) and is never compared or written.
    """
    values = payload.get("attribute_values")
    return frozenset(mapped) | frozenset(values if isinstance(values, Mapping) else ())


def normalise(
    source: JSONObject, managed: Iterable[str], attribute_types: Mapping[str, str] = NO_TYPES
) -> EntryState:
    """A create payload or a listed `CatalogEntryV3` as an `EntryState`, restricted to `managed`.

    Both use the same field names; the rules make what the target sends equal to what
    incident.io returns for it:
    - name compares exactly;
    - aliases: absent or null is `[]`; order counts (incident.io keeps it);
    - rank: absent or null is 0 (an entry without a rank lists as 0);
    - an attribute absent, null, `{}`, `{"array_value": []}` or with only empty literals has
      no value (incident.io omits empty arrays), so all of these are equal;
    - a value is its `literal` (a listed value's `label`, `sort_key` and other keys are
      display data), falling back to `label` when the literal is empty, which the spec
      allows for String, Text, Number and Bool attributes;
    - Number literals compare as numbers ("1.50" == "1.5") and Bool literals ignore case,
      when `attribute_types` says so; other literals compare exactly ("1.0" != "1");
    - a single value and a one-item array differ: the attribute's arity is the type's.
    """
    attribute_values = source.get("attribute_values")
    bindings = attribute_values if isinstance(attribute_values, Mapping) else {}
    attributes: list[tuple[str, Value]] = []
    for attribute_id in sorted(managed):
        value = _binding(bindings.get(attribute_id), attribute_types.get(attribute_id))
        if value is not None:
            attributes.append((attribute_id, value))
    rank = source.get("rank")
    return EntryState(
        name=str(source.get("name") or ""),
        aliases=tuple(source.get("aliases") or ()),
        rank=int(rank) if rank is not None else 0,
        attributes=tuple(attributes),
    )


def _binding(binding: object, kind: str | None) -> Value | None:
    """A binding's literals: a tuple for a non-empty array, else the single literal, else None."""
    if not isinstance(binding, Mapping):
        return None
    items = binding.get("array_value")
    if isinstance(items, list):
        literals = tuple(x for x in (_literal(item, kind) for item in items) if x is not None)
        if literals:
            return literals
    return _literal(binding.get("value"), kind)


def _literal(value: object, kind: str | None) -> str | None:
    """One value's literal (or label), canonical for its attribute type; None when empty."""
    if not isinstance(value, Mapping):
        return None
    text = value.get("literal") or value.get("label")
    if text is None or text == "":
        return None
    return _canonical(text if isinstance(text, str) else str(text), kind)


def _canonical(text: str, kind: str | None) -> str:
    """Number and Bool literals in one spelling; other types keep theirs."""
    if kind == NUMBER_TYPE:
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return text
        if not number.is_finite():
            return text
        return "0" if number.is_zero() else number_text(number.normalize())
    if kind == BOOL_TYPE and text.strip().lower() in {"true", "false"}:
        return text.strip().lower()
    return text


# -- plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One record's create payload (as `build_catalog_entry` made it), key and input record."""

    payload: JSONObject
    record_key: str
    record: JSONObject
    # The record's checkpoint sequence number(s): whatever call answers for the row settles them.
    sequences: tuple[int, ...] = ()

    @classmethod
    def from_request(cls, request: ApiRequest) -> Row:
        """The row of a built `POST /v3/catalog_entries` request (one record per request)."""
        return cls(request.body, request.record_keys[0], request.records[0], request.sequences)

    @property
    def external_id(self) -> str:
        """The entry's external id; every catalog payload the target builds has one."""
        value = self.payload.get("external_id")
        if not isinstance(value, str) or not value:
            msg = (
                f"record {self.record_key}: a catalog payload without external_id cannot be merged"
            )
            raise ValueError(msg)
        return value


class _FromRows:
    """Records an action answers for: several when an external id repeated (the last wins)."""

    rows: tuple[Row, ...]

    @property
    def record_keys(self) -> tuple[str, ...]:
        """Keys of every record behind this action, for its response record."""
        return tuple(row.record_key for row in self.rows)

    @property
    def records(self) -> tuple[JSONObject, ...]:
        """Every input record behind this action."""
        return tuple(row.record for row in self.rows)

    @property
    def sequences(self) -> tuple[int, ...]:
        """Checkpoint numbers of every record behind this action."""
        return tuple(number for row in self.rows for number in row.sequences)


@dataclass(frozen=True)
class Create(_FromRows):
    """A new external id: one `POST /v3/catalog_entries` with the last row's payload."""

    rows: tuple[Row, ...]

    @property
    def payload(self) -> JSONObject:
        """The `CatalogCreateEntryPayloadV3` to send."""
        return self.rows[-1].payload

    @property
    def external_id(self) -> str:
        """The external id being created."""
        return self.rows[-1].external_id


@dataclass(frozen=True)
class Update(_FromRows):
    """An existing entry that differs: one `PartialEntryPayloadV3` of a bulk update."""

    entry_id: str
    external_id: str
    # The PartialEntryPayloadV3: entry_id, name, aliases, rank (when set), managed attributes.
    body: JSONObject
    # The bulk call's `update_attributes`: every attribute this row manages, sorted.
    update_attributes: tuple[str, ...]
    # What differs, as `EntryState.differences` names it; for dry runs and logs.
    changed: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Unchanged(_FromRows):
    """An entry that already matches its row: no call."""

    entry_id: str
    external_id: str
    rows: tuple[Row, ...]


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

    def summary(self, limit: int = 20) -> str:
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


def _ids(kind: str, ids: list[str], limit: int) -> str:
    """`kind (n): a, b, … and N more`, or nothing when there are none."""
    if not ids:
        return ""
    shown = ", ".join(ids[:limit])
    more = f" … and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{kind} ({len(ids)}): {shown}{more}"


def _described(entry: EntryRef) -> str:
    """A kept entry by external id, or by id and name when made by hand."""
    return entry.external_id or f"entry {entry.entry_id} {entry.name!r} (no external id)"


def plan_catalog(  # noqa: PLR0913 - each input is one of the plan's independent facts
    catalog_type_id: str,
    entries: Iterable[JSONObject],
    rows: Iterable[Row],
    *,
    mapped_attribute_ids: Iterable[str],
    mode: Mode,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
    attribute_types: Mapping[str, str] = NO_TYPES,
) -> CatalogPlan:
    """Compare the listed `entries` of a type with the stream's `rows` (input order).

    `mapped_attribute_ids` are the `catalog_attributes` setting's values. Archived entries
    are ignored. Under `sync`, plan the whole stream at once (a type holds at most 50,000
    entries), since deletions need every external id it carried; `merge` may plan batch
    by batch against the same listing.
    """
    if mode not in ("merge", "sync"):
        msg = f"catalog plans are for merge or sync, not {mode!r}"
        raise ValueError(msg)
    if not 0 <= max_delete_fraction <= 1:
        msg = f"{DELETE_FRACTION_SETTING} must be between 0 and 1, got {max_delete_fraction}"
        raise ValueError(msg)
    mapped = frozenset(mapped_attribute_ids)
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        if row.payload.get("catalog_type_id") != catalog_type_id:
            given = row.payload.get("catalog_type_id")
            msg = f"record {row.record_key} is for catalog type {given!r}, not {catalog_type_id!r}"
            raise ValueError(msg)
        grouped.setdefault(row.external_id, []).append(row)
    live = [entry for entry in entries if not entry.get("archived_at")]
    existing = {entry["external_id"]: entry for entry in live if entry.get("external_id")}
    creates: list[Create] = []
    updates: list[Update] = []
    unchanged: list[Unchanged] = []
    for external_id, group in grouped.items():
        entry = existing.get(external_id)
        if entry is None:
            creates.append(Create(tuple(group)))
            continue
        payload = group[-1].payload
        managed = managed_attributes(payload, mapped)
        changed = normalise(payload, managed, attribute_types).differences(
            normalise(entry, managed, attribute_types)
        )
        entry_id = _entry_id(entry)
        if changed:
            body = update_body(entry_id, payload, managed)
            updates.append(
                Update(entry_id, external_id, body, tuple(sorted(managed)), changed, tuple(group))
            )
        else:
            unchanged.append(Unchanged(entry_id, external_id, tuple(group)))
    return replace(
        snapshot_plan(
            catalog_type_id, live, grouped, mode=mode, max_delete_fraction=max_delete_fraction
        ),
        creates=tuple(creates),
        updates=tuple(updates),
        unchanged=tuple(unchanged),
        duplicates=tuple(external_id for external_id, group in grouped.items() if len(group) > 1),
    )


def snapshot_plan(
    catalog_type_id: str,
    entries: Iterable[JSONObject],
    carried_external_ids: Iterable[str],
    *,
    mode: Mode,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
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
        EntryRef(_entry_id(e), e.get("external_id") or None, str(e.get("name") or ""))
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


def _entry_id(entry: JSONObject) -> str:
    """A listed entry's id, which every `CatalogEntryV3` has."""
    entry_id = entry.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        msg = f"a listed catalog entry has no id: {entry!r:.200}"
        raise ValueError(msg)
    return entry_id


def update_body(entry_id: str, payload: JSONObject, managed: Iterable[str]) -> dict[str, t.Any]:
    """The `PartialEntryPayloadV3` that leaves the entry as `payload` would create it.

    Aliases are always sent (omitted, the API keeps the old ones, and the entry would differ
    on every run); rank only when set (omitted, the API clears it, which is what a payload
    without rank means). A managed attribute without a value is sent as `{}`, the shape the
    API lists an empty value in, so it is cleared whatever `update_attributes` does with a
    key missing from `attribute_values`.
    """
    values = payload.get("attribute_values") or {}
    body: dict[str, t.Any] = {
        "entry_id": entry_id,
        "name": payload["name"],
        "aliases": list(payload.get("aliases") or ()),
        "attribute_values": {a: values.get(a, {}) for a in sorted(managed)},
    }
    if payload.get("rank") is not None:
        body["rank"] = payload["rank"]
    return body


# -- bulk update -----------------------------------------------------------------------


@dataclass(frozen=True)
class BulkUpdate:
    """One `POST /v3/catalog_entries/actions/bulk_update`: 1-250 updates, one attribute set.

    The call is atomic, so a 422 rejects every entry; `split` halves the batch so the caller
    can bisect down to the entries incident.io refuses and deliver the rest.
    """

    catalog_type_id: str
    updates: tuple[Update, ...]

    def __post_init__(self) -> None:
        """Refuse a batch the endpoint would refuse, or one mixing attribute sets."""
        if not 1 <= len(self.updates) <= BULK_MAX_ENTRIES:
            msg = f"a bulk update takes 1 to {BULK_MAX_ENTRIES} entries, got {len(self.updates)}"
            raise ValueError(msg)
        if len({u.update_attributes for u in self.updates}) != 1:
            msg = "a bulk update's entries must manage the same attributes"
            raise ValueError(msg)

    @property
    def update_attributes(self) -> tuple[str, ...]:
        """The attributes every entry of the batch manages."""
        return self.updates[0].update_attributes

    @property
    def body(self) -> dict[str, t.Any]:
        """The `CatalogBulkUpdateEntriesPayloadV3`."""
        return {
            "catalog_type_id": self.catalog_type_id,
            "entries": [dict(u.body) for u in self.updates],
            "update_attributes": list(self.update_attributes),
        }

    @property
    def record_keys(self) -> tuple[str, ...]:
        """Keys of every record in the batch, for its one response record."""
        return tuple(key for u in self.updates for key in u.record_keys)

    @property
    def records(self) -> tuple[JSONObject, ...]:
        """Every input record in the batch."""
        return tuple(record for u in self.updates for record in u.records)

    @property
    def sequences(self) -> tuple[int, ...]:
        """Checkpoint numbers of every record in the batch."""
        return tuple(number for u in self.updates for number in u.sequences)

    def locate(self, pointer: str) -> tuple[Update, str | None] | None:
        """The update and body field an error's `source.pointer` names, if it names one.

        `/entries/3/attribute_values/01ATTR/value` gives `(updates[3], "attribute_values.01ATTR")`;
        `/entries/3` gives `(updates[3], None)`; anything else None. With it a rejected entry's
        error can name its record and field.
        """
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        if len(parts) < 2 or parts[0] != "entries" or not parts[1].isdigit():  # noqa: PLR2004
            return None
        index = int(parts[1])
        if index >= len(self.updates):
            return None
        field = ".".join(parts[2:4] if parts[2:3] == ["attribute_values"] else parts[2:3])
        return self.updates[index], field or None

    def split(self) -> tuple[BulkUpdate, BulkUpdate]:
        """The two halves of the batch (left gets the smaller half), for bisecting a 422."""
        if len(self.updates) < 2:  # noqa: PLR2004 - a batch of one is already isolated
            msg = "a bulk update of one entry cannot be split"
            raise ValueError(msg)
        middle = len(self.updates) // 2
        return (
            BulkUpdate(self.catalog_type_id, self.updates[:middle]),
            BulkUpdate(self.catalog_type_id, self.updates[middle:]),
        )


def bulk_updates(
    catalog_type_id: str, updates: Iterable[Update], max_entries: int = BULK_MAX_ENTRIES
) -> tuple[BulkUpdate, ...]:
    """Updates as bulk calls: grouped by `update_attributes`, in order, `max_entries` at most.

    Grouping matters: `update_attributes` applies to every entry of a call, and an attribute
    listed there but managed by another row's record would be cleared on this row's entry.
    """
    if not 1 <= max_entries <= BULK_MAX_ENTRIES:
        msg = f"max_entries must be 1 to {BULK_MAX_ENTRIES}, got {max_entries}"
        raise ValueError(msg)
    groups: dict[tuple[str, ...], list[Update]] = {}
    for update in updates:
        groups.setdefault(update.update_attributes, []).append(update)
    return tuple(
        BulkUpdate(catalog_type_id, tuple(group[start : start + max_entries]))
        for group in groups.values()
        for start in range(0, len(group), max_entries)
    )


# -- deletion --------------------------------------------------------------------------


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
