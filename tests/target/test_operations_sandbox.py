"""Every operation end to end against the sandbox; each request checked against the spec."""

from __future__ import annotations

import json

import pytest
from support import SandboxAccount, read_jsonl, record, run_cli, run_in_process, schema, state

from incidentio_sandbox import Sandbox

API_KEY = "ik-test-Q7pv2cXX-api"
TOKEN = "as-test-token-9Zr4-alerts"
SOURCE = "01HSOURCE0000000000000000"
ACCOUNT = SandboxAccount(API_KEY, TOKEN, SOURCE)


@pytest.fixture
def sandbox():
    with ACCOUNT.sandbox() as sb:
        yield sb


def _config(sb, tmp_path, **extra):
    return ACCOUNT.config(sb.url, tmp_path, **extra)


def _assert_spec_valid(sb, openapi_validator):
    entries = sb.journal()
    assert entries
    for entry in entries:
        openapi_validator(entry["method"], sb.url + entry["path"], entry["body"])
        assert entry["status"] < 300, entry


MONITORING = [
    schema(
        "checks",
        {
            "check_id": {"type": "string"},
            "service": {"type": "string"},
            "state": {"type": "string"},
            "host": {"type": "string"},
        },
        ["check_id"],
    ),
    record("checks", {"check_id": "c1", "service": "db", "state": "CRITICAL", "host": "h1"}),
    record("checks", {"check_id": "c2", "service": "web", "state": "CRITICAL", "host": "h2"}),
    record("checks", {"check_id": "c1", "service": "db", "state": "OK", "host": "h1"}),
    state({"checks": 3}),
]
CHECK_MAPS = {
    "checks": {
        "title": "service + ' is down'",
        "status": "'resolved' if state == 'OK' else 'firing'",
        "state": "__NULL__",
    }
}


def test_alert_events_pair_up_and_resolve(sandbox, tmp_path, openapi_validator):
    config = _config(sandbox, tmp_path, operation="alert_event", stream_maps=CHECK_MAPS)
    states = run_in_process(config, MONITORING)
    assert states == [{"checks": 3}]
    _assert_spec_valid(sandbox, openapi_validator)
    journal = sandbox.journal()
    assert all(e["headers"]["Authorization"] == "Bearer ***" for e in journal)
    c1 = [e["body"] for e in journal if e["body"]["metadata"]["check_id"] == "c1"]
    assert [b["status"] for b in c1] == ["firing", "resolved"]
    assert c1[0]["deduplication_key"] == c1[1]["deduplication_key"]
    assert c1[0]["metadata"] == {"check_id": "c1", "service": "db", "host": "h1"}
    alerts = {a["title"]: a for a in sandbox.state()["alerts"]}
    assert alerts["db is down"]["status"] == "resolved"
    assert alerts["web is down"]["status"] == "firing"
    assert len(alerts) == 2
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert {r["status_code"] for r in responses} == {202}


# Option ids (incident.io ids are 26 capitals and digits): sent as they are, without a look-up.
PAYMENTS = "01HOPTPAYMENTS000000000000"
IDENTITY = "01HOPTIDENTITY000000000000"
TICKETS = [
    schema(
        "tickets",
        {
            "ticket_id": {"type": "integer"},
            "subject": {"type": "string"},
            "team": {"type": "string"},
        },
        ["ticket_id"],
    ),
    record("tickets", {"ticket_id": 1, "subject": "Checkout down", "team": PAYMENTS}),
    record("tickets", {"ticket_id": 2, "subject": "Login slow", "team": IDENTITY}),
    state({"tickets": 2}),
]


def test_incidents_are_created_once_across_reruns(sandbox, tmp_path, openapi_validator):
    config = _config(
        sandbox,
        tmp_path,
        operation="incident",
        custom_fields=[{"field": "team", "custom_field_id": "01HTEAM", "kind": "option"}],
        stream_maps={"tickets": {"name": "subject", "subject": "__NULL__"}},
    )
    run_in_process(config, TICKETS)
    run_in_process(config, TICKETS)  # a rerun, as after a crash before state
    _assert_spec_valid(sandbox, openapi_validator)
    incidents = sandbox.state()["incidents"]
    assert sorted(i["name"] for i in incidents) == ["Checkout down", "Login slow"]
    bodies = [e["body"] for e in sandbox.journal()]
    assert len(bodies) == 4
    assert len({b["idempotency_key"] for b in bodies}) == 2
    # The two tickets go in parallel (the key's burst): find the first by its name.
    checkout = next(b for b in bodies if b["name"] == "Checkout down")
    assert checkout["custom_field_entries"] == [
        {"custom_field_id": "01HTEAM", "values": [{"value_option_id": PAYMENTS}]}
    ]
    responses = read_jsonl(tmp_path / "responses.jsonl")
    ids = {r["resource_id"] for r in responses}
    assert ids == {i["id"] for i in incidents}
    assert {r["reference"] for r in responses} == {i["reference"] for i in incidents}


