"""The reconcile engine: decisions against a listing, the removal guards, the plan's text.

A toy feature (objects `{"id", "key", "name", "open"}`) drives the engine; catalog sync's
feature (`catalog/feature.py`) shows that the engine's guards say what `catalog/plan.py`'s
did before the move, word for word; an override-like feature (key = every field, no
change, delete before create, list again after writes) shows the third user fits.
"""

from __future__ import annotations

import typing as t

import pytest

from target_incidentio.catalog.compare import Row
from target_incidentio.catalog.feature import reconciler as catalog_reconciler
from target_incidentio.reconcile.engine import (
    Change,
    Conflict,
    Create,
    Difference,
    Reconciler,
    Unchanged,
)
from target_incidentio.reconcile.guard import Words, check_fraction
from target_incidentio.reconcile.text import shown, summary

Obj = dict[str, t.Any]
WORDS = Words(
    "thing", "things", "things of scope S", "key", "remove", "removed", "removal", "change",
    "sync", "max_remove_fraction",
)  # fmt: skip


class Toy:
    """Objects keyed by `key`; the row owns `name`; closed (`open: False`) ones stay."""

    words = WORDS

    def key_of(self, item: Obj) -> str | None:
        return item.get("key")

    def differences(self, current: Obj, desired: Obj) -> tuple[Difference, ...]:
        if current["name"] == desired["name"]:
            return ()
        return (Difference("name", current["name"], desired["name"]),)

    def change(self, current: Obj, desired: Obj, differences: tuple[Difference, ...]) -> Obj:
        return {"id": current["id"], **{d.field: desired[d.field] for d in differences}}

    def differs_from_sent(self, sent: Obj, desired: Obj) -> bool:
        return bool(sent["name"] != desired["name"])

    def removable(self, item: Obj) -> bool:
        return bool(item.get("open", True))

    def counted(self, item: Obj) -> bool:
        return item.get("key") is not None and self.removable(item)


def obj(ident: str, key: str | None, name: str = "n", *, is_open: bool = True) -> Obj:
    return {"id": ident, "key": key, "name": name, "open": is_open}


def engine(listed: list[Obj], **options: t.Any) -> Reconciler[Obj, Obj, Obj, str]:
    return Reconciler(Toy(), listed, removes=options.pop("removes", True), **options)


def test_each_row_is_decided_against_the_object_holding_its_key():
    sync = engine([obj("1", "a", "same"), obj("2", "b", "old"), obj("3", "c"), obj("4", "c")])
    assert sync.decide("new", {"name": "x"}, ["r1"]) == Create("new", {"name": "x"}, ("r1",))
    same = sync.decide("a", {"name": "same"}, ["r2"])
    assert same == Unchanged("a", obj("1", "a", "same"), ("r2",))
    changed = sync.decide("b", {"name": "new"}, ["r3"])
    assert isinstance(changed, Change)
    assert changed.write == {"id": "2", "name": "new"}  # only what differs
    assert [d.shown() for d in changed.differences] == ["name: 'old' -> 'new'"]
    refused = sync.decide("c", {"name": "n"}, ["r4"])
    assert refused == Conflict("c", (obj("3", "c"), obj("4", "c")), ("r4",))
    assert sync.holders("c") == (obj("3", "c"), obj("4", "c"))


def test_several_holders_may_resolve_to_the_last_listed():
    # Catalog's index today: a dict by external id, the last entry listed wins.
    sync = engine([obj("3", "c", "x"), obj("4", "c", "y")], several="last")
    decided = sync.decide("c", {"name": "y"})
    assert decided == Unchanged("c", obj("4", "c", "y"), ())


def test_a_key_created_in_this_snapshot_is_compared_with_what_was_sent():
    sync = engine([obj("1", "gone")])
    sync.decide("k", {"name": "one"}, ["r1"])
    assert sync.decide("k", {"name": "one"}, ["r2"]) == Unchanged("k", None, ("r2",))
    # Equal to an unconfirmed create is not delivered yet: nothing is removed on its strength.
    assert sync.plan().verdict.removes == ()
    again = sync.decide("k", {"name": "two"}, ["r3"])
    assert again == Create("k", {"name": "two"}, ("r3",), again=True)
    assert sync.plan().repeated == ("k",)


def test_a_confirmed_change_is_what_later_rows_meet():
    sync = engine([obj("1", "a", "old")])
    first = sync.decide("a", {"name": "new"})
    assert isinstance(first, Change)
    sync.applied("a", {**first.current, "name": "new"})
    assert isinstance(sync.decide("a", {"name": "new"}), Unchanged)


