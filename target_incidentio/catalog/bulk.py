"""Updates as `POST /v3/catalog_entries/actions/bulk_update` calls, and their bisection."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from target_incidentio.catalog.compare import Update
    from target_incidentio.catalog.listing import JSONObject

BULK_UPDATE_PATH = "/v3/catalog_entries/actions/bulk_update"
# The most one `bulk_update` call accepts.
BULK_MAX_ENTRIES = 250


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
