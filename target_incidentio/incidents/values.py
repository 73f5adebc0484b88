"""An owned field's value as incident.io lists it, so a record and its incident compare.

Both sides become a `Value`: what is compared (`key`: ids for severities, statuses, options
and catalog entries; texts; numbers in one spelling), what the plan shows (`text`: names),
and for a role the assignee's other identities (`aliases`), since a record names a user by
e-mail and the listing answers with id, e-mail and Slack id.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from target_incidentio.payloads.common import canonical_number

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_incidentio.incidents.owned import SyncField


@dataclass(frozen=True)
class Value:
    """One owned field's value, normalised; `()` is no value."""

    key: tuple[str, ...]
    text: str | None = None
    aliases: frozenset[str] = field(default_factory=frozenset)

    def same(self, listed: Value) -> bool:
        """Whether a record's value is what the listing holds (a user by any identity)."""
        return self.key == listed.key or (len(self.key) == 1 and self.key[0] in listed.aliases)


EMPTY = Value(())


def slot(owned: SyncField) -> str:
    """Where an owned field's value is kept: `severity`, `custom_field:01F…`, `role:01R…`."""
    return owned.kind if owned.id is None else f"{owned.kind}:{owned.id}"


def number(text: str) -> str:
    """A numeric custom field's value in one spelling ("1.50" and "1.5" are one number)."""
    return canonical_number(text) or text


def scalar(item: Mapping[str, t.Any]) -> tuple[str, str] | None:
    """A text, link or numeric value, in a listing or a payload alike, as (compared, shown)."""
    for key in ("value_text", "value_link"):
        if isinstance(item.get(key), str):
            return item[key], item[key]
    if isinstance(item.get("value_numeric"), str):
        return number(item["value_numeric"]), item["value_numeric"]
    return None


def values(pairs: Iterable[tuple[str, str]], owned: SyncField) -> Value:
    """A custom field's values, `(compared, shown)` each: a set for select fields."""
    items = list(pairs)
    if owned.select:
        items = sorted(dict(items).items())
    if not items:
        return EMPTY
    return Value(tuple(k for k, _ in items), ", ".join(shown for _, shown in items))


def named(ident: object, names: Mapping[str, str], name: object = None) -> Value:
    """A severity or status by id, shown by its name."""
    if not isinstance(ident, str) or not ident:
        return EMPTY
    return Value((ident,), str(name) if isinstance(name, str) and name else names.get(ident, ident))


def user(assignee: object) -> Value:
    """A role's assignee, by each identity it has (`email:` folded, `id:`, `slack:`)."""
    if not isinstance(assignee, dict):
        return EMPTY
    identities = [
        f"{prefix}{value.casefold() if prefix == 'email:' else value}"
        for prefix, value in (
            ("id:", assignee.get("id")),
            ("email:", assignee.get("email")),
            ("slack:", assignee.get("slack_user_id")),
        )
        if isinstance(value, str) and value
    ]
    if not identities:
        return EMPTY
    shown = assignee.get("email") or assignee.get("name") or assignee.get("id")
    return Value((identities[0],), str(shown), frozenset(identities))
