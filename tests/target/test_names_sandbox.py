"""Names instead of ids, through the CLI against the sandbox: what arrived, what was read.

Each run is `target-incidentio` as its own process (as Meltano runs it); every request the
sandbox received is checked against incident.io's spec.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode

import pytest
import requests
from support import read_jsonl, record, run_cli, schema, state

from incidentio_sandbox import Sandbox, Seed

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

API_KEY = "ik-names-test-key"
SERVICE_TYPE = "01TSERVICE"
SEED = Seed.from_json(
    {
        "catalog_types": [{"id": SERVICE_TYPE, "name": "Service"}],
        "custom_fields": [
            {
                "id": "01FTEAM",
                "name": "Team",
                "field_type": "single_select",
                "options": [
                    {"id": "01OPAYMENTS", "value": "Payments"},
                    {"id": "01OSEARCH", "value": "Search"},
                ],
            },
            {
                "id": "01FAREAS",
                "name": "Affected areas",
                "field_type": "multi_select",
                "options": [
                    {"id": "01AWEB", "value": "Web"},
                    {"id": "01AAPI", "value": "API"},
                    {"id": "01AMOBILE", "value": "Mobile"},
                ],
            },
            {
                "id": "01FSERVICE",
                "name": "Affected service",
                "field_type": "single_select",
                "catalog_type_id": SERVICE_TYPE,
            },
        ],
    }
)
SEVERITY = {s.name: s.id for s in SEED.severities}
STATUS = {s.name: s.id for s in SEED.incident_statuses}
LEAD = next(r.id for r in SEED.incident_roles if r.name == "Incident Lead")
TICKET_SCHEMA = schema(
    "tickets",
    {
        "ticket_id": {"type": "integer"},
        "subject": {"type": "string"},
        "severity": {"type": "string"},
        "incident_status": {"type": "string"},
        "team": {"type": "string"},
        "areas": {"type": "array", "items": {"type": "string"}},
        "service": {"type": "string"},
        "owner_email": {"type": "string"},
    },
    ["ticket_id"],
)
CUSTOM_FIELDS = [
    {"field": "team", "custom_field": "team"},
    {"field": "areas", "custom_field": "Affected areas"},
    {"field": "service", "custom_field": "Affected service"},
]
ROLES = [{"field": "owner_email", "role": "incident lead"}]


@pytest.fixture
def sandbox() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        auth = {"Authorization": f"Bearer {API_KEY}"}
        for external_id, name, aliases in (
            ("svc-pay", "Payments API", ["payments"]),
            ("svc-search", "Search API", ["search"]),
        ):
            entry = {
                "catalog_type_id": SERVICE_TYPE,
                "external_id": external_id,
                "name": name,
                "aliases": aliases,
                "attribute_values": {},
            }
            requests.post(f"{sb.url}/v3/catalog_entries", json=entry, headers=auth, timeout=5)
        yield sb


def config(sb: Sandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "incident",
        "custom_fields": CUSTOM_FIELDS,
        "role_assignments": ROLES,
        "stream_maps": {"tickets": {"name": "subject", "subject": "__NULL__"}},
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "progress_interval": 60,
        "max_retry_wait": 0.05,
        **extra,
    }


def ticket(ticket_id: int, **fields: t.Any) -> dict[str, t.Any]:
    return record("tickets", {"ticket_id": ticket_id, "subject": f"Ticket {ticket_id}", **fields})


def calls(sb: Sandbox, method: str, path: str) -> list[dict[str, t.Any]]:
    return [e for e in sb.journal() if e["method"] == method and e["path"] == path]


def assert_spec_valid(sb: Sandbox, openapi_validator: t.Any) -> None:
    for entry in sb.journal():
        query = f"?{urlencode(entry['query'])}" if entry["query"] else ""
        openapi_validator(entry["method"], sb.url + entry["path"] + query, entry["body"])
        assert entry["status"] < 300, entry


def entry_values(incident: dict[str, t.Any], field_id: str) -> list[dict[str, t.Any]]:
    for entry in incident["custom_field_entries"]:
        if entry["custom_field"]["id"] == field_id:
            return list(entry["values"])
    return []


def test_a_ticket_stream_in_the_users_words(
    sandbox: Sandbox, tmp_path: Path, openapi_validator: t.Any
) -> None:
    journal_before = len(sandbox.journal())
    messages = [
        TICKET_SCHEMA,
        ticket(
            1,
            severity="CRITICAL",
            incident_status="investigating",
            team="Payments",
            areas=["web", "API"],
            service="svc-pay",  # an external id
            owner_email="ann@example.com",
        ),
        ticket(2, severity="minor", team="search", areas=["Mobile"], service="search"),  # alias
        ticket(3, severity="Major", incident_status="Fixing", team="01OSEARCH"),  # an option id
        state({"tickets": 3}),
    ]
    run = run_cli(config(sandbox, tmp_path), messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert_spec_valid(sandbox, openapi_validator)

    posts = calls(sandbox, "POST", "/v2/incidents")
    by_name = {p["body"]["name"]: p["body"] for p in posts}
    first = by_name["Ticket 1"]
    assert first["severity_id"] == SEVERITY["Critical"]
    assert first["incident_status_id"] == STATUS["Investigating"]
    assert first["custom_field_entries"] == [
        {"custom_field_id": "01FTEAM", "values": [{"value_option_id": "01OPAYMENTS"}]},
        {
            "custom_field_id": "01FAREAS",
            "values": [{"value_option_id": "01AWEB"}, {"value_option_id": "01AAPI"}],
        },
        {
            "custom_field_id": "01FSERVICE",
            "values": [{"value_catalog_entry_id": _entry_id(sandbox, "svc-pay")}],
        },
    ]
    assert first["incident_role_assignments"] == [
        {"incident_role_id": LEAD, "assignee": {"email": "ann@example.com"}}
    ]
    second = by_name["Ticket 2"]
    assert second["severity_id"] == SEVERITY["Minor"]
    assert second["custom_field_entries"][2]["values"] == [
        {"value_catalog_entry_id": _entry_id(sandbox, "svc-search")}
    ]
    assert by_name["Ticket 3"]["custom_field_entries"][0]["values"] == [
        {"value_option_id": "01OSEARCH"}
    ]
    # The sandbox shows the incident as incident.io would: the seeded names of those ids.
    incident = next(i for i in sandbox.state()["incidents"] if i["name"] == "Ticket 1")
    assert incident["severity"]["name"] == "Critical"
    assert incident["incident_status"]["name"] == "Investigating"
    assert incident["incident_role_assignments"][0]["role"]["name"] == "Incident Lead"

    # Each list was read once, however many records named something in it.
    gets = [e for e in sandbox.journal()[journal_before:] if e["method"] == "GET"]
    read = sorted(
        (e["path"], e["query"].get("custom_field_id") or e["query"].get("catalog_type_id"))
        for e in gets
    )
    assert read == [
        ("/v1/custom_field_options", "01FAREAS"),
        ("/v1/custom_field_options", "01FTEAM"),
        ("/v1/incident_statuses", None),
        ("/v1/severities", None),
        ("/v2/custom_fields", None),
        ("/v2/incident_roles", None),
        ("/v3/catalog_entries", SERVICE_TYPE),
    ]
    # The response record shows what each name became.
    responses = read_jsonl(tmp_path / "responses.jsonl")
    created = [r for r in responses if r["method"] == "POST"]
    one = next(r for r in created if r["record_keys"] == ["ticket_id=1"])
    assert {"field": "severity", "name": "CRITICAL", "id": SEVERITY["Critical"]} in one["resolved"]
    assert {"field": "service", "name": "svc-pay", "id": _entry_id(sandbox, "svc-pay")} in one[
        "resolved"
    ]
    lookups = [r for r in responses if r["method"] == "GET"]
    assert len(lookups) == len(gets)
    assert {(r["stream"], r["operation"], r["status"]) for r in lookups} == {
        ("(look-ups)", "lookup", "delivered")
    }
    assert "3 records delivered, 0 failed, 0 retries, 0 answered 429, 10 calls" in run.stderr


def _entry_id(sb: Sandbox, external_id: str) -> str:
    return next(
        e["id"] for e in sb.state()["catalog_entries"] if e.get("external_id") == external_id
    )


def test_an_unknown_name_is_dead_lettered_with_its_closest_matches(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    messages = [
        TICKET_SCHEMA,
        ticket(1, severity="Critcal"),
        ticket(2, team="Paymnts"),
        ticket(3, severity="Major"),
        state({"tickets": 3}),
    ]
    run = run_cli(config(sandbox, tmp_path, on_error="continue"), messages, tmp_path)
    assert run.returncode == 0, run.stderr
    dead = read_jsonl(tmp_path / "dead.jsonl")
    assert [d["key"] for d in dead] == ["ticket_id=1", "ticket_id=2"]
    assert (
        "field 'severity': severity 'Critcal' is not a severity; closest: Critical"
        in (dead[0]["error"]["message"])
    )
    assert "option 'Paymnts' is not an option; closest: Payments" in dead[1]["error"]["message"]
    assert [p["body"]["name"] for p in calls(sandbox, "POST", "/v2/incidents")] == ["Ticket 3"]
    assert run.states[-1] == {"tickets": 3}


def test_create_missing_options_creates_each_once(
    sandbox: Sandbox, tmp_path: Path, openapi_validator: t.Any
) -> None:
    messages = [
        TICKET_SCHEMA,
        *(ticket(n, team=team) for n, team in enumerate(["Billing", "billing", "Billing"], 1)),
        ticket(4, areas=["Web", "Desktop"]),
        state({"tickets": 4}),
    ]
    cfg = config(sandbox, tmp_path, create_missing_options=True)
    run = run_cli(cfg, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert_spec_valid(sandbox, openapi_validator)
    created = sandbox.state()["created_options"]
    assert sorted((o["custom_field_id"], o["value"]) for o in created) == [
        ("01FAREAS", "Desktop"),
        ("01FTEAM", "Billing"),
    ]
    billing = next(o["id"] for o in created if o["value"] == "Billing")
    posts = calls(sandbox, "POST", "/v2/incidents")
    sent = [
        p["body"]["custom_field_entries"][0]["values"]
        for p in posts
        if p["body"]["name"] != "Ticket 4"
    ]
    assert sent == [[{"value_option_id": billing}]] * 3


def test_an_update_moves_severity_and_status_by_name(
    sandbox: Sandbox, tmp_path: Path, openapi_validator: t.Any
) -> None:
    first = run_cli(
        config(sandbox, tmp_path), [TICKET_SCHEMA, ticket(1, severity="Minor")], tmp_path
    )
    assert first.returncode == 0, first.stderr
    (incident,) = sandbox.state()["incidents"]
    updates = [
        schema(
            "comments",
            {"id": {"type": "integer"}, "incident_id": {"type": "string"}},
            ["id"],
        ),
        record(
            "comments",
            {
                "id": 1,
                "incident_id": incident["id"],
                "to_severity": "critical",
                "to_incident_status": "Monitoring",
                "message": "Worse",
            },
        ),
    ]
    cfg = config(sandbox, tmp_path, streams={"comments": {"operation": "incident_update"}})
    run = run_cli(cfg, updates, tmp_path)
    assert run.returncode == 0, run.stderr
    assert_spec_valid(sandbox, openapi_validator)
    (update,) = calls(sandbox, "POST", "/v2/incident_updates")
    assert update["body"]["to_severity_id"] == SEVERITY["Critical"]
    assert update["body"]["to_incident_status_id"] == STATUS["Monitoring"]


def test_an_unknown_configured_name_fails_the_run_before_any_record(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cfg = config(
        sandbox,
        tmp_path,
        custom_fields=[{"field": "team", "custom_field": "Teem"}],
        role_assignments=[{"field": "owner_email", "role": "Captain"}],
    )
    run = run_cli(cfg, [TICKET_SCHEMA, ticket(1, team="Payments")], tmp_path)
    assert run.returncode != 0
    assert (
        "Setting `custom_fields[0].custom_field`: custom field 'Teem' is not a custom field; "
        "closest: Team" in run.stderr
    )
    assert (
        "Setting `role_assignments[0].role`: incident role 'Captain' is not an incident role"
        in (run.stderr)
    )
    assert "known: Incident Lead, Reporter, Comms Lead" in run.stderr
    assert calls(sandbox, "POST", "/v2/incidents") == []
    assert run.states == []


def test_check_and_dry_run_resolve_names(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = config(sandbox, tmp_path)
    checked = run_cli(cfg, "", tmp_path, args=["--check"])
    assert checked.returncode == 0, checked.stderr
    assert "check passed: custom_fields[0]: custom field 'team' → 01FTEAM." in checked.stderr
    assert (
        "check passed: custom_fields[0]: custom field `01FTEAM` (Team) is single_select: its "
        "values are sent as kind `option`." in checked.stderr
    )
    assert f"check passed: role_assignments[0]: incident role 'incident lead' → {LEAD}." in (
        checked.stderr
    )

    dry = run_cli(
        {**cfg, "dry_run": True},
        [TICKET_SCHEMA, ticket(1, severity="critical", team="Payments")],
        tmp_path,
    )
    assert dry.returncode == 0, dry.stderr
    assert f'"severity_id": "{SEVERITY["Critical"]}"' in dry.stderr
    assert '"value_option_id": "01OPAYMENTS"' in dry.stderr
    assert calls(sandbox, "POST", "/v2/incidents") == []


def test_check_says_create_missing_options_needs_manage_settings(tmp_path: Path) -> None:
    seed = Seed.from_json(
        {**SEED.to_json(), "api_key_roles": {API_KEY: ["viewer", "incident_creator"]}}
    )
    with Sandbox(api_key=API_KEY, seed=seed) as sb:
        cfg = config(sb, tmp_path, create_missing_options=True)
        checked = run_cli(cfg, "", tmp_path, args=["--check"])
        assert checked.returncode == 1
        assert "lacks `manage_settings` (needed by `create_missing_options` at the top level)" in (
            checked.stderr
        )
        without = run_cli(config(sb, tmp_path), "", tmp_path, args=["--check"])
        assert without.returncode == 0, without.stderr
