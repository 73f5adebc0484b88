"""Names instead of ids: the incident.io lists a name is looked up in, and the pure match.

Each list is declared once in `LISTS` (its path, the key its answer holds it under, what its
items are called, the fields a name may match, whether it pages). A builder asks its
`BuildContext.directory` for a list and matches names against it here, so resolving is a pure
step given the lists, and most tests need no server. The run's `Directory` (`run/directory.py`)
reads each list at most once per run, when first needed, through delivery.

A value of 26 capital letters and digits is an incident.io id (a ULID): it is sent as it is,
without a look-up, so records that already carry ids cost no call.
"""

from __future__ import annotations

import difflib
import re
import typing as t
import unicodedata
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Item = t.Mapping[str, t.Any]
ID_PATTERN = re.compile(r"[0-9A-Z]{26}")
# Names shown when one is not found: the closest first, then the others, up to this many.
SHOWN_NAMES = 10


@dataclass(frozen=True)
class ListKind:
    """One list of an incident.io account that names are looked up in."""

    path: str
    # The key of the answer that holds the items (`severities`).
    items_key: str
    # What one item is called, in messages (`severity`).
    what: str
    # The item fields a name may match, in order of preference (`aliases` holds a list).
    names: tuple[str, ...] = ("name",)
    # The query parameter naming the list's owner (a field's options, a type's entries).
    owner: str | None = None
    # Whether the API pages it with `page_size` and `pagination_meta.after`.
    paged: bool = False
    page_size: int = 250


LISTS: Mapping[str, ListKind] = {
    "severities": ListKind("/v1/severities", "severities", "severity"),
    "incident_statuses": ListKind("/v1/incident_statuses", "incident_statuses", "incident status"),
    "incident_types": ListKind("/v1/incident_types", "incident_types", "incident type"),
    "incident_roles": ListKind("/v2/incident_roles", "incident_roles", "incident role"),
    "custom_fields": ListKind("/v2/custom_fields", "custom_fields", "custom field"),
    "custom_field_options": ListKind(
        "/v1/custom_field_options",
        "custom_field_options",
        "option",
        names=("value",),
        owner="custom_field_id",
        paged=True,
    ),
    "catalog_entries": ListKind(
        "/v3/catalog_entries",
        "catalog_entries",
        "catalog entry",
        names=("external_id", "name", "aliases"),
        owner="catalog_type_id",
        paged=True,
    ),
    # On-call: users by e-mail (any letter case) or id, escalation paths, and schedules, each
    # schedule carrying its rotations and their layers.
    "users": ListKind("/v2/users", "users", "user", names=("email",), paged=True),
    "escalation_paths": ListKind(
        "/v2/escalation_paths", "escalation_paths", "escalation path", paged=True, page_size=25
    ),
    "schedules": ListKind("/v2/schedules", "schedules", "schedule", paged=True),
}
ListName = t.Literal[
    "severities",
    "incident_statuses",
    "incident_types",
    "incident_roles",
    "custom_fields",
    "custom_field_options",
    "catalog_entries",
    "users",
    "escalation_paths",
    "schedules",
]


class LookupFailedError(RuntimeError):
    """A list could not be read (the reason names the call), or the context cannot read any."""


class UnresolvedError(ValueError):
    """A name that names nothing, or more than one thing (`matches`); the message says which."""

    def __init__(self, message: str, matches: Sequence[Item] = ()) -> None:
        super().__init__(message)
        self.matches = tuple(matches)


class ListDirectory(t.Protocol):
    """What a builder asks of the run's `Directory`: the lists it resolves names against."""

    def items(self, name: ListName, owner: str | None = None) -> Sequence[Item]:
        """Every item of the list (of `owner`'s list, for options and entries)."""
        ...

    def create_option(self, custom_field_id: str, value: str) -> Item:
        """A new option of a select field (`create_missing_options`), made once per run."""
        ...


class NoDirectory:
    """For a context that reads nothing (`--check`'s own look-ups, tests of id-only records)."""

    def items(self, name: ListName, owner: str | None = None) -> Sequence[Item]:  # noqa: ARG002
        """Always refuses."""
        msg = f"the {LISTS[name].items_key.replace('_', ' ')} cannot be read here"
        raise LookupFailedError(msg)

    def create_option(self, custom_field_id: str, value: str) -> Item:  # noqa: ARG002
        """Always refuses."""
        msg = f"no option can be created here (custom field {custom_field_id})"
        raise LookupFailedError(msg)


NO_DIRECTORY = NoDirectory()


def is_id(value: str) -> bool:
    """Whether `value` is an incident.io id, sent as it is."""
    return ID_PATTERN.fullmatch(value) is not None


def _texts(item: Item, fields: Sequence[str]) -> list[str]:
    texts: list[str] = []
    for field in fields:
        value = item.get(field)
        if isinstance(value, str) and value:
            texts.append(value)
        elif isinstance(value, list):
            texts.extend(v for v in value if isinstance(v, str) and v)
    return texts


def _label(item: Item, kind: ListKind) -> str:
    texts = _texts(item, kind.names)
    return texts[0] if texts else str(item.get("id", "?"))


def same_text(text: str) -> str:
    """The form names are compared in: Unicode NFC, surrounding whitespace ignored.

    'Café' typed in NFD and an option stored as 'Ops ' then match what looks the same.
    """
    return unicodedata.normalize("NFC", text).strip()


def folded(text: str) -> str:
    """`same_text`, any case."""
    return same_text(text).casefold()


def find(value: str, items: Sequence[Item], kind: ListKind) -> Item:
    """The one item `value` names: by id, else by a name field, exact case first, then any case.

    Names compare as `same_text` on both sides (NFC, surrounding whitespace ignored). Raises
    `UnresolvedError` naming the closest known names when nothing matches, and every id when
    more than one item does.
    """
    by_id = [item for item in items if item.get("id") == value]
    if len(by_id) == 1:
        return by_id[0]
    wanted = same_text(value)
    exact = [item for item in items if wanted in map(same_text, _texts(item, kind.names))]
    fold = folded(value)
    matches = exact or [
        item for item in items if fold in (folded(text) for text in _texts(item, kind.names))
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(f"{item.get('id')} ({_label(item, kind)!r})" for item in matches)
        msg = f"{kind.what} {value!r} names {len(matches)} of them: {ids}"
        raise UnresolvedError(msg, matches)
    article = "an" if kind.what[0] in "aeio" else "a"  # "a user"
    msg = f"{kind.what} {value!r} is not {article} {kind.what}; {known(value, items, kind)}"
    raise UnresolvedError(msg)


def known(value: str, items: Sequence[Item], kind: ListKind) -> str:
    """`known: Critical, Major, Minor`: the closest names to `value` first."""
    labels = list(dict.fromkeys(_label(item, kind) for item in items))
    if not labels:
        return f"there is no {kind.what} at all"
    by_fold = {folded(label): label for label in labels}
    fold = folded(value)
    # Similar spellings, then names that contain the value or that it contains ("Lead").
    similar = difflib.get_close_matches(fold, list(by_fold), n=3, cutoff=0.5)
    containing = [text for text in by_fold if fold and (fold in text or text in fold)]
    close = [by_fold[text] for text in dict.fromkeys([*similar, *containing])][:3]
    ordered = [*close, *(label for label in labels if label not in close)]
    more = len(ordered) - SHOWN_NAMES
    shown = ", ".join(ordered[:SHOWN_NAMES]) + (f" and {more} more" if more > 0 else "")
    return f"closest: {', '.join(close)}; known: {shown}" if close else f"known: {shown}"
