"""incident.io's rules as the sandbox keeps them: auth, idempotency, dedup, upsert, journal."""

from __future__ import annotations

import concurrent.futures
import typing as t

import pytest
import requests
from sandbox_helpers import API_KEY, AUTH, SOURCE, SOURCE_AUTH, SOURCE_TOKEN, check_response

if t.TYPE_CHECKING:
    from incidentio_sandbox import Sandbox


def _create(
    sandbox: Sandbox, http: requests.Session, key: str, **extra: t.Any
) -> requests.Response:
    body = {"idempotency_key": key, "visibility": "public", "name": f"incident {key}", **extra}
    return http.post(f"{sandbox.url}/v2/incidents", json=body, headers=AUTH)


def test_missing_and_wrong_api_key_are_401(sandbox: Sandbox, http: requests.Session) -> None:
    body = {"idempotency_key": "k", "visibility": "public"}
    missing = http.post(f"{sandbox.url}/v2/incidents", json=body)
    wrong = http.post(
        f"{sandbox.url}/v2/incidents", json=body, headers={"Authorization": "Bearer nope"}
    )
    for reply, code in (
        (missing, "missing_authorization_material"),
        (wrong, "invalid_authorization_material"),
    ):
        assert reply.status_code == 401
        assert reply.json()["type"] == "authentication_error"
        assert reply.json()["errors"][0]["code"] == code
    assert sandbox.state()["counts"]["incidents"] == 0


