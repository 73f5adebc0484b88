"""Catalog planning: normalisation, comparison, the sync snapshot, bulk bodies, bisect, guards.

The snapshot is decided on the reconcile engine with catalog sync's feature
(`catalog/feature.py`), row by row as the strategy decides it.

`listed` plays incident.io: it turns a create payload into the `CatalogEntryV3` the listing
would return (labels and sort keys added, empty arrays dropped, aliases and rank filled in),
so "nothing changed" is tested against the API's shape, not the payload's.
"""

from __future__ import annotations

import ast
import json
import math
import typing as t
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numbering import numbered

import target_incidentio.catalog
from target_incidentio.catalog.bulk import BULK_UPDATE_PATH, BulkUpdate, bulk_updates
from target_incidentio.catalog.compare import (
    Row,
    Update,
    managed_attributes,
    normalise,
    update_body,
)
from target_incidentio.catalog.entries import build_catalog_entry
from target_incidentio.catalog.feature import (
    DELETE_FRACTION_SETTING,
    CatalogPlan,
    CatalogReconciler,
    as_update,
    delete_path,
    plan_text,
    reconciler,
)
from target_incidentio.catalog.listing import (
    ENTRIES_PATH,
    collect_listing,
    listing_path,
    parse_listing_page,
)
from target_incidentio.reconcile.engine import Change, Create, Unchanged
from target_incidentio.settings import StreamSettings

BASE = "https://api.incident.io"
FULL_SPEC = Path(__file__).parents[2] / "spec" / "incidentio-openapi.json"
# The validator raises conftest.OpenAPIMismatchError, an AssertionError.
MISMATCH = AssertionError
TYPE_ID = "01CATTYPE"
TIER, OWNERS, SCORE, PAGING, DOCS = "01TIER", "01OWNERS", "01SCORE", "01PAGING", "01DOCS"
MAPPED = {"tier": TIER, "owners": OWNERS, "score": SCORE, "paging": PAGING}
TYPES = {TIER: "String", OWNERS: 'Custom["Team"]', SCORE: "Number", PAGING: "Bool"}


@pytest.fixture(scope="module")
def ctx(make_ctx):
    return make_ctx("services", ("id",), catalog_type_id=TYPE_ID, catalog_attributes=MAPPED)


def make_row(ctx, record: dict[str, t.Any]) -> Row:
    return Row.from_request(build_catalog_entry(numbered(record), ctx))