def test_removals_are_the_open_keyed_objects_not_carried():
    listed = [
        obj("1", "a"),
        obj("2", "b"),  # not carried: removed
        obj("3", "c", is_open=False),  # not carried, closed already: left alone
        obj("4", None),  # nobody's: never touched, not even named
        obj("5", "d"),
        obj("6", "e"),
    ]
    sync = engine(listed)
    for key in ("a", "d", "e"):
        sync.decide(key, {"name": "n"})
    plan = sync.plan()
    assert [item["id"] for item in plan.verdict.removes] == ["2"]
    assert [item["id"] for item in plan.kept] == ["3"]
    assert (plan.listed, plan.pool, plan.carried) == (6, 4, 3)
    assert plan.verdict.refusal is None


def test_without_removal_nothing_is_removed_and_what_was_not_carried_is_left_alone():
    sync = engine([obj("1", "a"), obj("2", "b")], removes=False)
    sync.decide("a", {"name": "n"})
    plan = sync.plan()
    assert plan.verdict.removes == ()
    assert [item["id"] for item in plan.kept] == ["2"]


def test_the_guards_withhold_or_refuse():
    listed = [obj(str(i), f"k{i}") for i in range(10)]
    # Nothing delivered: a failed or empty stream removes nothing.
    quiet = engine(listed)
    created = quiet.decide("new", {"name": "n"})
    assert isinstance(created, Create)
    verdict = quiet.plan().verdict
    assert verdict.removes == ()
    assert verdict.refusal is not None
    assert "delivered no records" in verdict.refusal
    assert not verdict.error
    # Confirmed, but removing 9 of 10 is beyond 0.5: refused, and an error.
    quiet.confirmed("new")
    too_many = quiet.plan().verdict
    assert too_many.removes == ()
    assert too_many.error
    assert too_many.refusal is not None
    assert "would remove 10 of the 10 things of scope S" in too_many.refusal
    assert "`max_remove_fraction` (0.5)" in too_many.refusal
    # A rejected record: its key is unknown, so nothing is removed.
    within = engine(listed)
    for i in range(6):
        within.decide(f"k{i}", {"name": "n"})
    rejected = within.plan(rejected_records=1).verdict
    assert rejected.removes == ()
    assert rejected.refusal is not None
    assert "1 record(s) of the stream were rejected before their key was known" in (
        rejected.refusal
    )
    assert [item["id"] for item in within.plan().verdict.removes] == ["6", "7", "8", "9"]


def test_a_dry_run_judges_as_if_every_row_were_delivered():
    sync = engine([obj("1", "a"), obj("2", "b"), obj("3", "c")])
    sync.decide("a", {"name": "changed"})
    sync.decide("b", {"name": "changed"})
    assert sync.plan().verdict.removes == ()  # nothing confirmed yet
    assert [i["id"] for i in sync.plan(assume_delivered=True).verdict.removes] == ["3"]


def test_a_fraction_outside_zero_to_one_is_refused():
    assert check_fraction("x", 0) == 0
    with pytest.raises(ValueError, match="max_remove_fraction must be between 0 and 1"):
        engine([], max_fraction=1.5)


def test_unrecorded_decisions_keep_no_rows():
    sync = engine([obj("1", "a")], record=False)
    sync.decide("a", {"name": "n"}, ["a big record"])
    plan = sync.plan()
    assert (plan.unchanged, plan.creates, plan.carried) == ((), (), 1)


def test_the_plan_text_names_each_kind():
    sync = engine(
        [obj("1", "a", "old"), obj("2", "b"), obj("3", "c"), obj("4", "c"), obj("5", "e")]
    )
    sync.decide("new", {"name": "n"})
    sync.decide("a", {"name": "new"})
    sync.decide("c", {"name": "n"})
    sync.decide("e", {"name": "n"})
    sync.decide("e", {"name": "n"})
    text = summary(
        sync.plan(assume_delivered=True),
        headline="scope S: the counts",
        label=lambda item: f"{item['key']} (thing {item['id']})",
    )
    assert text.splitlines() == [
        "scope S: the counts",
        "create (1): new",
        "change (1): a (name: 'old' -> 'new')",
        "remove (1): b (thing 2)",
        "unchanged (1): e",
        "refused, several things hold the key (1): c (c (thing 3), c (thing 4))",
        "duplicate keys, last row wins (1): e",
    ]
    assert shown([str(i) for i in range(25)], 3) == "0, 1, 2 … and 22 more"


# -- catalog sync on the engine: the guards say what catalog/plan.py said ----------------------

