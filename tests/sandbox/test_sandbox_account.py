"""Config look-ups (identity, custom fields), key roles, and seeding the account."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import typing as t

import pytest
import requests
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest
from sandbox_helpers import API_KEY, AUTH, check_body, check_response

from incidentio_sandbox import CatalogType, CustomField, Sandbox, Seed
from incidentio_sandbox.seed import all_roles
from incidentio_sandbox.validation import load_spec

if t.TYPE_CHECKING:
    from pathlib import Path

FIELDS = {
    "custom_fields": [
        {"id": "01FTEAM", "name": "Team", "field_type": "single_select", "catalog_type_id": "01T"},
        {"id": "01FLINK", "name": "Runbook", "field_type": "link", "description": "Where to go"},
    ],
}


def test_identity_reports_every_role_by_default(sandbox: Sandbox, http: requests.Session) -> None:
    reply = http.get(f"{sandbox.url}/v1/identity", headers=AUTH)
    check_response(reply)
    identity = reply.json()["identity"]
    assert identity["name"] == "api_key_name"
    spec_roles = load_spec()["components"]["schemas"]["IdentityV1"]["properties"]["roles"]
    assert identity["roles"] == spec_roles["items"]["enum"]
    assert "catalog_editor" in identity["roles"]


def test_a_restricted_key_reports_its_roles_and_is_refused_elsewhere(
    http: requests.Session,
) -> None:
    keys = {API_KEY: "Read-only", "writer": "Writer"}
    with Sandbox(api_key=keys, api_key_roles={API_KEY: ["viewer", "catalog_viewer"]}) as sb:
        identity = http.get(f"{sb.url}/v1/identity", headers=AUTH).json()["identity"]
        assert identity == {
            "name": "Read-only",
            "roles": ["viewer", "catalog_viewer"],
            "dashboard_url": "https://app.incident.io/sandbox",
            "team_roles": [],
            "teams": [],
        }
        entry = {"catalog_type_id": "T", "name": "x", "attribute_values": {}}
        refused = http.post(f"{sb.url}/v3/catalog_entries", json=entry, headers=AUTH)
        assert refused.status_code == 403
        assert refused.json()["type"] == "resource_forbidden"
        assert "catalog_editor" in refused.json()["errors"][0]["message"]
        check_response(refused)
        assert sb.state()["counts"]["catalog_entries"] == 0
        listed = http.get(f"{sb.url}/v3/catalog_entries?catalog_type_id=T", headers=AUTH)
        assert listed.status_code == 200
        writer = {"Authorization": "Bearer writer"}
        assert http.post(f"{sb.url}/v3/catalog_entries", json=entry, headers=writer).ok
        assert http.get(f"{sb.url}/v1/identity", headers=writer).json()["identity"][
            "roles"
        ] == list(all_roles())


def test_custom_fields_are_configured(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, seed=FIELDS) as sb:
        listed = http.get(f"{sb.url}/v2/custom_fields", headers=AUTH)
        check_response(listed)
        fields = listed.json()["custom_fields"]
        assert [(f["id"], f["name"], f["field_type"]) for f in fields] == [
            ("01FTEAM", "Team", "single_select"),
            ("01FLINK", "Runbook", "link"),
        ]
        assert fields[0]["catalog_type_id"] == "01T"
        shown = http.get(f"{sb.url}/v2/custom_fields/01FLINK", headers=AUTH)
        check_response(shown)
        assert shown.json()["custom_field"]["description"] == "Where to go"
        missing = http.get(f"{sb.url}/v2/custom_fields/NOPE", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["source"]["field"] == "id"
    with Sandbox(api_key=API_KEY) as empty:
        assert http.get(f"{empty.url}/v2/custom_fields", headers=AUTH).json() == {
            "custom_fields": []
        }


@pytest.mark.parametrize(
    ("seed", "complaint"),
    [
        ({"custom_fields": [{"id": "F", "name": "n", "field_type": "dropdown"}]}, "field type"),
        ({"alert_sources": [{"id": "S", "source_type": "carrier_pigeon"}]}, "source type"),
        ({"alert_sources": [{"id": "S", "source_type": "http"}]}, "needs a token"),
        ({"api_key_roles": {"k": ["superuser"]}}, "unknown role"),
        ({"catalog_types": [{"id": "T", "name": "a"}, {"id": "T", "name": "b"}]}, "share an id"),
        ({"catalog_types": [{"id": "T"}]}, "'name'"),
        ({"catalogue_types": []}, "unknown seed settings"),
        ({"heartbeat_sources": [{"id": "H"}]}, "'token'"),
    ],
)
def test_seed_refuses_what_the_spec_does_not_allow(seed: dict[str, t.Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Seed.from_json(seed)


# One of every seeded kind, each field set to what is not its default.
EVERY_KIND: dict[str, t.Any] = {
    "catalog_types": [
        {
            "id": "T",
            "name": "Service",
            "attributes": [{"id": "A", "name": "tier", "type": "Number", "array": True}],
            "description": "d",
            "ranked": True,
            "annotations": {"tool": "x"},
            "version": 3,
        }
    ],
    "alert_sources": [{"id": "S", "name": "Datadog", "source_type": "datadog"}],
    "heartbeat_sources": [{"id": "H", "token": "hb", "interval_seconds": 30}],
    "custom_fields": [
        {
            "id": "F",
            "name": "Team",
            "field_type": "single_select",
            "catalog_type_id": "T",
            "options": [{"id": "O", "value": "Payments"}],
        }
    ],
    "users": [{"id": "U", "name": "Ann", "email": "ann@example.com", "is_active": False}],
    "schedules": [
        {
            "id": "S1",
            "name": "Primary",
            "rotations": [
                {"id": "R", "name": "Daily", "user_ids": ["U"], "handover_interval_type": "daily"}
            ],
            "team_ids": ["team"],
        }
    ],
    "escalation_paths": [{"id": "E", "name": "Urgent", "user_ids": ["U"]}],
}


def test_every_seeded_kind_survives_a_round_trip() -> None:
    seed = Seed.from_json(EVERY_KIND)
    assert Seed.from_json(seed.to_json()) == seed
    written = seed.to_json()
    assert written["catalog_types"][0]["attributes"] == [
        {"id": "A", "name": "tier", "type": "Number", "array": True, "mode": ""}
    ]
    assert written["custom_fields"][0]["options"] == [{"id": "O", "value": "Payments"}]
    assert written["schedules"][0]["rotations"][0]["layers"] == [{"id": "R-L1", "name": "Layer 1"}]
    assert written["heartbeat_sources"][0]["interval_seconds"] == 30
    assert written["users"][0]["is_active"] is False


@pytest.mark.parametrize(
    ("where", "item", "complaint"),
    [
        ("users", {"id": "U", "name": "Ann", "mail": "a@b"}, "unknown user settings: ['mail']"),
        ("users", {"id": "U"}, "a user needs a non-empty string 'name'"),
        ("escalation_paths", {"name": "x"}, "an escalation path needs a non-empty string 'id'"),
        (
            "schedules",
            {"id": "S", "name": "s", "rotations": [{"id": "R", "name": "r", "layer": []}]},
            "unknown schedule rotation settings: ['layer']",
        ),
    ],
)
def test_a_seeded_item_names_its_kind_in_errors(where: str, item: t.Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Seed.from_json({where: [item]})


def test_roles_for_an_unknown_key_are_refused() -> None:
    with pytest.raises(ValueError, match="keys the sandbox does not accept"):
        Sandbox(api_key=API_KEY, api_key_roles={"someone-else": ["viewer"]})


def test_seed_at_runtime_and_reset(sandbox: Sandbox, http: requests.Session) -> None:
    url = f"{sandbox.url}/_sandbox/seed"
    added = http.post(url, json={"catalog_types": [{"id": "01T", "name": "Team"}], **FIELDS})
    assert added.status_code == 200
    assert [k["id"] for k in added.json()["catalog_types"]] == ["01T"]
    assert http.get(url).json() == added.json()
    assert sandbox.current_seed().catalog_types == (CatalogType(id="01T", name="Team"),)
    shown = http.get(f"{sandbox.url}/v3/catalog_types/01T", headers=AUTH)
    assert shown.json()["catalog_type"]["name"] == "Team"
    # Types are configured now, so an unknown type is refused.
    entry = {"catalog_type_id": "OTHER", "name": "x", "attribute_values": {}}
    assert (
        http.post(f"{sandbox.url}/v3/catalog_entries", json=entry, headers=AUTH).status_code == 404
    )

    bad = http.post(url, json={"custom_fields": [{"id": "F", "name": "n", "field_type": "x"}]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "invalid_seed"
    assert http.post(url, data=b"[1]").status_code == 400
    sandbox.load_seed(Seed(custom_fields=(CustomField(id="02F", name="Other"),)))
    assert [f.id for f in sandbox.current_seed().custom_fields] == ["01FTEAM", "01FLINK", "02F"]
    # Control endpoints stay out of the journal.
    assert all(not e["path"].startswith("/_sandbox/seed") for e in sandbox.journal())

    assert http.post(f"{sandbox.url}/_sandbox/reset").status_code == 200
    assert sandbox.current_seed().catalog_types == ()
    assert (
        http.post(f"{sandbox.url}/v3/catalog_entries", json=entry, headers=AUTH).status_code == 201
    )


def test_the_response_check_is_live() -> None:
    # check_response would pass vacuously if it judged nothing; feed it wrong bodies.
    request = MockRequest("http://sandbox", "get", "/v2/alerts")
    alert = {
        "id": "01A",
        "alert_source_id": "01S",
        "deduplication_key": "k",
        "status": "firing",
        "title": "t",
        "attributes": [],
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }
    good = {"alerts": [alert], "pagination_meta": {"page_size": 25}}
    check_body(request, 200, json.dumps(good).encode(), "application/json")
    wrong = [
        {**good, "alerts": [{k: v for k, v in alert.items() if k != "alert_source_id"}]},
        {**good, "alerts": [{**alert, "status": "exploded"}]},
        {**good, "alerts": [{**alert, "resolved_at": None}]},
        {**good, "alerts": [{**alert, "alert_source_config_id": "01S"}]},  # a field it lacks
        {"alerts": [alert]},
    ]
    for body in wrong:
        with pytest.raises(OpenAPIError):
            check_body(request, 200, json.dumps(body).encode(), "application/json")
    error = {"type": "not_found", "status": 404, "request_id": "r", "errors": []}
    check_body(request, 404, json.dumps(error).encode(), "application/json")
    with pytest.raises(OpenAPIError):
        check_body(request, 404, json.dumps({**error, "type": "oops"}).encode(), None)


def _start_cli(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "incidentio_sandbox", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--port-file", str(port_file), *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while not port_file.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no port file"
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{int(port_file.read_text())}"


@pytest.mark.slow
def test_cli_seed_file_and_flags(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed = {
        "catalog_types": [
            {"id": "01T", "name": "Service", "attributes": [{"id": "A", "name": "a"}]}
        ],
        "alert_sources": [{"id": "01DD", "name": "Datadog", "source_type": "datadog"}],
        **FIELDS,
    }
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    proc, url = _start_cli(
        tmp_path,
        "--api-key",
        "cli-key",
        "--seed-file",
        str(seed_file),
        "--heartbeat-source",
        "01HB=hb",
        "--key-roles",
        "cli-key=viewer,catalog_viewer,catalog_editor",
        "--reject-catalog-external-id",
        "poison",
        "--reject-catalog-name",
        "Bad",
    )
    auth = {"Authorization": "Bearer cli-key"}
    try:
        identity = requests.get(f"{url}/v1/identity", headers=auth, timeout=5).json()
        assert identity["identity"]["roles"] == ["viewer", "catalog_viewer", "catalog_editor"]
        types = requests.get(f"{url}/v3/catalog_types", headers=auth, timeout=5).json()
        assert [k["id"] for k in types["catalog_types"]] == ["01T"]
        sources = requests.get(f"{url}/v2/alert_sources", headers=auth, timeout=5).json()
        assert {s["id"]: s["source_type"] for s in sources["alert_sources"]} == {
            "01SANDBOXALERTSOURCE000000": "http",  # the default source is kept
            "01DD": "datadog",
            "01HB": "heartbeat",
        }
        fields = requests.get(f"{url}/v2/custom_fields", headers=auth, timeout=5).json()
        assert len(fields["custom_fields"]) == 2
        ping = requests.post(f"{url}/v2/heartbeat/01HB/ping?token=hb", timeout=5)
        assert ping.status_code == 204
        for body, field in (
            ({"external_id": "poison", "name": "x"}, "external_id"),
            ({"name": "Bad"}, "name"),
        ):
            refused = requests.post(
                f"{url}/v3/catalog_entries",
                json={"catalog_type_id": "01T", "attribute_values": {}, **body},
                headers=auth,
                timeout=5,
            )
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["source"]["field"] == field
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "heartbeat source 01HB" in stderr
    assert "datadog alert source 01DD" in stderr


@pytest.mark.slow
def test_cli_refuses_a_bad_seed_file(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text(json.dumps({"custom_fields": [{"id": "F", "name": "n", "field_type": "x"}]}))
    for path in (bad, tmp_path / "missing.json"):
        proc = subprocess.run(
            [sys.executable, "-m", "incidentio_sandbox", "--port", "0", "--seed-file", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 2
        assert "seed file" in proc.stderr