def listed(payload: t.Mapping[str, t.Any], entry_id: str) -> dict[str, t.Any]:
    """The CatalogEntryV3 incident.io lists after creating `payload`."""

    def shown(value: dict[str, str]) -> dict[str, str]:
        return {**value, "label": value["literal"], "sort_key": value["literal"].lower()}

    values: dict[str, t.Any] = {}
    for attribute_id, binding in payload["attribute_values"].items():
        if binding.get("array_value"):
            values[attribute_id] = {"array_value": [shown(v) for v in binding["array_value"]]}
        elif binding.get("value"):
            values[attribute_id] = {"value": shown(binding["value"])}
        # An empty array comes back absent.
    entry = {
        "id": entry_id,
        "catalog_type_id": payload["catalog_type_id"],
        "name": payload["name"],
        "aliases": list(payload.get("aliases", [])),
        "rank": payload.get("rank", 0),
        "attribute_values": values,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    if payload.get("external_id"):
        entry["external_id"] = payload["external_id"]
    return entry


def service(n: int, **fields: t.Any) -> dict[str, t.Any]:
    return {"id": n, "name": f"Service {n}", "tier": "gold", "owners": ["sre"], **fields}


def entry_id(n: int) -> str:
    return f"01ENTRY{n:05d}"


@dataclass
class Decided:
    """A whole stream decided as the strategy decides it: every decision, in order."""

    engine: CatalogReconciler
    decisions: list[t.Any]

    def plan(self, **options: t.Any) -> CatalogPlan:
        return self.engine.plan(**options)

    @property
    def creates(self) -> tuple[Create[Row, Row], ...]:
        return self.plan().creates

    @property
    def updates(self) -> tuple[Update, ...]:
        """The bulk updates' entries the strategy sends (each key's last decision)."""
        return tuple(as_update(c) for c in self.plan().changes)

    @property
    def unchanged(self) -> tuple[Unchanged[t.Any, Row], ...]:
        return self.plan().unchanged

    @property
    def verdict(self) -> t.Any:
        """The deletions allowed were every row delivered (a dry run's)."""
        return self.plan(assume_delivered=True).verdict

    def bulk_updates(self) -> tuple[BulkUpdate, ...]:
        return bulk_updates(TYPE_ID, self.updates)

    def summary(self, limit: int = 20) -> str:
        return plan_text(self.plan(assume_delivered=True), TYPE_ID, self.mode, limit)

    @property
    def mode(self) -> t.Literal["merge", "sync"]:
        return "sync" if self.engine.removes else "merge"


def plan(
    rows: list[Row],
    entries: list[dict[str, t.Any]],
    *,
    mode: t.Literal["merge", "sync"] = "sync",
    max_delete_fraction: float = StreamSettings().catalog_max_delete_fraction,
) -> Decided:
    """Each row decided against the listing as `CatalogMerge.send` decides it: a changed
    entry's rows wait together for the bulk call, so a later row of its key answers for all."""
    engine = reconciler(
        TYPE_ID,
        entries,
        mapped=MAPPED.values(),
        attribute_types=TYPES,
        mode=mode,
        max_delete_fraction=max_delete_fraction,
    )
    held: dict[str, tuple[Row, ...]] = {}
    decisions = []
    for row in rows:
        waiting = held.pop(row.external_id, ())
        decided = engine.decide(row.external_id, row, (*waiting, row))
        if isinstance(decided, Change):
            held[row.external_id] = decided.rows
        decisions.append(decided)
    return Decided(engine, decisions)


def keys(decisions: t.Iterable[t.Any]) -> list[str]:
    return [d.key for d in decisions]


# -- normalisation ---------------------------------------------------------------------

VALUE = {"value": {"literal": "gold"}}
LISTED_VALUE = {"value": {"literal": "gold", "label": "Gold", "sort_key": "001"}}


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        pytest.param({}, {}, id="both-absent"),
        pytest.param({TIER: {"array_value": []}}, {}, id="empty-array-comes-back-absent"),
        pytest.param({TIER: {"array_value": []}}, {TIER: {}}, id="empty-array-comes-back-empty"),
        pytest.param(
            {TIER: {"array_value": []}}, {TIER: {"array_value": []}}, id="empty-array-kept"
        ),
        pytest.param({TIER: {"value": {"literal": ""}}}, {}, id="empty-literal-is-no-value"),
        pytest.param({}, {TIER: {"array_value": [{"label": ""}]}}, id="only-empty-literals"),
        pytest.param({TIER: VALUE}, {TIER: LISTED_VALUE}, id="label-and-sort-key-ignored"),
        pytest.param(
            {TIER: VALUE}, {TIER: {"value": {"label": "gold"}}}, id="label-when-literal-empty"
        ),
        pytest.param(
            {OWNERS: {"array_value": [{"literal": "a"}, {"literal": "b"}]}},
            {OWNERS: {"array_value": [{"literal": "a", "label": "A"}, {"literal": "b"}]}},
            id="array-literals",
        ),
        pytest.param(
            {SCORE: {"value": {"literal": "1.5"}}},
            {SCORE: {"value": {"literal": "1.500", "label": "1.5"}}},
            id="number-spellings",
        ),
        pytest.param(
            {SCORE: {"value": {"literal": "100"}}},
            {SCORE: {"value": {"literal": "1E+2"}}},
            id="number-exponent",
        ),
        pytest.param(
            {SCORE: {"value": {"literal": "0"}}}, {SCORE: {"value": {"literal": "-0.0"}}}, id="zero"
        ),
        pytest.param(
            {PAGING: {"value": {"literal": "true"}}},
            {PAGING: {"value": {"literal": "True"}}},
            id="bool-case",
        ),
        pytest.param({}, {DOCS: {"value": {"literal": "https://x"}}}, id="unmanaged-ignored"),
    ],
)
def test_normalise_equal(sent, returned):
    managed = [TIER, OWNERS, SCORE, PAGING]
    payload = {"name": "Checkout", "attribute_values": sent}
    entry = {"name": "Checkout", "aliases": [], "rank": 0, "attribute_values": returned}
    assert normalise(payload, managed, TYPES) == normalise(entry, managed, TYPES)


@pytest.mark.parametrize(
    ("sent", "returned", "changed"),
    [
        pytest.param({TIER: VALUE}, {}, f"attribute_values.{TIER}", id="value-added"),
        pytest.param({}, {TIER: LISTED_VALUE}, f"attribute_values.{TIER}", id="value-cleared"),
        pytest.param(
            {TIER: VALUE},
            {TIER: {"array_value": [{"literal": "gold"}]}},
            f"attribute_values.{TIER}",
            id="single-vs-one-item-array",
        ),
        pytest.param(
            {OWNERS: {"array_value": [{"literal": "a"}, {"literal": "b"}]}},
            {OWNERS: {"array_value": [{"literal": "b"}, {"literal": "a"}]}},
            f"attribute_values.{OWNERS}",
            id="array-order",
        ),
        pytest.param(
            {TIER: {"value": {"literal": "1.0"}}},
            {TIER: {"value": {"literal": "1"}}},
            f"attribute_values.{TIER}",
            id="string-attribute-keeps-number-spelling",
        ),
        pytest.param(
            {SCORE: {"value": {"literal": "1.5"}}},
            {SCORE: {"value": {"literal": "1.6"}}},
            f"attribute_values.{SCORE}",
            id="number-changed",
        ),
        pytest.param(
            {PAGING: {"value": {"literal": "true"}}},
            {PAGING: {"value": {"literal": "false"}}},
            f"attribute_values.{PAGING}",
            id="bool-changed",
        ),
    ],
)
def test_normalise_different(sent, returned, changed):
    managed = [TIER, OWNERS, SCORE, PAGING]
    payload = {"name": "x", "attribute_values": sent}
    entry = {"name": "x", "aliases": [], "rank": 0, "attribute_values": returned}
    assert normalise(payload, managed, TYPES).differences(normalise(entry, managed, TYPES)) == (
        changed,
    )


