"""The one reconcile engine: list once, index by key, compare, plan, guard what is removed.

Catalog sync, incident sync and schedule-override sync are one shape. A feature says how its
objects are keyed, compared and written (`engine.Feature`); the engine (`engine.Reconciler`)
decides each row against the listing as it comes (create, change, unchanged, or refused when
several objects hold its key), keeps what the snapshot carried, and at the snapshot's end
says what may be removed (deleted, closed) behind the guards of `guard.py`. The dry-run
text is `text.py`'s. Everything here is pure and imports nothing else of the target: the
strategy that runs a feature does the HTTP. See /docs/architecture.md and the design note.
"""
