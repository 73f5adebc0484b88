"""The sandbox's memory: one part per resource, as ``handlers/`` is split, and the seed.

Kept apart from HTTP so the rules (idempotency, dedup, upsert) read plainly. Callers hold
``Store.lock`` around every mutation and read.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed import Seed
from incidentio_sandbox.store.alerts import AlertStore
from incidentio_sandbox.store.catalog import CatalogStore
from incidentio_sandbox.store.common import now_rfc3339
from incidentio_sandbox.store.configuration import OptionStore
from incidentio_sandbox.store.incidents import IncidentStore
from incidentio_sandbox.store.oncall import EscalationStore, OverrideStore

if TYPE_CHECKING:
    from collections.abc import Callable


class Store:
    """All sandbox state, wiped by ``clear``; ``seed`` is what the account is configured with."""

    def __init__(self, seed: Seed | None = None) -> None:
        self.lock = threading.RLock()
        self.seed = seed or Seed()
        self.seed_stamp = now_rfc3339()
        self.clear()

    def clear(self) -> None:
        """Forget everything, as if freshly started."""
        with self.lock:
            self.alerts = AlertStore()
            self.catalog = CatalogStore(self)
            self.options = OptionStore(self)
            self.incidents = IncidentStore(self, self.options, self.catalog)
            self.overrides = OverrideStore(self)
            self.escalations = EscalationStore(self, self.incidents, self.overrides)
            # Items of the simpler resources (`create_once`): collection -> idempotency key -> item.
            self.collections: dict[str, dict[str, dict[str, Any]]] = {}
            self.put_seeded(self.seed)

    def put_seeded(self, seed: Seed) -> None:
        """Put in the incidents ``seed`` says were made in the dashboard (an id held: kept)."""
        for made in seed.incidents:
            if not made.id or made.id not in self.incidents.incidents:
                self.incidents.put_dashboard(made)

    def create_once(
        self, collection: str, idempotency_key: str, build: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """An item of `collection` made by `build` once per idempotency key.

        A repeat answers the first item, as incident.io's creates that take an
        ``idempotency_key`` do. A resource with no more behaviour than that needs no store code
        of its own: its handler calls this, and ``GET /_sandbox/state`` lists the collection.
        """
        items = self.collections.setdefault(collection, {})
        if idempotency_key in items:
            return items[idempotency_key], False
        item = items[idempotency_key] = build()
        return item, True

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything, for ``GET /_sandbox/state``."""
        with self.lock:
            parts = (self.incidents, self.alerts, self.catalog, self.overrides, self.escalations)
            state: dict[str, Any] = {}
            counts: dict[str, int] = {}
            for part in parts:
                state.update(part.state())
                counts.update(part.counts())
            state.update(self.options.state())
            state.update({name: list(items.values()) for name, items in self.collections.items()})
            counts.update({name: len(items) for name, items in self.collections.items()})
            state["counts"] = counts
            return copy.deepcopy(state)


__all__ = ["Store"]
