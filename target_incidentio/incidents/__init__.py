"""Incident sync (`incident_mode: sync`): one incident per source key, kept in step.

The pure half, on the reconcile engine (`reconcile/`): `keys.py` (a record's key, the
create's idempotency key, the key's conflicts), `owned.py` (which fields the pipeline owns,
resolved from `incident_sync_fields`), `listing.py` (`GET /v2/incidents` pages into
normalised incidents), `compare.py` (a record's create body against its incident: the edit
that carries only what differs), `feature.py` (the engine's hooks, the close plan, the dry-run
text and the response record's fields). The strategy that runs it does the HTTP.
"""