# Today's texts, word for word, as catalog/plan.py's `deletions` gave them before the move.
TOO_MANY = (
    "sync would delete 6 of the 11 entries of catalog type 01T (55%; the stream carried 4 "
    "external ids), more than `catalog_max_delete_fraction` (0.5) allows; nothing was deleted. "
    "Fix: check the stream sent every row, or raise `catalog_max_delete_fraction` for this stream."
)
NONE_DELIVERED = (
    "the stream delivered no records; the 3 entries of catalog type 01T the stream did not "
    "carry were kept."
)
REJECTED = (
    "2 record(s) of the stream were rejected before their external id was known, and any entry "
    "could be theirs; the 3 entries of catalog type 01T the stream did not carry were kept. Fix "
    "the rejected records to let sync delete."
)


def entry(ident: str, external_id: str | None, name: str = "n") -> Obj:
    return {"id": ident, "external_id": external_id, "name": name, "attribute_values": {}}


def row(external_id: str, name: str = "n") -> Row:
    payload = {"catalog_type_id": "01T", "external_id": external_id, "name": name}
    return Row(payload, external_id, {"id": external_id})


@pytest.mark.parametrize(
    ("carried", "delivered", "rejected", "refusal", "error", "removed"),
    [
        (10, 10, 0, None, False, []),  # nothing to delete
        (7, 7, 0, None, False, ["07", "08", "09"]),  # 3 of 11: allowed
        (4, 4, 0, TOO_MANY, True, []),  # 6 of 11: refused, an error
        (7, 0, 0, NONE_DELIVERED, False, []),  # nothing delivered: withheld
        (7, 7, 2, REJECTED, False, []),  # rejected records: withheld
    ],
)
def test_catalog_guards_on_the_engine_say_what_catalog_plan_said(
    carried, delivered, rejected, refusal, error, removed
):
    listed = [entry(f"0{i}", f"ext{i}", "n") for i in range(10)] + [entry("0X", None)]
    keys = [f"ext{i}" for i in range(carried)]
    sync = catalog_reconciler("01T", listed, mode="sync", max_delete_fraction=0.5)
    for key in keys:
        decided = sync.decide(key, row(key, "changed"))
        assert isinstance(decided, Change)
    for key in keys[:delivered]:
        sync.confirmed(key)
    verdict = sync.plan(rejected_records=rejected).verdict
    assert verdict.refusal == refusal
    assert verdict.error == error
    assert [e["id"] for e in verdict.removes] == removed


def test_catalog_comparison_on_the_engine():
    listed = [entry("01", "a", "same"), entry("02", "b", "old")]
    sync = catalog_reconciler("01T", listed, mode="merge")
    assert isinstance(sync.decide("a", row("a", "same")), Unchanged)
    changed = sync.decide("b", row("b", "new"))
    assert isinstance(changed, Change)
    assert [d.field for d in changed.differences] == ["name"]
    assert changed.write.body["entry_id"] == "02"
    sync.decide("c", row("c", "x"))
    assert isinstance(sync.decide("c", row("c", "x")), Unchanged)
    assert isinstance(sync.decide("c", row("c", "y")), Create)


def test_a_row_equal_to_a_create_counts_delivered_only_once_that_create_is_confirmed():
    # The deliberate change of the move: catalog counted such a row delivered at once, so a
    # stream whose only create failed passed the nothing-delivered guard and deleted.
    listed = [entry("01", "gone"), entry("02", "kept"), entry("03", "kept2")]
    sync = catalog_reconciler("01T", listed, mode="sync", max_delete_fraction=1)
    for key in ("kept", "kept2"):
        assert isinstance(sync.decide(key, row(key, "changed")), Change)
    assert isinstance(sync.decide("new", row("new")), Create)
    assert sync.decide("new", row("new")) == Unchanged("new", None, ())
    verdict = sync.plan().verdict
    assert verdict.removes == ()
    assert verdict.refusal == (
        "the stream delivered no records; the 1 entries of catalog type 01T the stream did not "
        "carry were kept."
    )
    sync.confirmed("new")  # the create's answer came
    assert [e["id"] for e in sync.plan().verdict.removes] == ["01"]


# -- a third user: schedule overrides (issue 29) ---------------------------------------------

OVERRIDE_WORDS = Words(
    "override", "overrides", "future overrides of the scope's schedules", "override",
    "delete", "deleted", "deletion", "change", "sync", "override_max_delete_fraction",
)  # fmt: skip


def override_key(item: Obj) -> str:
    return f"{item['layer']}|{item['user']}|{item['start']}|{item['end']}"


class Overrides:
    """Keyed by every field: a changed row is a delete plus a create, never a change."""

    words = OVERRIDE_WORDS

    def key_of(self, item: Obj) -> str | None:
        return override_key(item) if item["end"] > NOW else None  # the past is never touched

    def differences(self, current: Obj, desired: Obj) -> tuple[Difference, ...]:
        return ()

    def change(self, current: Obj, desired: Obj, differences: tuple[Difference, ...]) -> Obj:
        raise AssertionError

    def differs_from_sent(self, sent: Obj, desired: Obj) -> bool:
        return False

    def removable(self, item: Obj) -> bool:
        return True

    def counted(self, item: Obj) -> bool:
        return self.key_of(item) is not None


