"""The `escalation` operation: page an escalation path or users from a row, once.

`POST /v2/escalations` makes one escalation per `idempotency_key` and answers the existing
one for a key it has seen, so the key is derived from the stream and the record's key (or
taken from the record): a rerun pages nobody twice. The endpoint allows 60 calls a minute
per key, so its calls also draw on a window of 60 in any 60 s (`ESCALATIONS_PER_MINUTE`),
paced from the first call rather than learnt from 429s.
"""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.base import RateScope
from target_incidentio.payloads.common import (
    Reader,
    Record,
    identifier,
    read_fields,
    require,
    text,
)
from target_incidentio.payloads.incident_fields import resolve_name

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_incidentio.payloads.base import ApiRequest, BuildContext, Numbered

ESCALATIONS_PATH = "/v2/escalations"
# "This endpoint is rate-limited to 60 requests per minute" (the spec's POST /v2/escalations).
ESCALATIONS_PER_MINUTE = 60.0
# EscalationsCreatePayloadV2's own fields; the path and users come by name or id.
ESCALATION_FIELDS: dict[str, Reader] = {
    "title": text,
    "description": text,
    "incident_id": identifier,
    "idempotency_key": identifier,
}
ESCALATION_NAME_FIELDS = ("escalation_path", "users")


def _users(record: Record) -> list[str] | None:
    """`users`: a list of e-mails or ids, or one of them."""
    value = record.get("users")
    if value is None or value == []:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise record.wrong_type("users", value, "a list of e-mails or user ids", "[email]")


def escalation_scopes(ctx: BuildContext) -> tuple[RateScope, ...]:
    """The key's bucket, the stream's cap, and the endpoint's own 60 in any 60 s for the key."""
    key = ctx.settings.api_key
    own = RateScope(
        f"escalations:{key.fingerprint if key else 'none'}", ESCALATIONS_PER_MINUTE, "window"
    )
    return (*ctx.api_key_scopes(), own)


def build_escalation(records: Sequence[Numbered], ctx: BuildContext) -> ApiRequest:
    """Page an escalation path or users; a rerun of the same record pages nobody again."""
    record = Record.single(records, ctx, "escalation")
    body = read_fields(record, ESCALATION_FIELDS)
    require(record, body, "title", "'Data quality: ' + check_name")
    path = identifier(record, "escalation_path")
    users = _users(record)
    if (path is None) == (users is None):
        given = "both" if path is not None else "neither"
        raise record.error(
            "escalation_path" if path is not None else None,
            f"an escalation pages either an escalation path or users, and the record has {given} "
            "of 'escalation_path' and 'users'.",
            "give exactly one: 'escalation_path' (a name or id) or 'users' (e-mails or ids); "
            "a stream map can null the other.",
        )
    if path is not None:
        body["escalation_path_id"] = resolve_name(
            record, "escalation_path", path, "escalation_paths"
        )
    else:
        body["user_ids"] = [resolve_name(record, "users", user, "users") for user in users or ()]
    body["idempotency_key"] = body.get("idempotency_key") or record.derived_key("escalation")
    return record.request(
        path=ESCALATIONS_PATH,
        body=body,
        order_key=f"escalation:{body['idempotency_key']}",
        credential=ctx.settings.api_key,
        rate_scopes=escalation_scopes(ctx),
    )
