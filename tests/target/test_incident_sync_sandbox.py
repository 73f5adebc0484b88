"""Incident sync end to end: `incident_mode: sync` over a changing ticket table, by the CLI.

Each test runs `target-incidentio` as a process against the sandbox over loopback and asserts
on what the sandbox received (its journal) and holds (its state).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import typing as t

import pytest
import requests
from support import read_jsonl, record, run_cli, schema, singer_lines, state

from incidentio_sandbox import Sandbox
from incidentio_sandbox.seed.incidents import DashboardIncident

pytestmark = pytest.mark.slow  # each test runs the target as its own process, several times

API_KEY = "ik-test-incident-sync-Hq27"
KEY_FIELD = "01HKEYFIELD000000000000000"
TEAM_FIELD = "01HTEAMFIELD00000000000000"
TEAM_OPTIONS = {"Payments": "01HTEAMPAYMENTS00000000000", "Search": "01HTEAMSEARCH0000000000000"}
CRITICAL = "01SANDBOXSEVERITYCRITICAL0"
MINOR = "01SANDBOXSEVERITYMINOR0000"
CLOSED = "01SANDBOXSTATUSCLOSED00000"
STREAM = "tickets"
SEED = {
    "custom_fields": [
        {"id": KEY_FIELD, "name": "Ticket key", "field_type": "text"},
        {
            "id": TEAM_FIELD,
            "name": "Team",
            "field_type": "single_select",
            "options": [{"id": i, "value": v} for v, i in TEAM_OPTIONS.items()],
        },
    ]
}
SCHEMA = schema(
    STREAM,
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "summary": {"type": ["string", "null"]},
        "severity": {"type": "string"},
        "team": {"type": "string"},
    },
    ["id"],
)


def ticket(i: int, **changes: t.Any) -> dict[str, t.Any]:
    return {
        "id": i,
        "name": f"Ticket {i}",
        "summary": f"Summary of ticket {i}",
        "severity": "Critical",
        "team": "Payments",
        **changes,
    }


def messages(rows: t.Iterable[dict[str, t.Any]], *, bookmark: int = 1) -> list[dict[str, t.Any]]:
    return [SCHEMA, *(record(STREAM, r) for r in rows), state({"bookmark": bookmark})]


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def config(sb: Sandbox, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "incident",
        "incident_mode": "sync",
        "incident_key_field": "ticket KEY",  # by name, any letter case
        "custom_fields": [{"field": "team", "custom_field": "Team"}],
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "on_error": "continue",
        "progress_interval": 60,
        **extra,
    }


def dashboard(sb: Sandbox, body: dict[str, t.Any]) -> dict[str, t.Any]:
    """An incident a responder declared in the dashboard (no idempotency key)."""
    return sb.app.add_incident(DashboardIncident.from_json(body))


def writes(sb: Sandbox, since: int = 0) -> list[dict[str, t.Any]]:
    """POSTs the sandbox received after journal sequence `since`."""
    return [e for e in sb.journal(since) if e["method"] != "GET"]


def lists(sb: Sandbox, since: int = 0) -> list[dict[str, t.Any]]:
    return [e for e in sb.journal(since) if e["path"] == "/v2/incidents" and e["method"] == "GET"]


def last_seq(sb: Sandbox) -> int:
    journal = sb.journal()
    return journal[-1]["seq"] if journal else 0


def incidents(sb: Sandbox) -> list[dict[str, t.Any]]:
    return sb.state()["incidents"]


def key_of(incident: dict[str, t.Any]) -> str | None:
    for entry in incident.get("custom_field_entries") or ():
        if entry["custom_field"]["id"] == KEY_FIELD:
            return next((v.get("value_text") for v in entry["values"]), None)
    return None


def by_key(sb: Sandbox) -> dict[str, list[dict[str, t.Any]]]:
    found: dict[str, list[dict[str, t.Any]]] = {}
    for incident in incidents(sb):
        found.setdefault(str(key_of(incident)), []).append(incident)
    return found


def run(sb: Sandbox, tmp_path, rows: t.Iterable[dict[str, t.Any]], **extra: t.Any):
    return run_cli(config(sb, tmp_path, **extra), messages(rows), tmp_path)


def responses(tmp_path) -> list[dict[str, t.Any]]:
    return read_jsonl(tmp_path / "responses.jsonl")


def actions(tmp_path) -> dict[str, str]:
    """record key -> action, of the last run's records (the log is appended per run)."""
    return {r["record_keys"][0]: r["action"] for r in responses(tmp_path) if r.get("action")}


