"""Documentation text generated from the declarations (docs/production.md's roles table).

Used by `scripts/sync_settings_docs.py` and the tests; the target never imports it.
"""

from __future__ import annotations

from target_incidentio.operations import OPERATIONS


def roles_table() -> str:
    """docs/production.md's "Credentials and ids" table, from the operation table."""
    header = (
        "| Operation | Credential | API key roles (`GET /v1/identity`) "
        "| Scopes (incident.io's spec) |"
    )
    rows = [header, "|---|---|---|---|"]
    for operation in OPERATIONS.values():
        if operation.credential == "alert_source_token":
            credential = "`alert_source_token`, the alert source's own token (not the API key)"
        else:
            credential = "`api_key`"
        if operation.roles is None:
            roles = "those of the endpoint called"
        else:
            roles = ", ".join(f"`{role}`" for role in operation.roles) or "none"
        rows.append(f"| `{operation.name}` | {credential} | {roles} | {operation.scopes} |")
    return "\n".join(rows)
