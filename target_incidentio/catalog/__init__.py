"""Catalog sync's planning, which `strategies/catalog.py` runs.

Read a catalog type's listing, compare each row with its entry, decide what may be deleted,
and split a bulk update incident.io refused. The payload builders stay pure: record in,
request out.
"""