def test_three_runs_create_then_one_edit_then_nothing(sandbox, tmp_path):
    rows = [ticket(i) for i in range(1, 6)]
    first = run(sandbox, tmp_path, rows)
    assert first.returncode == 0, first.stderr
    assert [e["path"] for e in writes(sandbox)] == ["/v2/incidents"] * 5
    held = by_key(sandbox)
    assert sorted(held) == ["1", "2", "3", "4", "5"]
    assert all(len(v) == 1 for v in held.values())
    assert first.states[-1] == {"bookmark": 1}
    created = [r for r in responses(tmp_path) if r.get("action") == "created"]
    assert len(created) == 5
    assert all(r["incident_id"] and r["incident_reference"].startswith("INC-") for r in created)

    # The second run: ticket 3 renamed (and its severity changed, which sync does not own).
    (tmp_path / "responses.jsonl").unlink()
    seq = last_seq(sandbox)
    rows[2] = ticket(3, name="Ticket 3, renamed", severity="Minor")
    second = run(sandbox, tmp_path, rows)
    assert second.returncode == 0, second.stderr
    sent = writes(sandbox, seq)
    incident_id = held["3"][0]["id"]
    assert [e["path"] for e in sent] == [f"/v2/incidents/{incident_id}/actions/edit"]
    assert sent[0]["body"]["incident"] == {"name": "Ticket 3, renamed"}
    assert len(lists(sandbox, seq)) == 1  # one page: listed once
    now = {i["id"]: i for i in incidents(sandbox)}
    assert now[incident_id]["name"] == "Ticket 3, renamed"
    assert now[incident_id]["severity"]["id"] == CRITICAL  # not owned: left alone
    edited = [r for r in responses(tmp_path) if r.get("action") == "edited"]
    assert [(r["incident_id"], r["fields_changed"]) for r in edited] == [(incident_id, ["name"])]
    unchanged = [r for r in responses(tmp_path) if r.get("action") == "unchanged"]
    assert len(unchanged) == 4
    assert all(r["incident_id"] and r["status"] == "unchanged" for r in unchanged)
    assert second.states[-1] == {"bookmark": 1}

    # The third run: nothing changed, nothing written.
    seq = last_seq(sandbox)
    third = run(sandbox, tmp_path, rows)
    assert third.returncode == 0, third.stderr
    assert writes(sandbox, seq) == []
    assert len(incidents(sandbox)) == 5


def test_a_dashboard_incident_holding_a_key_is_adopted(sandbox, tmp_path):
    made = dashboard(
        sandbox,
        {
            "name": "Made by hand",
            "custom_field_entries": [
                {"custom_field_id": KEY_FIELD, "values": [{"value_text": "7"}]}
            ],
        },
    )
    result = run(sandbox, tmp_path, [ticket(7)])
    assert result.returncode == 0, result.stderr
    sent = writes(sandbox)
    assert [e["path"] for e in sent] == [f"/v2/incidents/{made['id']}/actions/edit"]
    assert sent[0]["body"]["incident"] == {"name": "Ticket 7", "summary": "Summary of ticket 7"}
    assert len(incidents(sandbox)) == 1


def test_two_incidents_holding_one_key_refuse_the_record_naming_both(sandbox, tmp_path):
    made = [
        dashboard(
            sandbox,
            {
                "name": f"Twin {n}",
                "custom_field_entries": [
                    {"custom_field_id": KEY_FIELD, "values": [{"value_text": "8"}]}
                ],
            },
        )
        for n in (1, 2)
    ]
    result = run(sandbox, tmp_path, [ticket(8), ticket(9)])
    assert result.returncode == 0, result.stderr
    assert [e["path"] for e in writes(sandbox)] == ["/v2/incidents"]  # ticket 9 only
    dead = read_jsonl(tmp_path / "dead.jsonl")
    assert len(dead) == 1
    text = json.dumps(dead[0])
    for incident in made:
        assert incident["id"] in text
        assert incident["reference"] in text