NOW = 100


class Layer:
    """incident.io's rule: a new override over a neighbour deletes it and brings its leftover
    time back as new overrides with new ids."""

    def __init__(self, overrides: list[Obj]) -> None:
        self.overrides = list(overrides)
        self.made = 0

    def delete(self, ident: str) -> None:
        self.overrides = [o for o in self.overrides if o["id"] != ident]

    def create(self, wanted: Obj) -> None:
        kept = []
        for other in self.overrides:
            if other["end"] <= wanted["start"] or other["start"] >= wanted["end"]:
                kept.append(other)
                continue
            for start, end in ((other["start"], wanted["start"]), (wanted["end"], other["end"])):
                if start < end:
                    self.made += 1
                    kept.append({**other, "id": f"left{self.made}", "start": start, "end": end})
        self.made += 1
        self.overrides = [*kept, {**wanted, "id": f"new{self.made}"}]


def sync_overrides(layer: Layer, rows: list[Obj], rounds: int = 3) -> int:
    """Plan over a fresh listing, delete before create, list again; the rounds it took."""
    for done in range(1, rounds + 1):
        sync = Reconciler(Overrides(), list(layer.overrides), removes=True, max_fraction=1)
        decided = [sync.decide(override_key(r), r) for r in rows]
        creates = [d for d in decided if isinstance(d, Create)]
        for d in decided:
            sync.confirmed(d.key)
        removes = sync.plan().verdict.removes
        if not creates and not removes:
            return done
        for item in removes:
            layer.delete(item["id"])
        for create in creates:
            layer.create(create.desired)
    return rounds + 1


def test_overrides_fit_delete_before_create_and_listing_again():
    def span(user: str, start: int, end: int, ident: str = "") -> Obj:
        return {"id": ident or user, "layer": "L", "user": user, "start": start, "end": end}

    past = span("old", 10, 50, "past")
    layer = Layer([past, span("ann", 120, 200, "o1"), span("bob", 300, 400, "o2")])
    # Ann's cover moved to 150-250 (a delete plus a create); Bob's shrank to make room for
    # Cy's: created first, Bob's new window would split the old one and leave a remnant.
    rows = [span("ann", 150, 250), span("bob", 300, 350), span("cy", 350, 450)]
    rounds = sync_overrides(layer, rows)
    wanted = sorted(override_key(r) for r in rows)
    assert sorted(override_key(o) for o in layer.overrides if o["end"] > NOW) == wanted
    assert past in layer.overrides  # the past is never touched
    # Deletes went first, so the creates split nothing; listing again found nothing to do.
    assert rounds == 2
    assert layer.made == 3  # three creates, no remnant


# -- properties over any listing and any rows ------------------------------------------------

from hypothesis import given  # noqa: E402 - the properties close the file
from hypothesis import strategies as st  # noqa: E402

KEYS = st.sampled_from(["a", "b", "c", "d", "e", None])
LISTED = st.lists(st.tuples(KEYS, st.sampled_from(["x", "y"]), st.booleans()), max_size=12).map(
    lambda items: [obj(str(i), k, n, is_open=o) for i, (k, n, o) in enumerate(items)]
)
ROWS = st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from(["x", "y"])), max_size=10)


@given(LISTED, ROWS, st.sampled_from([0, 0.3, 0.5, 1]), st.booleans())
def test_what_a_snapshot_carried_is_never_removed_and_the_guard_always_holds(
    listed, rows, fraction, confirm
):
    sync = engine(listed, max_fraction=fraction)
    equal_to_listed = False
    for key, name in rows:
        decided = sync.decide(key, {"name": name}, [key])
        equal_to_listed |= isinstance(decided, Unchanged) and decided.current is not None
        holders = sync.holders(key)
        if len(holders) > 1:
            assert isinstance(decided, Conflict)
        elif isinstance(decided, Change):
            assert decided.write["name"] == name
            assert decided.current["name"] != name
        elif isinstance(decided, Create):
            assert not holders
        if confirm:
            sync.confirmed(key)
    plan = sync.plan()
    removed = plan.verdict.removes
    carried = {key for key, _ in rows}
    assert all(item["key"] not in carried and item["key"] is not None for item in removed)
    assert all(item["open"] for item in removed)
    assert len(removed) <= fraction * plan.pool
    if removed:  # only once something is delivered: confirmed, or already so in the listing
        assert confirm or equal_to_listed
        assert plan.verdict.refusal is None
    everyone = {id(item) for item in [*removed, *plan.kept]}
    assert len(everyone) == len(removed) + len(plan.kept)  # none both removed and kept
