"""The catalog feature: its planning, the sync that runs it, the type setup and the builder.

Planning is pure (`listing`, `compare`, `plan`, `bulk`, `types`): read a catalog type's
listing, compare each row with its entry, decide what may be deleted, split a bulk update
incident.io refused. `sync.py` (with `bisection.py`) and `type_setup.py` do the HTTP through
their `Outlet`; `entries.py` builds one `catalog_entry` request per record.
"""