def test_a_responders_severity_is_kept_while_severity_is_not_owned(sandbox, tmp_path):
    assert run(sandbox, tmp_path, [ticket(1)]).returncode == 0
    (incident,) = incidents(sandbox)
    sandbox.app.store.incidents.edit(incident["id"], {"severity_id": MINOR})
    seq = last_seq(sandbox)
    assert run(sandbox, tmp_path, [ticket(1)]).returncode == 0
    assert writes(sandbox, seq) == []
    assert incidents(sandbox)[0]["severity"]["id"] == MINOR
    # Owned, the row's severity is put back, by id: 'critical' any case is Critical.
    seq = last_seq(sandbox)
    owned = ["name", "summary", "severity", "team"]
    result = run(sandbox, tmp_path, [ticket(1, severity="critical")], incident_sync_fields=owned)
    assert result.returncode == 0, result.stderr
    sent = writes(sandbox, seq)
    assert [e["body"]["incident"] for e in sent] == [{"severity_id": CRITICAL}]


def test_names_in_owned_fields_compare_by_id(sandbox, tmp_path):
    owned = ["name", "summary", "severity", "TEAM"]
    assert run(sandbox, tmp_path, [ticket(1)], incident_sync_fields=owned).returncode == 0
    seq = last_seq(sandbox)
    # The same names, in another letter case: nothing differs.
    same = ticket(1, severity="CRITICAL", team="payments")
    assert run(sandbox, tmp_path, [same], incident_sync_fields=owned).returncode == 0
    assert writes(sandbox, seq) == []
    seq = last_seq(sandbox)
    moved = run(sandbox, tmp_path, [ticket(1, team="Search")], incident_sync_fields=owned)
    assert moved.returncode == 0, moved.stderr
    (edit,) = writes(sandbox, seq)
    assert edit["body"]["incident"] == {
        "custom_field_entries": [
            {"custom_field_id": TEAM_FIELD, "values": [{"value_option_id": TEAM_OPTIONS["Search"]}]}
        ]
    }


# These snapshots come from a file checked before the run, so the end of input is the end of
# the snapshot (the tap sends no completion signal here).
WHOLE = {"snapshot_complete": "end_of_input"}


def test_a_snapshot_the_tap_did_not_finish_closes_nothing(sandbox, tmp_path):
    """No completion signal (the default `tap_signal`): the missing incidents stay open."""
    assert run(sandbox, tmp_path, [ticket(i) for i in range(1, 5)]).returncode == 0
    seq = last_seq(sandbox)
    cut = run(sandbox, tmp_path, [ticket(i) for i in (1, 2, 3)], close_missing_incidents="Closed")
    assert cut.returncode == 0, cut.stderr
    assert "snapshot_complete" in cut.stderr
    assert writes(sandbox, seq) == []
    assert by_key(sandbox)["4"][0]["incident_status"]["id"] != CLOSED


def test_the_close_guard_holds_then_closes(sandbox, tmp_path):
    assert run(sandbox, tmp_path, [ticket(i) for i in range(1, 5)]).returncode == 0
    seq = last_seq(sandbox)
    # Three of four gone: beyond the 0.5 guard, nothing is closed and the run fails.
    held = run(sandbox, tmp_path, [ticket(1)], close_missing_incidents="closed", **WHOLE)
    assert held.returncode != 0
    assert "incident_max_close_fraction" in held.stderr
    assert writes(sandbox, seq) == []
    # One of four gone: closed.
    seq = last_seq(sandbox)
    closing = run(
        sandbox, tmp_path, [ticket(i) for i in (1, 2, 3)], close_missing_incidents="Closed", **WHOLE
    )
    assert closing.returncode == 0, closing.stderr
    (close,) = writes(sandbox, seq)
    gone = by_key(sandbox)["4"][0]
    assert close["path"] == f"/v2/incidents/{gone['id']}/actions/edit"
    assert close["body"]["incident"] == {"incident_status_id": CLOSED}
    assert gone["incident_status"]["id"] == CLOSED
    closed = [r for r in responses(tmp_path) if r.get("action") == "closed"]
    assert [r["incident_id"] for r in closed] == [gone["id"]]
    # Closed already: not closed again, and not counted.
    seq = last_seq(sandbox)
    again = run(
        sandbox, tmp_path, [ticket(i) for i in (1, 2, 3)], close_missing_incidents="Closed", **WHOLE
    )
    assert again.returncode == 0, again.stderr
    assert writes(sandbox, seq) == []