def test_timeline_items_are_added_once_across_reruns(sandbox, tmp_path, openapi_validator):
    run_in_process(_config(sandbox, tmp_path, operation="incident"), TICKETS)
    incident_id = sandbox.state()["incidents"][0]["id"]
    deploys = [
        schema(
            "deploys", {"deploy_id": {"type": "string"}, "at": {"type": "string"}}, ["deploy_id"]
        ),
        *(
            record("deploys", {"deploy_id": f"d{n}", "at": f"2026-09-01T15:3{n}:00Z", "what": w})
            for n, w in enumerate(["Rolled back payments-api", "Scaled db"])
        ),
    ]
    config = _config(
        sandbox,
        tmp_path,
        operation="incident_timeline_item",
        stream_maps={
            "deploys": {
                "incident_id": repr(incident_id),
                "timestamp": "at",
                "title": "what",
                "at": "__NULL__",
                "what": "__NULL__",
            }
        },
    )
    run_in_process(config, deploys)
    run_in_process(config, deploys)  # a rerun, as after a crash before state
    _assert_spec_valid(sandbox, openapi_validator)
    items = sandbox.state()["incident_timeline_items"]
    assert sorted(i["title"] for i in items) == ["Rolled back payments-api", "Scaled db"]
    assert {i["incident_id"] for i in items} == {incident_id}
    sent = [e for e in sandbox.journal() if e["path"] == "/v2/incident_timeline_items"]
    assert len(sent) == 4
    responses = [
        r
        for r in read_jsonl(tmp_path / "responses.jsonl")
        if r["operation"] == "incident_timeline_item"
    ]
    assert {r["resource_id"] for r in responses} == {i["id"] for i in items}


def test_edits_and_updates_reach_existing_incidents(sandbox, tmp_path, openapi_validator):
    config = _config(
        sandbox,
        tmp_path,
        operation="incident",
        stream_maps={"tickets": {"name": "subject", "subject": "__NULL__", "team": "__NULL__"}},
    )
    run_in_process(config, TICKETS)
    incident_id = sandbox.state()["incidents"][0]["id"]
    messages = [
        schema("edits", {"id": {"type": "string"}, "summary": {"type": "string"}}, ["id"]),
        record("edits", {"id": incident_id, "summary": "Root cause: expired certificate"}),
        schema(
            "notes",
            {
                "note_id": {"type": "integer"},
                "incident_id": {"type": "string"},
                "message": {"type": "string"},
            },
            ["note_id"],
        ),
        record("notes", {"note_id": 1, "incident_id": incident_id, "message": "Mitigated"}),
    ]
    config = _config(
        sandbox,
        tmp_path,
        streams={
            "edits": {"operation": "incident_edit"},
            "notes": {"operation": "incident_update"},
        },
    )
    run_in_process(config, messages)
    _assert_spec_valid(sandbox, openapi_validator)
    edit = next(e for e in sandbox.journal() if e["path"].endswith("/actions/edit"))
    assert edit["path"] == f"/v2/incidents/{incident_id}/actions/edit"
    assert edit["body"] == {
        "incident": {"summary": "Root cause: expired certificate"},
        "notify_incident_channel": False,
    }
    update = next(e for e in sandbox.journal() if e["path"] == "/v2/incident_updates")
    assert update["body"]["incident_id"] == incident_id
    assert update["body"]["message"] == "Mitigated"
    assert update["status"] == 201


def test_catalog_entries_upsert(sandbox, tmp_path, openapi_validator):
    messages = [
        schema(
            "services",
            {
                "service_id": {"type": "string"},
                "display_name": {"type": "string"},
                "tier": {"type": "string"},
                "owners": {"type": "array"},
            },
            ["service_id"],
        ),
        record(
            "services",
            {
                "service_id": "svc-pay",
                "display_name": "Payments",
                "tier": "1",
                "owners": ["a", "b"],
            },
        ),
        record(
            "services",
            {"service_id": "svc-id", "display_name": "Identity", "tier": "2", "owners": []},
        ),
    ]
    config = _config(
        sandbox,
        tmp_path,
        operation="catalog_entry",
        catalog_type_id="01HSERVICETYPE",
        catalog_attributes={"tier": "01HTIER", "owners": "01HOWNERS"},
        stream_maps={"services": {"name": "display_name", "display_name": "__NULL__"}},
    )
    run_in_process(config, messages)
    run_in_process(config, messages)
    _assert_spec_valid(sandbox, openapi_validator)
    entries = sandbox.state()["catalog_entries"]
    assert sorted(e["external_id"] for e in entries) == ["svc-id", "svc-pay"]
    # The two records go out together (the key's bucket bursts), so find svc-pay's by its id.
    [body, *_] = [e["body"] for e in sandbox.journal() if e["body"]["external_id"] == "svc-pay"]
    assert body["attribute_values"] == {
        "01HTIER": {"value": {"literal": "1"}},
        "01HOWNERS": {"array_value": [{"literal": "a"}, {"literal": "b"}]},
    }