def test_number_and_bool_literals_compare_exactly_without_types():
    managed = [SCORE, PAGING]
    payload = {"name": "x", "attribute_values": {SCORE: {"value": {"literal": "1.5"}}}}
    entry = {"name": "x", "attribute_values": {SCORE: {"value": {"literal": "1.50"}}}}
    assert normalise(payload, managed) != normalise(entry, managed)
    assert normalise(payload, managed, TYPES) == normalise(entry, managed, TYPES)
    payload = {"name": "x", "attribute_values": {PAGING: {"value": {"literal": "yes"}}}}
    entry = {"name": "x", "attribute_values": {PAGING: {"value": {"literal": "true"}}}}
    assert normalise(payload, managed, TYPES) != normalise(entry, managed, TYPES)


@pytest.mark.parametrize(
    ("payload", "entry", "changed"),
    [
        pytest.param({"name": "a"}, {"name": "a", "aliases": [], "rank": 0}, (), id="defaults"),
        pytest.param({"name": "a", "rank": 0}, {"name": "a"}, (), id="rank-0-vs-absent"),
        pytest.param({"name": "a", "aliases": []}, {"name": "a", "aliases": None}, (), id="null"),
        pytest.param({"name": "a"}, {"name": "b"}, ("name",), id="renamed"),
        pytest.param({"name": "a", "rank": 3}, {"name": "a", "rank": 0}, ("rank",), id="rank"),
        pytest.param({"name": "a"}, {"name": "a", "rank": 2}, ("rank",), id="rank-removed"),
        pytest.param(
            {"name": "a", "aliases": ["x", "y"]},
            {"name": "a", "aliases": ["y", "x"]},
            ("aliases",),
            id="aliases-order-counts",
        ),
        pytest.param({"name": "a"}, {"name": "a", "aliases": ["x"]}, ("aliases",), id="removed"),
    ],
)
def test_normalise_core_fields(payload, entry, changed):
    assert normalise(payload, ()).differences(normalise(entry, ())) == changed


def test_managed_attributes_are_mapped_plus_the_records_own():
    payload = {"attribute_values": {DOCS: VALUE, TIER: VALUE}}
    assert managed_attributes(payload, [TIER, OWNERS]) == {TIER, OWNERS, DOCS}
    assert managed_attributes({}, [TIER]) == {TIER}


# -- listing ---------------------------------------------------------------------------


def test_listing_url_is_valid(openapi_validator):
    first = listing_path(TYPE_ID)
    assert first == f"{ENTRIES_PATH}?catalog_type_id={TYPE_ID}&page_size=250"
    openapi_validator("GET", BASE + first, None)
    later = listing_path(TYPE_ID, after="01ENTRY00250")
    assert later.endswith("&page_size=250&after=01ENTRY00250")
    openapi_validator("GET", BASE + later, None)


def test_validator_refuses_a_listing_page_too_large(openapi_validator):
    with pytest.raises(MISMATCH):
        openapi_validator("GET", BASE + listing_path(TYPE_ID, page_size=251), None)


def spec_listing_example() -> dict[str, t.Any]:
    spec = json.loads(FULL_SPEC.read_text(encoding="utf-8"))
    response = spec["paths"][ENTRIES_PATH]["get"]["responses"]["200"]
    return t.cast("dict[str, t.Any]", response["content"]["application/json"]["example"])


def test_parse_the_specs_own_listing_example():
    page = parse_listing_page(spec_listing_example())
    assert [e["id"] for e in page.entries] == ["01FCNDV6P870EA6S7TK1DSYDG0"]
    assert page.after == "01FCNDV6P870EA6S7TK1DSYDG0"
    assert page.attribute_types == {"01GW2G3V0S59R238FAHPDS1R66": 'Custom["Service"]'}


@pytest.mark.parametrize(
    "meta",
    [{"page_size": 250}, {"page_size": 250, "after": ""}, {"page_size": 250, "after": None}],
)
def test_a_page_without_cursor_ends_the_listing(meta):
    body = {"catalog_entries": [{"id": "01A"}], "catalog_type": {}, "pagination_meta": meta}
    assert parse_listing_page(body).after is None


def test_an_empty_page_ends_the_listing_even_with_a_cursor():
    body = {"catalog_entries": [], "pagination_meta": {"page_size": 250, "after": "01A"}}
    assert parse_listing_page(body).after is None


@pytest.mark.parametrize("body", [None, [], {"catalog_entries": None}, "oops"])
def test_a_malformed_listing_is_refused(body):
    with pytest.raises(TypeError, match="catalog_entries"):
        parse_listing_page(body)