def test_a_create_whose_answer_is_lost_is_adopted_on_the_rerun(sandbox, tmp_path):
    sandbox.app.set_faults(
        {"script": [{"path": "/v2/incidents", "method": "POST", "fault": "apply-then-500"}]}
    )
    first = run(sandbox, tmp_path, [ticket(1), ticket(2)], max_retries=0)
    assert len(incidents(sandbox)) == 2  # both applied, one answer lost
    del first
    sandbox.app.set_faults({"script": []})
    second = run(sandbox, tmp_path, [ticket(1), ticket(2)])
    assert second.returncode == 0, second.stderr
    held = by_key(sandbox)
    assert sorted(held) == ["1", "2"]
    assert all(len(v) == 1 for v in held.values())


def test_a_run_killed_mid_way_is_adopted_on_the_rerun(sandbox, tmp_path):
    sandbox.app.set_faults({"latency_ms": 60})
    rows = [ticket(i) for i in range(1, 41)]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config(sandbox, tmp_path, max_concurrency=2)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "target_incidentio", "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(singer_lines(messages(rows)).encode())
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while len(incidents(sandbox)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    made = len(incidents(sandbox))
    assert 0 < made < 40
    sandbox.app.set_faults({"latency_ms": 0})
    rerun = run(sandbox, tmp_path, rows)
    assert rerun.returncode == 0, rerun.stderr
    held = by_key(sandbox)
    assert sorted(held, key=int) == [str(i) for i in range(1, 41)]
    assert all(len(v) == 1 for v in held.values())


def test_a_sync_stream_without_key_properties_is_refused_at_its_schema(sandbox, tmp_path):
    keyless = {**SCHEMA, "key_properties": []}
    result = run_cli(config(sandbox, tmp_path), [keyless, record(STREAM, ticket(1))], tmp_path)
    assert result.returncode != 0
    assert "__key_properties__" in result.stderr
    assert writes(sandbox) == []


def test_an_unknown_key_field_is_refused_with_the_known_names(sandbox, tmp_path):
    result = run(sandbox, tmp_path, [ticket(1)], incident_key_field="Ticket number")
    assert result.returncode != 0
    assert "Ticket key" in result.stderr
    result = run(sandbox, tmp_path, [ticket(1)], incident_key_field="Team")
    assert result.returncode != 0
    assert "text field" in result.stderr
    assert writes(sandbox) == []


def test_the_dry_run_prints_the_plan(sandbox, tmp_path):
    assert run(sandbox, tmp_path, [ticket(1), ticket(2)]).returncode == 0
    seq = last_seq(sandbox)
    rows = [ticket(1, name="Renamed"), ticket(3)]
    result = run(sandbox, tmp_path, rows, dry_run=True, close_missing_incidents="Closed",
                 incident_max_close_fraction=1, **WHOLE)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert writes(sandbox, seq) == []
    assert "1 to create, 1 to edit, 0 unchanged, 1 to close" in result.stderr
    assert "name: 'Ticket 1' -> 'Renamed'" in result.stderr
    # A snapshot the tap did not say it finished closes nothing, and its dry run says so.
    cut = run(sandbox, tmp_path, rows, dry_run=True, close_missing_incidents="Closed",
              incident_max_close_fraction=1)  # fmt: skip
    assert cut.returncode == 0, cut.stderr
    assert "1 to create, 1 to edit, 0 unchanged, 0 to close" in cut.stderr
    assert "no incident is closed (close_missing_incidents)" in cut.stderr
    assert writes(sandbox, seq) == []


def test_sync_is_refused_on_another_operation(sandbox, tmp_path):
    result = run(sandbox, tmp_path, [ticket(1)], operation="incident_update")
    assert result.returncode != 0
    assert "incident_mode" in result.stderr


def test_create_mode_says_once_when_a_create_met_an_older_incident(sandbox, tmp_path):
    plain = config(sandbox, tmp_path, incident_mode="create", custom_fields=[])
    del plain["incident_key_field"]
    rows = [{"id": 1, "name": "First", "idempotency_key": "ticket-1"}]
    assert run_cli(plain, messages(rows), tmp_path).returncode == 0
    seq = last_seq(sandbox)
    changed = [{"id": 1, "name": "Renamed", "idempotency_key": "ticket-1"}]
    result = run_cli(plain, messages(changed), tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(writes(sandbox, seq)) == 1  # the create, and no extra call
    assert result.stderr.count("incident_mode: sync") == 1
    assert incidents(sandbox)[0]["name"] == "First"


def test_check_says_the_key_field_the_owned_fields_the_close_status_and_the_keyed(
    sandbox, tmp_path
):
    assert run(sandbox, tmp_path, [ticket(1), ticket(2)]).returncode == 0
    dashboard(sandbox, {"name": "By hand, no key"})
    seq = last_seq(sandbox)
    good = config(sandbox, tmp_path, close_missing_incidents="closed",
                  incident_sync_fields=["name", "Team", "Incident Lead"])  # fmt: skip
    result = run_cli(good, [], tmp_path, args=["--check"])
    assert result.returncode == 0, result.stderr
    assert f"custom field 'Ticket key' → {KEY_FIELD}, a text field" in result.stderr
    assert "owned: name, Team, Incident Lead" in result.stderr
    assert f"status 'Closed' → {CLOSED} (closed)" in result.stderr
    assert "2 of 3 incidents hold a key" in result.stderr
    assert writes(sandbox, seq) == []
    # Each is refused, naming what is known.
    bad = config(sandbox, tmp_path, incident_key_field="Team", close_missing_incidents="Fixing",
                 incident_sync_fields=["name", "Colour"])  # fmt: skip
    result = run_cli(bad, [], tmp_path, args=["--check"])
    assert result.returncode == 1
    assert "is a single_select field; the key is held in a text field" in result.stderr
    assert "does not close an incident" in result.stderr
    wrong_owned = config(sandbox, tmp_path, incident_sync_fields=["name", "Colour"])
    result = run_cli(wrong_owned, [], tmp_path, args=["--check"])
    assert result.returncode == 1
    assert "'Colour' is none of" in result.stderr
    assert "Ticket key" in result.stderr


def test_check_counts_the_keyed_incidents_of_every_page(sandbox, tmp_path):
    # 260 keyed and 3 unkeyed incidents: two pages of 250; the first alone would say 250.
    for n in range(263):
        entries = [{"custom_field_id": KEY_FIELD, "values": [{"value_text": f"k{n}"}]}]
        body = {"name": f"Seeded {n}", "custom_field_entries": entries if n >= 3 else []}
        made = requests.post(f"{sandbox.url}/_sandbox/incidents", json=body, timeout=10)
        assert made.status_code == 201, made.text
    seq = last_seq(sandbox)
    result = run_cli(config(sandbox, tmp_path), [], tmp_path, args=["--check"])
    assert result.returncode == 0, result.stderr
    assert "sync: 260 of 263 incidents hold a key (2 pages)" in result.stderr
    pages = lists(sandbox, seq)
    assert len(pages) == 2
    assert "after" not in pages[0]["query"]
    assert pages[1]["query"]["after"]
    assert writes(sandbox, seq) == []


def test_a_stream_that_fixes_its_incident_type_lists_and_closes_only_that_type(tmp_path):
    types = [{"id": "01HTYPETICKET0000000000000", "name": "Ticket", "is_default": True},
             {"id": "01HTYPEBUG000000000000000", "name": "Bug"}]  # fmt: skip
    with Sandbox(api_key=API_KEY, seed={**SEED, "incident_types": types}) as sb:
        bug = {"custom_field_id": KEY_FIELD, "values": [{"value_text": "9"}]}
        dashboard(sb, {"name": "Another stream's", "incident_type_id": types[1]["id"],
                       "custom_field_entries": [bug]})  # fmt: skip
        maps = {STREAM: {"incident_type_id": f"'{types[0]['id']}'"}}
        conf = config(sb, tmp_path, close_missing_incidents="Closed", stream_maps=maps,
                      incident_max_close_fraction=1, **WHOLE)  # fmt: skip
        result = run_cli(conf, messages([ticket(1)]), tmp_path)
        assert result.returncode == 0, result.stderr
        [listing] = lists(sb)
        assert listing["query"]["incident_type[one_of]"] == types[0]["id"]
        assert [e["path"] for e in writes(sb)] == ["/v2/incidents"]  # the create; no close
        assert by_key(sb)["9"][0]["incident_status"]["id"] != CLOSED