def test_a_broken_payload_is_caught_by_the_same_validator(sandbox, openapi_validator):
    # The check above is live: what the target would never send is refused.
    with pytest.raises(Exception, match="does not match"):
        openapi_validator("POST", sandbox.url + "/v2/incidents", {"visibility": "sideways"})
    with pytest.raises(Exception, match="does not match"):
        openapi_validator(
            "POST", sandbox.url + f"/v2/alert_events/http/{SOURCE}", {"status": "firing"}
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("operation", "record_data", "field"),
    [
        ("alert_event", {"id": 1, "description": "no title"}, "title"),
        ("alert_event", {"id": 1, "title": 42}, "title"),
        ("alert_event", {"id": 1, "title": "x", "status": "exploded"}, "status"),
        ("incident", {"id": 1, "name": ["not", "text"]}, "name"),
        ("incident", {"id": 1, "name": "x", "visibility": "sideways"}, "visibility"),
        ("incident_edit", {"id": 1, "summary": "x"} | {"id": None}, "id"),
        ("incident_update", {"id": 1, "message": "no incident"}, "incident_id"),
        ("catalog_entry", {"id": 1, "name": "x", "rank": "high"}, "rank"),
    ],
)
def test_bad_records_fail_clearly_and_send_nothing(
    sandbox, tmp_path, operation, record_data, field
):
    props = {k: {} for k in record_data}
    messages = [
        schema("rows", props, ["id"] if record_data.get("id") else []),
        record("rows", record_data),
        state({"rows": 1}),
    ]
    config = _config(sandbox, tmp_path, operation=operation, catalog_type_id="01HTYPE")
    run = run_cli(config, messages, tmp_path)
    assert run.returncode != 0
    assert run.states == []
    assert sandbox.journal() == []
    assert "stream 'rows'" in run.stderr
    assert f"field '{field}'" in run.stderr
    logged = read_jsonl(tmp_path / "responses.jsonl")
    assert [r["status"] for r in logged] == ["invalid"]
    for secret in (API_KEY, TOKEN):
        assert secret not in run.stderr
        assert secret not in json.dumps(logged)


@pytest.mark.slow
def test_unplaced_fields_are_named_once_per_stream(sandbox, tmp_path):
    messages = [
        schema(
            "tickets",
            {
                "ticket_id": {"type": "integer"},
                "name": {"type": "string"},
                "requester_email": {"type": "string"},
            },
            ["ticket_id"],
        ),
        *(
            record("tickets", {"ticket_id": i, "name": f"T{i}", "requester_email": "a@b.c"})
            for i in range(3)
        ),
    ]
    run = run_cli(_config(sandbox, tmp_path, operation="incident"), messages, tmp_path)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "not used by this operation" in line]
    assert len(warnings) == 1
    assert "requester_email" in warnings[0]
    assert "ticket_id" not in warnings[0]  # key properties make the idempotency key
    assert all("requester_email" not in e["body"] for e in sandbox.journal())


@pytest.mark.slow
def test_firing_never_overtakes_resolved_under_concurrency(tmp_path):
    pairs = 40
    messages = [
        schema(
            "checks",
            {
                "check_id": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "string"},
            },
            ["check_id"],
        )
    ]
    # Interleaved: every check fires, then they resolve in another order.
    messages += [
        record("checks", {"check_id": f"c{i}", "title": "t", "status": "firing"})
        for i in range(pairs)
    ]
    messages += [
        record("checks", {"check_id": f"c{i}", "title": "t", "status": "resolved"})
        for i in reversed(range(pairs))
    ]
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: TOKEN}, faults={"latency_ms": 15}) as sb:
        config = _config(
            sb,
            tmp_path,
            operation="alert_event",
            max_concurrency=8,
            alert_source_rate_limit_per_minute=60000,
        )
        run_in_process(config, messages)
        journal = sb.journal()
    assert len(journal) == 2 * pairs
    seen: dict[str, list[str]] = {}
    for entry in sorted(journal, key=lambda e: e["seq"]):
        seen.setdefault(entry["body"]["deduplication_key"], []).append(entry["body"]["status"])
    assert list(seen.values()) == [["firing", "resolved"]] * pairs
    # And the run really was concurrent: the pool opened a connection per busy worker.
    assert len({e["client_port"] for e in journal}) > 1