def paged_api(
    entries: list[dict[str, t.Any]], *, cursor_on_last: bool = False
) -> tuple[t.Callable[[str], object], list[str]]:
    """A fake GET that pages `entries` by `after` the way incident.io does."""
    asked: list[str] = []

    def fetch(path: str) -> object:
        asked.append(path)
        query = dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
        ids = [e["id"] for e in entries]
        start = ids.index(query["after"]) + 1 if "after" in query else 0
        page = entries[start : start + int(query["page_size"])]
        meta: dict[str, t.Any] = {"page_size": int(query["page_size"])}
        if page and (start + len(page) < len(entries) or cursor_on_last):
            meta["after"] = page[-1]["id"]
        schema = {"attributes": [{"id": TIER, "type": "String"}], "version": 1}
        return {
            "catalog_entries": page,
            "catalog_type": {"schema": schema},
            "pagination_meta": meta,
        }

    return fetch, asked


@pytest.mark.parametrize(("cursor_on_last", "pages"), [(False, 3), (True, 4)])
def test_collect_listing_follows_cursors(cursor_on_last, pages):
    entries = [{"id": entry_id(n), "name": str(n)} for n in range(600)]
    fetch, asked = paged_api(entries, cursor_on_last=cursor_on_last)
    listing = collect_listing(TYPE_ID, fetch)
    assert [e["id"] for e in listing.entries] == [e["id"] for e in entries]
    assert listing.pages == pages == len(asked)
    assert asked[1] == listing_path(TYPE_ID, after=entry_id(249))
    assert listing.attribute_types == {TIER: "String"}


def test_collect_listing_refuses_a_repeated_cursor():
    page = {"catalog_entries": [{"id": "01A"}], "pagination_meta": {"after": "01A"}}
    with pytest.raises(ValueError, match="repeated cursor '01A'"):
        collect_listing(TYPE_ID, lambda _path: page)


# -- the planner -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(ctx):
    """600 entries; the stream renames 5, adds 3 and no longer carries 6."""
    existing = [make_row(ctx, service(n)) for n in range(600)]
    entries = [listed(row.payload, entry_id(n)) for n, row in enumerate(existing)]
    gone = set(range(100, 106))
    renamed = {7, 70, 300, 450, 599}
    records = [
        service(n, name=f"Renamed {n}") if n in renamed else service(n)
        for n in range(600)
        if n not in gone
    ]
    records += [service(n) for n in (600, 601, 602)]
    rows = [make_row(ctx, r) for r in records]
    return rows, entries, renamed, gone


def test_sync_scenario(scenario, openapi_validator):
    rows, entries, renamed, gone = scenario
    result = plan(rows, entries)
    assert keys(result.creates) == ["600", "601", "602"]
    assert [u.external_id for u in result.updates] == [str(n) for n in sorted(renamed)]
    assert all(u.changed == ("name",) for u in result.updates)
    assert len(result.unchanged) == 600 - len(gone) - len(renamed)
    # Delivered (here, by the unchanged rows alone), the gone entries are deleted.
    deletes = result.plan().verdict.removes
    assert [d["external_id"] for d in deletes] == [str(n) for n in sorted(gone)]
    assert [d["id"] for d in deletes] == [entry_id(n) for n in sorted(gone)]
    assert result.plan().kept == result.plan().repeated == ()
    assert result.plan().listed == 600
    assert result.verdict.removes == deletes
    assert result.verdict.refusal is None

    (bulk,) = result.bulk_updates()
    assert len(bulk.body["entries"]) == 5
    assert bulk.record_keys == tuple(u.record_keys[0] for u in result.updates)
    openapi_validator("POST", BASE + BULK_UPDATE_PATH, bulk.body)
    for create in result.creates:
        openapi_validator("POST", BASE + ENTRIES_PATH, create.desired.payload)
    for delete in deletes:
        assert delete_path(delete["id"]) == f"{ENTRIES_PATH}/{delete['id']}"
        openapi_validator("DELETE", BASE + delete_path(delete["id"]), None)


def test_merge_never_deletes(scenario):
    rows, entries, renamed, gone = scenario
    result = plan(rows, entries, mode="merge")
    assert (len(result.creates), len(result.updates)) == (3, len(renamed))
    assert result.verdict.removes == ()
    assert [e["external_id"] for e in result.plan().kept] == [str(n) for n in sorted(gone)]
    for row in rows:
        result.engine.confirmed(row.external_id)
    assert result.plan().verdict.removes == ()
    assert result.verdict.refusal is None


def test_update_body_is_a_valid_partial_entry(ctx, openapi_validator):
    before = make_row(ctx, service(1, aliases=["co"], rank=4, score=2.5, paging=True))
    after = make_row(ctx, service(1, owners=None, score=None, paging=False))
    entry = listed(before.payload, entry_id(1))
    entry["attribute_values"][DOCS] = {"value": {"literal": "https://docs", "label": "docs"}}
    (update,) = plan([after], [entry]).updates
    assert update.changed == (
        "aliases",
        "rank",
        f"attribute_values.{OWNERS}",
        f"attribute_values.{PAGING}",
        f"attribute_values.{SCORE}",
    )
    assert update.update_attributes == tuple(sorted(MAPPED.values()))
    assert update.body == {
        "entry_id": entry_id(1),
        "name": "Service 1",
        # Omitted aliases would keep ["co"]; omitted rank clears it, as the payload means.
        "aliases": [],
        "attribute_values": {
            OWNERS: {},
            PAGING: {"value": {"literal": "false"}},
            SCORE: {},
            TIER: {"value": {"literal": "gold"}},
        },
    }
    bulk = BulkUpdate(TYPE_ID, (update,))
    assert bulk.body["update_attributes"] == [OWNERS, PAGING, SCORE, TIER]  # DOCS left alone
    openapi_validator("POST", BASE + BULK_UPDATE_PATH, bulk.body)


