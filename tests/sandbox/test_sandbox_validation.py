"""Every endpoint accepts what incident.io's spec allows and refuses the rest with a 422."""

from __future__ import annotations

import typing as t
import uuid

import pytest
from sandbox_helpers import AUTH, SOURCE, SOURCE_AUTH

if t.TYPE_CHECKING:
    import requests

    from incidentio_sandbox import Sandbox


def _incident(sandbox: Sandbox, http: requests.Session) -> str:
    reply = http.post(
        f"{sandbox.url}/v2/incidents",
        json={"idempotency_key": str(uuid.uuid4()), "visibility": "public", "name": "x"},
        headers=AUTH,
    )
    assert reply.status_code == 200, reply.text
    incident_id: str = reply.json()["incident"]["id"]
    return incident_id


CASES: list[tuple[str, str, dict[str, t.Any], dict[str, t.Any], str, str]] = [
    # (name, path, good body, bad body, field named in the 422, code)
    (
        "alert_event",
        f"/v2/alert_events/http/{SOURCE}",
        {"title": "Disk full", "status": "firing", "deduplication_key": "k", "metadata": {"a": 1}},
        {"title": "Disk full", "status": "exploded"},
        "status",
        "invalid_value",
    ),
    (
        "create_incident",
        "/v2/incidents",
        {"idempotency_key": "k1", "visibility": "private", "name": "DB down", "mode": "test"},
        {"idempotency_key": "k2", "name": "no visibility"},
        "visibility",
        "is_required",
    ),
    (
        "edit_incident",
        "/v2/incidents/{incident}/actions/edit",
        {"incident": {"name": "Renamed", "severity_id": "sev"}, "notify_incident_channel": False},
        {"incident": {"name": 42}, "notify_incident_channel": False},
        "incident.name",
        "invalid_value",
    ),
    (
        "incident_update",
        "/v2/incident_updates",
        {"incident_id": "{incident}", "idempotency_key": "u1", "message": "Fixing"},
        {"incident_id": "{incident}", "message": "no key"},
        "idempotency_key",
        "is_required",
    ),
    (
        "catalog_entry",
        "/v3/catalog_entries",
        {
            "catalog_type_id": "T1",
            "name": "payments",
            "external_id": "svc-1",
            "attribute_values": {"owner": {"value": {"literal": "team-a"}}},
        },
        {
            "catalog_type_id": "T1",
            "name": "payments",
            "attribute_values": {"owner": {"array_value": [{"literal": 7}]}},
        },
        "attribute_values.owner.array_value[0].literal",
        "invalid_value",
    ),
    (
        "catalog_bulk_update",
        "/v3/catalog_entries/actions/bulk_update",
        {"catalog_type_id": "T1", "entries": [{"entry_id": "{entry}", "attribute_values": {}}]},
        {"catalog_type_id": "T1", "entries": []},
        "entries",
        "invalid_value",
    ),
]
GOOD_STATUS = {
    "alert_event": 202,
    "create_incident": 200,
    "edit_incident": 200,
    "incident_update": 201,
    "catalog_entry": 201,
    "catalog_bulk_update": 204,
}


def _fill(value: t.Any, ids: dict[str, str]) -> t.Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_good_payload_accepted_bad_payload_refused(
    sandbox: Sandbox,
    http: requests.Session,
    case: tuple[str, str, dict[str, t.Any], dict[str, t.Any], str, str],
) -> None:
    name, path, good, bad, field, code = case
    entry = http.post(
        f"{sandbox.url}/v3/catalog_entries",
        json={"catalog_type_id": "T1", "name": "seed", "attribute_values": {}},
        headers=AUTH,
    ).json()["catalog_entry"]["id"]
    ids = {"incident": _incident(sandbox, http), "entry": entry}
    headers = SOURCE_AUTH if name == "alert_event" else AUTH

    ok = http.post(sandbox.url + _fill(path, ids), json=_fill(good, ids), headers=headers)
    assert ok.status_code == GOOD_STATUS[name], ok.text

    refused = http.post(sandbox.url + _fill(path, ids), json=_fill(bad, ids), headers=headers)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["type"] == "validation_error"
    assert body["status"] == 422
    uuid.UUID(body["request_id"])
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["source"]["field"]} for e in body["errors"]
    ]
    journal = sandbox.journal()
    assert journal[-1]["status"] == 422
    assert journal[-1]["applied"] is False
    assert journal[-2]["applied"] is True


def test_alert_event_spec_response_shape(sandbox: Sandbox, http: requests.Session) -> None:
    reply = http.post(
        f"{sandbox.url}/v2/alert_events/http/{SOURCE}",
        json={"title": "t", "status": "firing", "deduplication_key": "dk"},
        headers=SOURCE_AUTH,
    )
    assert reply.status_code == 202
    assert reply.json() == {
        "deduplication_key": "dk",
        "message": "Event accepted for processing",
        "status": "success",
    }


def test_non_json_body_is_a_400(sandbox: Sandbox, http: requests.Session) -> None:
    reply = http.post(f"{sandbox.url}/v2/incidents", data=b"{nope", headers=AUTH)
    assert reply.status_code == 400
    assert reply.json()["type"] == "invalid_request_error"
    assert sandbox.journal()[-1]["body_text"] == "{nope"


def test_missing_body_is_required(sandbox: Sandbox, http: requests.Session) -> None:
    reply = http.post(f"{sandbox.url}/v2/incidents", headers=AUTH)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["code"] == "is_required"
