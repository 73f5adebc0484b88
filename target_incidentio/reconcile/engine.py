"""The reconcile engine: a listing indexed by key, each row decided against it as it comes.

A `Reconciler` holds one scope's listing (a catalog type's entries, the incidents a stream
may hold). Rows arrive one by one, as a stream delivers them: `decide` compares each with the
object that holds its key and says what to do, `Create`, `Change` (with the write the
feature builds), `Unchanged`, or `Conflict` when several objects hold it. The strategy sends
what it is told, reports back what incident.io confirmed (`confirmed`, `applied`), and at the
snapshot's end asks for the `Plan`: what the snapshot did not carry, and what of that the
guards let it remove. A feature that must see every row before it writes (overrides: delete
before create) feeds them all to `decide` first and acts on the plan; after writes that can
move other objects it lists again and reconciles anew, never acting on an old listing.

Pure and thread-safe where the strategy needs it (`confirmed` comes from delivery threads).
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass, field

from target_incidentio.reconcile.guard import Verdict, Words, check_fraction, guarded

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

C = t.TypeVar("C")  # an object as listed (a `CatalogEntryV3`, a normalised incident)
D = t.TypeVar("D")  # what a row wants (a create payload)
W = t.TypeVar("W")  # the write that makes an object what a row wants (a bulk entry, an edit)
R = t.TypeVar("R")  # a row: whatever the strategy settles records by
# The same, as a feature's methods take and give them.
C_contra = t.TypeVar("C_contra", contravariant=True)
D_contra = t.TypeVar("D_contra", contravariant=True)
W_co = t.TypeVar("W_co", covariant=True)


@dataclass(frozen=True)
class Difference:
    """One owned field that differs: its name, and for the plan its old and new values."""

    field: str
    old: str | None = None
    new: str | None = None

    def shown(self) -> str:
        """`severity: 'Critical' -> 'Minor'`, or just the field when no values are kept."""
        if self.old is None and self.new is None:
            return self.field
        return f"{self.field}: {_value(self.old)} -> {_value(self.new)}"


def _value(text: str | None) -> str:
    return "(none)" if text is None else repr(text)


class Feature(t.Protocol[C_contra, D_contra, W_co]):
    """How one kind of object reconciles; each method pure.

    Keys are strings; an object whose `key_of` is None is not the sync's (made by hand, or
    of another stream): never compared, changed or removed.
    """

    @property
    def words(self) -> Words:
        """How messages and the plan name the objects and their removal."""
        ...

    def key_of(self, item: C_contra) -> str | None:
        """The key a listed object holds, or None."""
        ...

    def differences(self, current: C_contra, desired: D_contra) -> tuple[Difference, ...]:
        """What differs between a listed object and a row, in the fields the row owns."""
        ...

    def change(
        self, current: C_contra, desired: D_contra, differences: tuple[Difference, ...]
    ) -> W_co:
        """The write that makes `current` what `desired` says (only what differs)."""
        ...

    def differs_from_sent(self, sent: D_contra, desired: D_contra) -> bool:
        """A later row of a key created in this snapshot: whether it says something else."""
        ...

    def removable(self, item: C_contra) -> bool:
        """Whether a keyed object the snapshot did not carry may be removed (not closed yet)."""
        ...

    def counted(self, item: C_contra) -> bool:
        """Whether a listed object is in the pool the removal fraction is of."""
        ...


# -- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create(t.Generic[D, R]):
    """No object holds the key: create one. `again`: a create of this snapshot said otherwise."""

    key: str
    desired: D
    rows: tuple[R, ...]
    again: bool = False


@dataclass(frozen=True)
class Change(t.Generic[C, D, W, R]):
    """One object holds the key and differs: write `write`."""

    key: str
    current: C
    desired: D
    differences: tuple[Difference, ...]
    write: W
    rows: tuple[R, ...]


@dataclass(frozen=True)
class Unchanged(t.Generic[C, R]):
    """The object already says what the row says (or a create of this snapshot did): no call."""

    key: str
    current: C | None
    rows: tuple[R, ...]


@dataclass(frozen=True)
class Conflict(t.Generic[C, R]):
    """Several objects hold the key: the rows fail, naming every one; nothing is written."""

    key: str
    holders: tuple[C, ...]
    rows: tuple[R, ...]


@dataclass(frozen=True)
class Plan(t.Generic[C, D, W, R]):
    """One scope's snapshot: each key's last decision, and what it did not carry."""

    words: Words
    creates: tuple[Create[D, R], ...]
    changes: tuple[Change[C, D, W, R], ...]
    unchanged: tuple[Unchanged[C, R], ...]
    conflicts: tuple[Conflict[C, R], ...]
    # What the guards let the snapshot remove, and why not, if they did not.
    verdict: Verdict[C]
    # Listed objects not carried and never removal candidates (unkeyed, closed already, no
    # removal mode); a candidate the guards refused is in neither list (`verdict.refusal`).
    kept: tuple[C, ...]
    # Keys given by more than one row, in first-seen order; the last row wins.
    repeated: tuple[str, ...]
    listed: int  # objects listed
    pool: int  # of them, those the removal fraction is of
    carried: int  # keys the snapshot carried


# -- the engine --------------------------------------------------------------------------------


@dataclass
class Reconciler(t.Generic[C, D, W, R]):
    """One scope from its listing to the end of its snapshot (see the module)."""

    feature: Feature[C, D, W]
    listed: Sequence[C]
    # Whether the snapshot removes what it did not carry (sync, close_missing_incidents).
    removes: bool
    max_fraction: float = 0.5
    # Several objects holding one key: `refuse` the key's rows, or take the `last` listed.
    several: t.Literal["refuse", "last"] = "refuse"
    # Keep every key's last decision (rows and all) for the plan: a dry run's, or a test's.
    # Off, the plan's decision lists are empty and the rows are not held in memory.
    record: bool = True
    _holders: dict[str, list[C]] = field(init=False, default_factory=dict)
    _current: dict[str, C] = field(init=False, default_factory=dict)
    _sent: dict[str, D] = field(init=False, default_factory=dict)
    _carried: dict[str, None] = field(init=False, default_factory=dict)
    _repeated: dict[str, None] = field(init=False, default_factory=dict)
    _decisions: dict[str, Create[D, R] | Change[C, D, W, R] | Unchanged[C, R] | Conflict[C, R]] = (
        field(init=False, default_factory=dict)
    )
    _delivered: set[str] = field(init=False, default_factory=set)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Index the listing by key, once."""
        check_fraction(self.feature.words.fraction_setting, self.max_fraction)
        self.listed = tuple(self.listed)
        for item in self.listed:
            key = self.feature.key_of(item)
            if key is not None:
                self._holders.setdefault(key, []).append(item)
        for key, holders in self._holders.items():
            if len(holders) == 1 or self.several == "last":
                self._current[key] = holders[-1]

    def holders(self, key: str) -> tuple[C, ...]:
        """Every listed object that holds `key`."""
        return tuple(self._holders.get(key, ()))

    def decide(
        self, key: str, desired: D, rows: Iterable[R] = ()
    ) -> Create[D, R] | Change[C, D, W, R] | Unchanged[C, R] | Conflict[C, R]:
        """What to do for a row of `key` (`rows`: it, and any of the key still waiting)."""
        rows = tuple(rows)
        if key in self._carried:
            self._repeated[key] = None
        self._carried[key] = None
        decision = self._decide(key, desired, rows)
        if isinstance(decision, Create):
            self._sent[key] = desired
        elif isinstance(decision, Unchanged) and decision.current is not None:
            # Equal to what incident.io holds. Equal to a create of this snapshot, it is
            # delivered when that create is confirmed, not before.
            self.confirmed(key)
        if self.record:
            self._decisions[key] = decision
        return decision

    def _decide(
        self, key: str, desired: D, rows: tuple[R, ...]
    ) -> Create[D, R] | Change[C, D, W, R] | Unchanged[C, R] | Conflict[C, R]:
        current = self._current.get(key)
        if current is None and key in self._holders:
            return Conflict(key, tuple(self._holders[key]), rows)
        if current is None:
            sent = self._sent.get(key)
            if sent is None:
                return Create(key, desired, rows)
            if not self.feature.differs_from_sent(sent, desired):
                return Unchanged(key, None, rows)
            return Create(key, desired, rows, again=True)
        differences = self.feature.differences(current, desired)
        if not differences:
            return Unchanged(key, current, rows)
        write = self.feature.change(current, desired, differences)
        return Change(key, current, desired, differences, write, rows)

    def confirmed(self, key: str) -> None:
        """incident.io confirmed a write of `key` (any thread)."""
        with self._lock:
            self._delivered.add(key)

    def current(self, key: str) -> C | None:
        """What the object of `key` holds: as listed, or as a confirmed change left it."""
        return self._current.get(key)

    def applied(self, key: str, current: C) -> None:
        """What the object of `key` holds once a confirmed change is applied (later rows)."""
        self._current[key] = current

    @property
    def carried(self) -> frozenset[str]:
        """Every key the snapshot carried so far."""
        return frozenset(self._carried)

    def plan(
        self,
        *,
        rejected_records: int = 0,
        assume_delivered: bool = False,
        removes: bool | None = None,
    ) -> Plan[C, D, W, R]:
        """The snapshot so far, and its removals behind the guards.

        `rejected_records`: records that failed before their key was known. `assume_delivered`:
        a dry run, where nothing is confirmed: judge as if every row were. `removes`: False
        withholds every removal this once (a snapshot the tap did not say was whole).
        """
        feature = self.feature
        removing = self.removes if removes is None else removes and self.removes
        absent = [
            item
            for item in self.listed
            if (key := feature.key_of(item)) is None or key not in self._carried
        ]
        candidates = [
            item
            for item in absent
            if removing and feature.key_of(item) is not None and feature.removable(item)
        ]
        with self._lock:
            delivered = bool(self._delivered) or (assume_delivered and bool(self._carried))
        pool = sum(1 for item in self.listed if feature.counted(item))
        verdict = guarded(
            candidates,
            feature.words,
            pool=pool,
            carried=len(self._carried),
            delivered_any=delivered,
            rejected_records=rejected_records,
            max_fraction=self.max_fraction,
        )
        # A candidate the guards refused is neither removed nor left alone: the refusal says it.
        candidate = {id(item) for item in candidates}
        kept = tuple(
            item
            for item in absent
            if id(item) not in candidate
            and (feature.key_of(item) is not None or feature.counted(item))
        )
        decisions = list(self._decisions.values())
        return Plan(
            words=feature.words,
            creates=tuple(d for d in decisions if isinstance(d, Create)),
            changes=tuple(d for d in decisions if isinstance(d, Change)),
            unchanged=tuple(d for d in decisions if isinstance(d, Unchanged)),
            conflicts=tuple(d for d in decisions if isinstance(d, Conflict)),
            verdict=verdict,
            kept=kept,
            repeated=tuple(self._repeated),
            listed=len(self.listed),
            pool=pool,
            carried=len(self._carried),
        )