def test_update_body_keeps_rank_when_set():
    payload = {"name": "x", "rank": 2, "aliases": ["a"], "attribute_values": {TIER: VALUE}}
    assert update_body("01E", payload, [TIER]) == {
        "entry_id": "01E",
        "name": "x",
        "aliases": ["a"],
        "rank": 2,
        "attribute_values": {TIER: VALUE},
    }


def test_attributes_managed_elsewhere_do_not_count_as_changes(ctx):
    row = make_row(ctx, service(1))
    entry = listed(row.payload, entry_id(1))
    entry["attribute_values"][DOCS] = {"value": {"literal": "set in the dashboard"}}
    result = plan([row], [entry])
    assert keys(result.unchanged) == ["1"]


def test_a_records_own_attribute_values_are_managed(ctx):
    row = make_row(ctx, service(1, attribute_values={DOCS: {"value": {"literal": "new"}}}))
    entry = listed(row.payload, entry_id(1))
    entry["attribute_values"][DOCS] = {"value": {"literal": "old"}}
    (update,) = plan([row], [entry]).updates
    assert update.changed == (f"attribute_values.{DOCS}",)
    assert DOCS in update.update_attributes


def test_duplicate_external_ids_last_row_wins(ctx):
    first = make_row(ctx, service(1, name="First"))
    last = make_row(ctx, service(1, name="Last"))
    other = make_row(ctx, service(2))
    new_first = make_row(ctx, service(3, name="A"))
    new_last = make_row(ctx, service(3, name="B"))
    before = make_row(ctx, service(1, name="Before"))
    entries = [listed(before.payload, entry_id(1)), listed(other.payload, entry_id(2))]
    result = plan([first, new_first, other, last, new_last], entries)
    assert result.plan().repeated == ("1", "3")
    (update,) = result.updates
    assert update.body["name"] == "Last"
    assert update.rows == (first, last)
    assert update.record_keys == (first.record_key, last.record_key)
    # Each row of the new id is created as it comes, the second again (it says otherwise):
    # together they answer for both records, and the last one's payload is what stays.
    creates = [d for d in result.decisions if isinstance(d, Create)]
    assert [(c.key, c.again) for c in creates] == [("3", False), ("3", True)]
    assert [r.record for c in creates for r in c.rows] == [new_first.record, new_last.record]
    (create,) = result.creates
    assert create.desired.payload["name"] == "B"
    assert BulkUpdate(TYPE_ID, (update,)).record_keys == update.record_keys


def test_entries_without_external_id_are_never_deleted(ctx):
    row = make_row(ctx, service(1))
    manual = listed({**row.payload, "external_id": None, "name": "By hand"}, "01MANUAL")
    archived = {**listed(make_row(ctx, service(9)).payload, "01OLD"), "archived_at": "2026"}
    result = plan([row], [listed(row.payload, entry_id(1)), manual, archived])
    assert result.verdict.removes == ()
    assert [(e["id"], e.get("external_id"), e["name"]) for e in result.plan().kept] == [
        ("01MANUAL", None, "By hand")
    ]
    assert result.plan().listed == 2  # archived entries are not the type's
    full = plan([], [manual], max_delete_fraction=1.0)
    assert full.verdict == full.plan().verdict
    assert full.plan().verdict.removes == ()
    assert full.plan().verdict.refusal is None  # no candidate at all, not a withheld one


def test_an_archived_entry_is_not_matched(ctx):
    row = make_row(ctx, service(1))
    archived = {**listed(row.payload, entry_id(1)), "archived_at": "2026-01-02T00:00:00Z"}
    assert keys(plan([row], [archived]).creates) == ["1"]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("external_id", "", "without external_id"), ("external_id", None, "without external_id")],
)
def test_rows_the_plan_cannot_hold_are_refused(ctx, field, value, match):
    row = make_row(ctx, service(1))
    bad = Row({**row.payload, field: value}, row.record_key, row.record)
    with pytest.raises(ValueError, match=match):
        plan([bad], [])


def test_a_delete_fraction_out_of_range_is_refused():
    with pytest.raises(ValueError, match=DELETE_FRACTION_SETTING):
        plan([], [], max_delete_fraction=1.5)


def test_a_listed_entry_without_id_is_refused(ctx):
    with pytest.raises(ValueError, match="no id"):
        plan([], [{"external_id": "1", "name": "x"}])


# -- deletion guards -------------------------------------------------------------------