def test_alert_source_auth(sandbox: Sandbox, http: requests.Session) -> None:
    event = {"title": "t", "status": "firing"}
    unknown = http.post(f"{sandbox.url}/v2/alert_events/http/NOPE", json=event, headers=SOURCE_AUTH)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "not_found"
    assert unknown.json()["errors"][0]["source"]["field"] == "alert_source_config_id"

    wrong = http.post(
        f"{sandbox.url}/v2/alert_events/http/{SOURCE}",
        json=event,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert wrong.status_code == 401
    by_query = http.post(
        f"{sandbox.url}/v2/alert_events/http/{SOURCE}", params={"token": SOURCE_TOKEN}, json=event
    )
    assert by_query.status_code == 202
    assert sandbox.journal()[-1]["query"] == {"token": "***"}


def test_idempotency_key_returns_the_same_incident(
    sandbox: Sandbox, http: requests.Session
) -> None:
    first = _create(sandbox, http, "same")
    second = _create(sandbox, http, "same", name="a retry with another name")
    assert first.status_code == second.status_code == 200
    incident = first.json()["incident"]
    assert second.json()["incident"]["id"] == incident["id"]
    assert incident["reference"] == "INC-1"
    assert incident["name"] == "incident same"
    assert incident["visibility"] == "public"
    assert len(incident["id"]) == 26
    assert incident["creator"]["api_key"]["name"]
    for field in ("created_at", "updated_at", "incident_status", "mode", "slack_channel_id"):
        assert field in incident
    assert sandbox.state()["counts"]["incidents"] == 1
    assert _create(sandbox, http, "other").json()["incident"]["reference"] == "INC-2"


@pytest.mark.slow
def test_concurrent_creates_with_one_key_make_one_incident(sandbox: Sandbox) -> None:
    def create(_: int) -> str:
        with requests.Session() as http:
            reply = _create(sandbox, http, "race")
            return str(reply.json()["incident"]["id"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(16)))
    assert len(ids) == 1
    assert sandbox.state()["counts"]["incidents"] == 1


def test_edit_changes_only_given_fields(sandbox: Sandbox, http: requests.Session) -> None:
    incident = _create(sandbox, http, "e", summary="before").json()["incident"]
    edit = {
        "incident": {"name": "renamed", "severity_id": "sev-1"},
        "notify_incident_channel": True,
    }
    reply = http.post(
        f"{sandbox.url}/v2/incidents/{incident['id']}/actions/edit", json=edit, headers=AUTH
    )
    assert reply.status_code == 200
    edited = reply.json()["incident"]
    assert edited["id"] == incident["id"]
    assert edited["name"] == "renamed"
    assert edited["summary"] == "before"
    assert edited["severity"]["id"] == "sev-1"

    missing = http.post(f"{sandbox.url}/v2/incidents/NOPE/actions/edit", json=edit, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["source"]["field"] == "id"
    shown = http.get(f"{sandbox.url}/v2/incidents/{incident['id']}", headers=AUTH)
    assert shown.json()["incident"]["name"] == "renamed"


def test_incident_updates(sandbox: Sandbox, http: requests.Session) -> None:
    incident = _create(sandbox, http, "u").json()["incident"]
    body = {
        "incident_id": incident["id"],
        "idempotency_key": "upd",
        "message": "Rolling back",
        "to_incident_status_id": "fixing",
    }
    first = http.post(f"{sandbox.url}/v2/incident_updates", json=body, headers=AUTH)
    again = http.post(f"{sandbox.url}/v2/incident_updates", json=body, headers=AUTH)
    assert first.status_code == again.status_code == 201
    update = first.json()["incident_update"]
    assert again.json()["incident_update"]["id"] == update["id"]
    assert update["message"] == "Rolling back"
    assert update["new_incident_status"]["id"] == "fixing"
    assert sandbox.state()["counts"]["incident_updates"] == 1

    unknown = http.post(
        f"{sandbox.url}/v2/incident_updates",
        json={**body, "incident_id": "NOPE", "idempotency_key": "other"},
        headers=AUTH,
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["source"]["field"] == "incident_id"


def test_incident_timeline_items(sandbox: Sandbox, http: requests.Session) -> None:
    incident = _create(sandbox, http, "t").json()["incident"]
    body = {
        "incident_id": incident["id"],
        "idempotency_key": "deploy-1",
        "timestamp": "2026-09-01T15:30:00Z",
        "title": "Rolled back payments-api",
    }
    url = f"{sandbox.url}/v2/incident_timeline_items"
    first = http.post(url, json=body, headers=AUTH)
    again = http.post(url, json=body, headers=AUTH)
    assert first.status_code == again.status_code == 201
    check_response(first)
    item = first.json()["incident_timeline_item"]
    assert again.json()["incident_timeline_item"]["id"] == item["id"]
    assert (item["incident_id"], item["title"]) == (incident["id"], "Rolled back payments-api")
    assert sandbox.state()["counts"]["incident_timeline_items"] == 1

    unknown = http.post(
        url, json={**body, "incident_id": "NOPE", "idempotency_key": "2"}, headers=AUTH
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["source"]["field"] == "incident_id"
    untitled = {k: v for k, v in body.items() if k != "title"}
    refused = http.post(url, json={**untitled, "idempotency_key": "3"}, headers=AUTH)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["source"]["field"] == "title"


def test_alert_dedup_firing_then_resolved(sandbox: Sandbox, http: requests.Session) -> None:
    url = f"{sandbox.url}/v2/alert_events/http/{SOURCE}"
    for status in ("firing", "firing", "resolved"):
        event = {"title": f"CPU {status}", "status": status, "deduplication_key": "cpu-1"}
        assert http.post(url, json=event, headers=SOURCE_AUTH).status_code == 202
    state = sandbox.state()
    assert state["counts"]["alerts"] == 1
    assert state["counts"]["alert_events"] == 3
    (alert,) = state["alerts"]
    assert alert["status"] == "resolved"
    assert alert["resolved_at"] is not None
    assert alert["event_count"] == 3
    assert alert["title"] == "CPU resolved"
    assert [e["payload"]["status"] for e in state["alert_events"]] == [
        "firing",
        "firing",
        "resolved",
    ]


def test_catalog_upsert_and_bulk_update(sandbox: Sandbox, http: requests.Session) -> None:
    url = f"{sandbox.url}/v3/catalog_entries"
    entry = {
        "catalog_type_id": "T",
        "external_id": "svc",
        "name": "Payments",
        "attribute_values": {},
    }
    first = http.post(url, json=entry, headers=AUTH)
    second = http.post(url, json={**entry, "name": "Payments v2", "aliases": ["pay"]}, headers=AUTH)
    other_type = http.post(url, json={**entry, "catalog_type_id": "U"}, headers=AUTH)
    assert first.status_code == second.status_code == 201
    entry_id = first.json()["catalog_entry"]["id"]
    assert second.json()["catalog_entry"]["id"] == entry_id
    assert second.json()["catalog_entry"]["name"] == "Payments v2"
    assert other_type.json()["catalog_entry"]["id"] != entry_id
    assert sandbox.state()["counts"]["catalog_entries"] == 2

    listing = http.get(url, params={"catalog_type_id": "T"}, headers=AUTH).json()
    assert [e["id"] for e in listing["catalog_entries"]] == [entry_id]
    found = http.get(url, params={"catalog_type_id": "T", "identifier": "pay"}, headers=AUTH).json()
    assert len(found["catalog_entries"]) == 1
    assert http.get(url, headers=AUTH).status_code == 422

    bulk = {
        "catalog_type_id": "T",
        "entries": [
            {
                "entry_id": entry_id,
                "name": "Bulk",
                "attribute_values": {"a": {"value": {"literal": "x"}}},
            }
        ],
    }
    assert http.post(f"{url}/actions/bulk_update", json=bulk, headers=AUTH).status_code == 204
    (updated,) = http.get(url, params={"catalog_type_id": "T"}, headers=AUTH).json()[
        "catalog_entries"
    ]
    assert updated["name"] == "Bulk"
    missing = {"catalog_type_id": "T", "entries": [{"entry_id": "NOPE", "attribute_values": {}}]}
    reply = http.post(f"{url}/actions/bulk_update", json=missing, headers=AUTH)
    assert reply.status_code == 404
    assert reply.json()["errors"][0]["source"]["field"] == "entries[0].entry_id"


def test_unknown_route_is_404_in_error_shape(sandbox: Sandbox, http: requests.Session) -> None:
    for method, path in (
        ("GET", "/v1/nothing"),
        ("PUT", "/v2/incidents/X"),
        ("GET", "/_sandbox/nope"),
    ):
        reply = http.request(method, sandbox.url + path, headers=AUTH)
        assert reply.status_code == 404
        body = reply.json()
        assert body["type"] == "not_found"
        assert body["status"] == 404
        assert body["request_id"]
        assert body["errors"][0]["code"] == "not_found"


def test_journal_records_and_redacts(sandbox: Sandbox, http: requests.Session) -> None:
    _create(sandbox, http, "j")
    http.get(f"{sandbox.url}/_sandbox/state")  # control endpoints stay out of the journal
    (entry,) = http.get(f"{sandbox.url}/_sandbox/journal").json()["entries"]
    assert entry["method"] == "POST"
    assert entry["path"] == "/v2/incidents"
    assert entry["headers"]["Authorization"] == "Bearer ***"
    assert API_KEY not in str(entry)
    assert entry["body"]["idempotency_key"] == "j"
    assert entry["status"] == 200
    assert entry["applied"] is True
    assert entry["outcome"] == "answered"
    assert entry["endpoint"] == "create_incident"
    assert entry["received_at"].endswith("Z")
    assert sandbox.journal(since=entry["seq"]) == []


def test_echo_records_anything(sandbox: Sandbox, http: requests.Session) -> None:
    reply = http.patch(
        f"{sandbox.url}/_sandbox/echo/custom/path?x=1&_status=201",
        json={"hello": "world"},
        headers={"Authorization": "Bearer secret", "X-Custom": "yes"},
    )
    assert reply.status_code == 201
    echoed = reply.json()
    assert echoed["method"] == "PATCH"
    assert echoed["path"] == "/custom/path"
    assert echoed["json"] == {"hello": "world"}
    assert echoed["headers"]["Authorization"] == "Bearer ***"
    entry = sandbox.journal()[-1]
    assert entry["path"] == "/_sandbox/echo/custom/path"
    assert entry["headers"]["X-Custom"] == "yes"
    assert entry["applied"] is True


def test_reset_and_listing(sandbox: Sandbox, http: requests.Session) -> None:
    _create(sandbox, http, "r")
    listing = http.get(f"{sandbox.url}/v2/incidents", headers=AUTH).json()
    assert len(listing["incidents"]) == 1
    assert http.post(f"{sandbox.url}/_sandbox/reset").status_code == 200
    assert sandbox.journal() == []
    assert sandbox.state()["counts"]["incidents"] == 0
    assert _create(sandbox, http, "r").json()["incident"]["reference"] == "INC-1"


def test_keep_alive_reuses_one_connection(sandbox: Sandbox, http: requests.Session) -> None:
    for key in ("a", "b", "c"):
        assert _create(sandbox, http, key).headers.get("Connection") != "close"
    assert len({e["client_port"] for e in sandbox.journal()}) == 1