@pytest.fixture(scope="module")
def six_hundred(ctx):
    rows = [make_row(ctx, service(n)) for n in range(600)]
    return rows, [listed(row.payload, entry_id(n)) for n, row in enumerate(rows)]


def test_an_empty_stream_deletes_nothing(six_hundred):
    _, entries = six_hundred
    result = plan([], entries, max_delete_fraction=1.0)
    verdict = result.plan().verdict
    assert verdict.removes == ()
    assert verdict.refusal is not None
    assert "delivered no records" in verdict.refusal
    assert "the 600 entries of catalog type" in verdict.refusal  # every one a candidate
    assert not verdict.error
    assert result.verdict == verdict


def test_too_many_deletions_are_refused_naming_the_setting_and_counts(six_hundred):
    rows, entries = six_hundred
    result = plan(rows[:100], entries)
    for row in rows[:100]:
        result.engine.confirmed(row.external_id)
    verdict = result.plan().verdict
    assert verdict.removes == ()
    assert verdict.error
    assert verdict.refusal is not None
    for part in (f"`{DELETE_FRACTION_SETTING}` (0.5)", "500 of the 600", "83%", "carried 100"):
        assert part in verdict.refusal


@pytest.mark.parametrize(("kept", "allowed"), [(300, True), (299, False)])
def test_deleting_exactly_the_fraction_is_allowed(six_hundred, kept, allowed):
    rows, entries = six_hundred
    result = plan(rows[:kept], entries)
    verdict = result.verdict
    assert (len(verdict.removes) == 600 - kept) is allowed
    assert verdict.error is not allowed


def test_a_failed_create_or_update_is_still_in_the_stream(ctx, six_hundred):
    rows, entries = six_hundred
    renamed = make_row(ctx, service(5, name="Renamed"))
    new = make_row(ctx, service(700))
    stream = [*rows[:5], renamed, *rows[6:590], new]  # 10 gone
    result = plan(stream, entries)
    assert [u.external_id for u in result.updates] == ["5"]
    assert keys(result.creates) == ["700"]
    # The create and the update failed (never confirmed): nothing else is deleted, and their
    # entries stay; the unchanged rows delivered themselves.
    verdict = result.plan().verdict
    assert [d["external_id"] for d in verdict.removes] == [str(n) for n in range(590, 600)]
    assert verdict.refusal is None


def test_nothing_delivered_and_nothing_unchanged_deletes_nothing(ctx, six_hundred):
    _, entries = six_hundred
    stream = [make_row(ctx, service(n, name="changed")) for n in range(590)]
    result = plan(stream, entries)
    assert len(result.updates) == 590
    assert len(result.verdict.removes) == 10
    failed = result.plan().verdict
    assert failed.removes == ()
    assert failed.refusal is not None
    assert "delivered no records" in failed.refusal
    result.engine.confirmed("3")
    assert len(result.plan().verdict.removes) == 10


def test_rejected_records_block_deletion(six_hundred):
    rows, entries = six_hundred
    result = plan(rows[:590], entries)
    verdict = result.plan(rejected_records=2).verdict
    assert verdict.removes == ()
    assert verdict.refusal is not None
    assert "2 record(s)" in verdict.refusal
    assert not verdict.error


def test_ids_the_stream_carried_protect_their_entries_delivered_or_not(ctx, six_hundred):
    rows, entries = six_hundred
    failed = [make_row(ctx, service(n, name="changed")) for n in (595, 596)]
    result = plan([*rows[:590], *failed], entries)
    assert len(result.plan().verdict.removes) == 8


# -- bulk bodies and bisect ------------------------------------------------------------


def updates_for(ctx, count: int, **fields: t.Any) -> tuple[Update, ...]:
    old = [make_row(ctx, service(n)) for n in range(count)]
    new = [make_row(ctx, service(n, name="new", **fields)) for n in range(count)]
    entries = [listed(row.payload, entry_id(n)) for n, row in enumerate(old)]
    return plan(new, entries, mode="merge").updates


def test_bulk_bodies_hold_at_most_250(ctx, openapi_validator):
    updates = updates_for(ctx, 600)
    batches = bulk_updates(TYPE_ID, updates)
    assert [len(b.updates) for b in batches] == [250, 250, 100]
    assert [u for b in batches for u in b.updates] == list(updates)
    for batch in batches:
        openapi_validator("POST", BASE + BULK_UPDATE_PATH, batch.body)
    assert [len(b.updates) for b in bulk_updates(TYPE_ID, updates, max_entries=100)] == [100] * 6


def test_validator_refuses_251_entries(ctx, openapi_validator):
    updates = updates_for(ctx, 251)
    body = {**BulkUpdate(TYPE_ID, updates[:250]).body}
    body["entries"] = [u.body for u in updates]
    with pytest.raises(MISMATCH, match="entries"):
        openapi_validator("POST", BASE + BULK_UPDATE_PATH, body)


def test_batches_share_update_attributes(ctx):
    plain = updates_for(ctx, 3)
    own = {"attribute_values": {DOCS: {"value": {"literal": "x"}}}}
    extra = updates_for(ctx, 2, **own)
    mixed = [plain[0], extra[0], plain[1], extra[1], plain[2]]
    batches = bulk_updates(TYPE_ID, mixed)
    assert [b.updates for b in batches] == [
        (plain[0], plain[1], plain[2]),
        (extra[0], extra[1]),
    ]
    assert DOCS not in batches[0].update_attributes
    assert DOCS in batches[1].update_attributes
    with pytest.raises(ValueError, match="same attributes"):
        BulkUpdate(TYPE_ID, (plain[0], extra[0]))


@pytest.mark.parametrize("count", [0, 251])
def test_a_bulk_update_of_the_wrong_size_is_refused(ctx, count):
    updates = updates_for(ctx, 251)[:count]
    with pytest.raises(ValueError, match="1 to 250"):
        BulkUpdate(TYPE_ID, updates)
    with pytest.raises(ValueError, match="max_entries"):
        bulk_updates(TYPE_ID, updates, max_entries=count)


def test_split_halves_and_stops_at_one(ctx, openapi_validator):
    batch = BulkUpdate(TYPE_ID, updates_for(ctx, 5))
    left, right = batch.split()
    assert (len(left.updates), len(right.updates)) == (2, 3)
    assert left.updates + right.updates == batch.updates
    assert left.record_keys + right.record_keys == batch.record_keys
    openapi_validator("POST", BASE + BULK_UPDATE_PATH, left.body)
    single, _ = left.split()
    with pytest.raises(ValueError, match="cannot be split"):
        single.split()


@pytest.mark.parametrize(
    ("pointer", "index", "field"),
    [
        ("/entries/1/name", 1, "name"),
        (f"/entries/2/attribute_values/{TIER}/value/literal", 2, f"attribute_values.{TIER}"),
        ("/entries/0/aliases/3", 0, "aliases"),
        ("/entries/0", 0, None),
        ("/entries/3/name", None, None),
        ("/catalog_type_id", None, None),
        ("", None, None),
        ("/entries/x/name", None, None),
    ],
)
def test_locate_an_errors_pointer(ctx, pointer, index, field):
    batch = BulkUpdate(TYPE_ID, updates_for(ctx, 3))
    found = batch.locate(pointer)
    if index is None:
        assert found is None
    else:
        assert found == (batch.updates[index], field)


def test_locate_unescapes_the_pointer(ctx):
    batch = BulkUpdate(TYPE_ID, updates_for(ctx, 1))
    assert batch.locate("/entries/0/attribute_values/a~1b~0c") == (
        batch.updates[0],
        "attribute_values.a/b~c",
    )


@pytest.fixture(scope="module")
def many_updates(ctx):
    return updates_for(ctx, 250)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_bisect_isolates_any_bad_entries(many_updates, data):
    size = data.draw(st.integers(1, 250), label="size")
    batch = BulkUpdate(TYPE_ID, many_updates[:size])
    bad = data.draw(st.sets(st.sampled_from([u.entry_id for u in batch.updates])), label="bad")
    delivered: list[str] = []
    failed: list[str] = []
    calls = 0

    def send(batch: BulkUpdate) -> None:
        """The atomic endpoint: one bad entry rejects the call; bisect until isolated."""
        nonlocal calls
        calls += 1
        ids = [u.entry_id for u in batch.updates]
        if not bad & set(ids):
            delivered.extend(ids)
        elif len(ids) == 1:
            failed.extend(ids)
        else:
            for half in batch.split():
                send(half)

    send(batch)
    assert sorted(failed) == sorted(bad)
    assert sorted(delivered + failed) == sorted(u.entry_id for u in batch.updates)
    assert calls <= 1 + 2 * len(bad) * max(1, math.ceil(math.log2(size)))


# -- properties: a listing of what was sent plans nothing; applying a plan converges -----

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
records = st.fixed_dictionaries(
    {"name": texts.filter(bool)},
    optional={
        "aliases": st.lists(texts, max_size=3),
        "rank": st.integers(-5, 5),
        "tier": st.one_of(st.none(), texts),
        "owners": st.one_of(st.none(), st.lists(texts, max_size=3)),
        "score": st.one_of(st.none(), st.integers(-1000, 1000), st.decimals(-100, 100, places=2)),
        "paging": st.one_of(st.none(), st.booleans()),
    },
)


def respelled(entry: dict[str, t.Any]) -> dict[str, t.Any]:
    """incident.io may spell numbers and booleans its own way in a listing."""
    values = entry["attribute_values"]
    if SCORE in values:
        literal = values[SCORE]["value"]["literal"]
        values[SCORE]["value"]["literal"] = str(Decimal(literal).quantize(Decimal("0.000")))
    if PAGING in values:
        values[PAGING]["value"]["literal"] = values[PAGING]["value"]["literal"].upper()
    return entry


@settings(max_examples=60, deadline=None)
@given(stream=st.lists(records, max_size=12))
def test_listing_what_was_sent_plans_nothing(ctx, stream):
    rows = [make_row(ctx, {"id": n, **r}) for n, r in enumerate(stream)]
    entries = [respelled(listed(row.payload, entry_id(n))) for n, row in enumerate(rows)]
    result = plan(rows, entries)
    assert (result.creates, result.updates, result.verdict.removes) == ((), (), ())
    assert len(result.unchanged) == len(rows)


def applied(entries: list[dict[str, t.Any]], result: Decided) -> list[dict[str, t.Any]]:
    """The listing after incident.io carried out the plan, per the spec's rules."""
    by_id = {e["id"]: dict(e) for e in entries}
    for batch in result.bulk_updates():
        for item in batch.body["entries"]:
            entry = by_id[item["entry_id"]]
            entry["name"] = item["name"]
            if "aliases" in item:
                entry["aliases"] = item["aliases"]
            entry["rank"] = item.get("rank", 0)  # omitted: cleared
            shown = listed({**entry, "attribute_values": item["attribute_values"]}, "")
            values = dict(entry["attribute_values"])
            for attribute_id in batch.update_attributes:
                values.pop(attribute_id, None)
                if attribute_id in shown["attribute_values"]:
                    values[attribute_id] = shown["attribute_values"][attribute_id]
            entry["attribute_values"] = values
    for delete in result.verdict.removes:
        del by_id[delete["id"]]
    # Every create the strategy sent; a later one of an external id upserts the same entry.
    sent = {d.key: d.desired.payload for d in result.decisions if isinstance(d, Create)}
    created = [listed(payload, f"01NEW{n:05d}") for n, payload in enumerate(sent.values())]
    return [*by_id.values(), *created]


@settings(max_examples=60, deadline=None)
@given(before=st.lists(records, max_size=8), after=st.lists(records, min_size=1, max_size=8))
def test_a_plan_once_applied_leaves_nothing_to_do(ctx, before, after):
    old = [make_row(ctx, {"id": n, **r}) for n, r in enumerate(before)]
    entries = [listed(row.payload, entry_id(n)) for n, row in enumerate(old)]
    by_hand = {"catalog_type_id": TYPE_ID, "name": "By hand", "attribute_values": {DOCS: VALUE}}
    entries.append(listed(by_hand, "01MANUAL"))
    # Ids repeat, so some rows are duplicates.
    new = [make_row(ctx, {"id": n % 6, **r}) for n, r in enumerate(after)]
    result = plan(new, entries, max_delete_fraction=1.0)
    again = plan(new, applied(entries, result), max_delete_fraction=1.0)
    assert (again.creates, again.updates, again.verdict.removes) == ((), (), ())
    assert len(again.unchanged) == len({row.external_id for row in new})


# -- dry run ---------------------------------------------------------------------------


def test_summary_counts_and_bounds_ids(ctx, six_hundred):
    rows, entries = six_hundred
    stream = [*rows[:550], *(make_row(ctx, service(n)) for n in range(600, 630))]
    stream.append(make_row(ctx, service(1, name="Renamed")))
    text = plan(stream, entries).summary()
    lines = text.splitlines()
    assert lines[0] == (
        f"catalog type {TYPE_ID} (sync): 30 to create, 1 to update in 1 bulk call(s), "
        "549 unchanged, 50 to delete, 0 left alone; 600 entries listed"
    )
    assert lines[1] == "create (30): " + ", ".join(map(str, range(600, 620))) + " … and 10 more"
    assert lines[2] == "update (1): 1 (name)"
    assert lines[3].startswith(f"delete (50): 550 (entry {entry_id(550)}), ")
    assert lines[3].endswith("… and 30 more")
    assert lines[4].startswith("unchanged (549): 0, 2, 3,")
    assert lines[5] == "duplicate external ids, last row wins (1): 1"
    assert len(lines) == 6


def test_summary_shows_a_refusal(six_hundred):
    rows, entries = six_hundred
    text = plan(rows[:100], entries).summary(limit=3)
    assert "0 to delete" in text.splitlines()[0]
    assert "no deletion: sync would delete 500 of the 600 entries" in text
    merge = plan(rows[:598], entries, mode="merge").summary()
    assert merge.splitlines()[-1] == "left alone (2): 598, 599"


# -- purity ----------------------------------------------------------------------------


def test_planning_imports_nothing_of_the_target_but_the_payload_helpers():
    runtime = set()
    # The planning, not the strategies beside it (sync.py, type_setup.py) that do the HTTP.
    for name in ("listing", "compare", "bulk", "feature", "types", "entries"):
        path = Path(target_incidentio.catalog.__file__).parent / f"{name}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        runtime |= {
            node.module
            for node in tree.body  # top level only: TYPE_CHECKING imports sit inside an `if`
            if isinstance(node, ast.ImportFrom) and node.module
        }
    ours = {m for m in runtime if m.startswith("target_incidentio.")}
    assert ours - {m for m in ours if m.startswith("target_incidentio.catalog.")} == {
        "target_incidentio.payloads.common",
        # types.py: the SDK's metadata prefix.
        "target_incidentio.payloads.fields",
        "target_incidentio.core.urls",
        # feature.py: the reconcile engine (pure, imports nothing of the target).
        "target_incidentio.reconcile.engine",
        "target_incidentio.reconcile.guard",
        "target_incidentio.reconcile.text",
    }
