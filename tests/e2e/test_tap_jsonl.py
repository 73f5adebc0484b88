"""The real tap-jsonl 0.3.1 from PyPI, with and without `batch_config`, into the target.

Code we did not write: its SCHEMA (inferred, with `_sdc_last_modified`, `_sdc_filename` and
`_sdc_stream` columns), its BATCH messages (gzip JSON lines under a `file://` root) and its
STATE. Every record of a batch file must take the path of a RECORD message: stream maps,
validation, keys, one call per record (or `batch_size_rows` for `http`), confirmed before
STATE, and no `_sdc_*` field in what leaves the machine.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from support import SandboxAccount, read_jsonl, run_cli

if t.TYPE_CHECKING:
    from pathlib import Path

    from plugins import Plugin

    from incidentio_sandbox import Sandbox

pytestmark = pytest.mark.slow

API_KEY = "ik-e2e-tapjsonl-Vq82"
TOKEN = "as-e2e-tapjsonl-Kd41"
SOURCE = "01HTAPJSONLSOURCE00000000"
ACCOUNT = SandboxAccount(API_KEY, TOKEN, SOURCE)
BATCH = {"encoding": {"format": "jsonl", "compression": "gzip"}}


def write_rows(folder: Path, name: str, rows: list[dict[str, t.Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows))


def tap_messages(
    tap: Plugin,
    tmp_path: Path,
    folder: Path,
    *,
    stream: str,
    keys: list[str],
    batch: bool,
) -> str:
    """What tap-jsonl writes for the files in `folder`."""
    config: dict[str, t.Any] = {
        "path": str(folder / "*.jsonl"),
        "stream_name": stream,
        "primary_keys": keys,
    }
    if batch:
        root = tmp_path / "batches"
        root.mkdir(exist_ok=True)
        config["batch_config"] = {**BATCH, "storage": {"root": root.as_uri()}}
    out = tap.run(config, tmp_path).stdout
    types = {json.loads(line)["type"] for line in out.splitlines() if line.strip()}
    # The tap really batched (or really did not): the test is about that difference.
    assert types == ({"SCHEMA", "BATCH", "STATE"} if batch else {"SCHEMA", "RECORD", "STATE"})
    return out


def last_state(messages: str) -> t.Any:
    states = [json.loads(m) for m in messages.splitlines() if '"STATE"' in m]
    return states[-1]["value"]


def assert_nothing_local(bodies: list[t.Any], tmp_path: Path) -> None:
    """No `_sdc_*` field (tap-jsonl's `_sdc_filename` is a local path) in anything sent."""
    text = json.dumps(bodies)
    assert "_sdc_" not in text
    assert str(tmp_path) not in text


ITEMS = [
    {"id": i, "title": f"item {i}", "internal_note": f"note {i}", "tags": ["a", "b"]}
    for i in range(1, 8)
]


def http_config(url: str, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": url.rstrip("/"),
        "operation": "http",
        "api_url": "/v2/items/{id}",
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "progress_interval": 60,
        "stream_maps": {"items": {"title": "title.upper()", "internal_note": "__NULL__"}},
        **extra,
    }


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "records"])
def test_http_sends_every_record_once_mapped_and_without_sdc(
    tap_jsonl, httpserver, tmp_path, batch
):
    write_rows(tmp_path / "data", "items.jsonl", ITEMS)
    messages = tap_messages(
        tap_jsonl, tmp_path, tmp_path / "data", stream="items", keys=["id"], batch=batch
    )
    httpserver.expect_request("/v2/items/1").respond_with_json({"id": "x"})
    for row in ITEMS:
        httpserver.expect_request(f"/v2/items/{row['id']}").respond_with_json({"id": "x"})

    run = run_cli(http_config(httpserver.url_for("/"), tmp_path), messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    received = sorted(httpserver.log, key=lambda pair: pair[0].path)
    bodies = [request.get_json() for request, _ in received]
    assert bodies == [
        {"id": row["id"], "title": row["title"].upper(), "tags": ["a", "b"]}
        for row in sorted(ITEMS, key=lambda r: str(r["id"]))
    ]
    assert_nothing_local(bodies, tmp_path)
    # Every record confirmed, then the tap's own last state.
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(r["record_keys"] for r in responses) == sorted(
        [[f"id={row['id']}"] for row in ITEMS]
    )
    assert all(r["status"] == "delivered" for r in responses)
    assert run.states[-1] == last_state(messages)
    assert f"Summary 'items': {len(ITEMS)} records delivered" in run.stderr


def test_http_batch_size_rows_groups_batch_records(tap_jsonl, httpserver, tmp_path):
    write_rows(tmp_path / "data", "items.jsonl", ITEMS)
    messages = tap_messages(
        tap_jsonl, tmp_path, tmp_path / "data", stream="items", keys=["id"], batch=True
    )
    httpserver.expect_request("/v2/bulk").respond_with_json({}, status=202)
    config = http_config(httpserver.url_for("/"), tmp_path, api_url="/v2/bulk", batch_size_rows=3)

    run = run_cli(config, messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    # Calls run in parallel: put them back in input order by their first record.
    bodies = sorted((request.get_json() for request, _ in httpserver.log), key=lambda b: b[0]["id"])
    assert [len(body) for body in bodies] == [3, 3, 1]
    assert [item["id"] for body in bodies for item in body] == [row["id"] for row in ITEMS]
    assert all(item["title"].isupper() for body in bodies for item in body)
    assert_nothing_local(bodies, tmp_path)
    assert sorted(r["record_count"] for r in read_jsonl(tmp_path / "responses.jsonl")) == [1, 3, 3]
    assert run.states[-1] == last_state(messages)


@pytest.fixture
def sandbox():
    with ACCOUNT.sandbox() as sb:
        yield sb


def sandbox_config(sb: Sandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return ACCOUNT.config(sb.url, tmp_path, **extra)


def run_tap_into_target(
    tap: Plugin,
    sb: Sandbox,
    tmp_path: Path,
    rows: list[dict[str, t.Any]],
    *,
    stream: str,
    keys: list[str],
    **config: t.Any,
) -> list[dict[str, t.Any]]:
    """tap-jsonl in batch mode over `rows`, into the target; the sandbox's new journal entries."""
    before = len(sb.journal())
    folder = tmp_path / "data" / stream
    write_rows(folder, "rows.jsonl", rows)
    messages = tap_messages(tap, tmp_path, folder, stream=stream, keys=keys, batch=True)
    run = run_cli(sandbox_config(sb, tmp_path, **config), messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states[-1] == last_state(messages)
    entries = sb.journal()[before:]
    assert len(entries) == len(rows)
    assert all(entry["status"] < 300 for entry in entries), entries
    assert_nothing_local([entry["body"] for entry in entries], tmp_path)
    return entries


def test_alert_events_from_batch_files(tap_jsonl, sandbox, tmp_path, openapi_validator):
    rows = [
        {"check_id": "c1", "service": "db", "state": "CRITICAL"},
        {"check_id": "c2", "service": "web", "state": "CRITICAL"},
        {"check_id": "c1", "service": "db", "state": "OK"},
    ]
    maps = {
        "checks": {
            "title": "service + ' is down'",
            "status": "'resolved' if state == 'OK' else 'firing'",
            "state": "__NULL__",
        }
    }
    entries = run_tap_into_target(
        tap_jsonl,
        sandbox,
        tmp_path,
        rows,
        stream="checks",
        keys=["check_id"],
        operation="alert_event",
        stream_maps=maps,
    )
    for entry in entries:
        openapi_validator(entry["method"], sandbox.url + entry["path"], entry["body"])
    # Parallel calls: c2's event may land between c1's, which keep their order.
    assert sorted(json.dumps(e["body"]["metadata"], sort_keys=True) for e in entries) == sorted(
        json.dumps({"check_id": row["check_id"], "service": row["service"]}, sort_keys=True)
        for row in rows
    )
    c1 = [e["body"]["status"] for e in entries if e["body"]["metadata"]["check_id"] == "c1"]
    assert c1 == ["firing", "resolved"]
    alerts = {a["title"]: a["status"] for a in sandbox.state()["alerts"]}
    assert alerts == {"db is down": "resolved", "web is down": "firing"}


def test_incidents_edits_updates_and_catalog_from_batch_files(
    tap_jsonl, sandbox, tmp_path, openapi_validator
):
    tickets = [{"ticket_id": i, "subject": f"Ticket {i}"} for i in (1, 2)]
    maps = {"tickets": {"name": "subject", "subject": "__NULL__"}}
    run_tap_into_target(
        tap_jsonl,
        sandbox,
        tmp_path,
        tickets,
        stream="tickets",
        keys=["ticket_id"],
        operation="incident",
        stream_maps=maps,
    )
    incidents = sandbox.state()["incidents"]
    assert sorted(i["name"] for i in incidents) == ["Ticket 1", "Ticket 2"]

    edits = [{"id": i["id"], "summary": f"Summary of {i['name']}"} for i in incidents]
    run_tap_into_target(
        tap_jsonl, sandbox, tmp_path, edits, stream="edits", keys=["id"], operation="incident_edit"
    )
    notes = [
        {"note_id": n, "incident_id": i["id"], "message": f"Update {n}"}
        for n, i in enumerate(incidents, start=1)
    ]
    run_tap_into_target(
        tap_jsonl,
        sandbox,
        tmp_path,
        notes,
        stream="notes",
        keys=["note_id"],
        operation="incident_update",
    )
    services = [{"service_id": f"svc-{n}", "name": f"Service {n}", "tier": n} for n in (1, 2, 3)]
    run_tap_into_target(
        tap_jsonl,
        sandbox,
        tmp_path,
        services,
        stream="services",
        keys=["service_id"],
        operation="catalog_entry",
        catalog_type_id="01HSERVICETYPE",
        catalog_attributes={"tier": "01HTIER"},
    )

    for entry in sandbox.journal():
        openapi_validator(entry["method"], sandbox.url + entry["path"], entry["body"])
    state = sandbox.state()
    assert sorted(i["summary"] for i in state["incidents"]) == [
        "Summary of Ticket 1",
        "Summary of Ticket 2",
    ]
    assert len(state["incident_updates"]) == 2
    assert sorted(e["external_id"] for e in state["catalog_entries"]) == ["svc-1", "svc-2", "svc-3"]


def test_a_column_added_to_a_keyless_stream_opens_no_second_incident(tap_jsonl, sandbox, tmp_path):
    """A re-export adds a column (null in the old rows): the old rows keep their keys."""
    folder = tmp_path / "data" / "reports"
    config = sandbox_config(sandbox, tmp_path, operation="incident")
    write_rows(folder, "export.jsonl", [{"name": "Checkout down"}, {"name": "Login slow"}])
    first = tap_messages(tap_jsonl, tmp_path, folder, stream="reports", keys=[], batch=True)
    assert run_cli(config, first, tmp_path).returncode == 0

    write_rows(
        folder,
        "export.jsonl",
        [
            {"name": "Checkout down", "team": None},
            {"name": "Login slow", "team": None},
            {"name": "Search broken", "team": "search"},
        ],
    )
    second = tap_messages(tap_jsonl, tmp_path, folder, stream="reports", keys=[], batch=True)
    assert '"team"' in second.splitlines()[0]  # the tap's schema did gain the column
    run = run_cli(config, second, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]

    names = sorted(i["name"] for i in sandbox.state()["incidents"])
    assert names == ["Checkout down", "Login slow", "Search broken"]
    keys = [e["body"]["idempotency_key"] for e in sandbox.journal()]
    assert len(keys) == 5
    assert len(set(keys)) == 3


def test_a_keyless_stream_gets_its_identity_from_the_targets_stream_map(
    tap_jsonl, sandbox, tmp_path
):
    """docs/promises.md's advice, with a tap we did not write: `__key_properties__` on the target.

    tap-jsonl (an SDK tap) ignores `table-key-properties` set in the catalog's metadata, as
    Meltano's `metadata` extra would set it; docs/promises.md says so, this checks it still holds.
    """
    folder = tmp_path / "data" / "reports"
    write_rows(folder, "export.jsonl", [{"report_id": "R-1", "name": "Checkout down"}])
    config = {"path": str(folder / "*.jsonl"), "stream_name": "reports", "primary_keys": []}
    catalog = json.loads(tap_jsonl.run(config, tmp_path, args=("--discover",)).stdout)
    (root,) = [m for m in catalog["streams"][0]["metadata"] if m["breadcrumb"] == []]
    root["metadata"]["table-key-properties"] = ["report_id"]
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    announced = tap_jsonl.run(config, tmp_path, args=("--catalog", str(catalog_path))).stdout
    assert json.loads(announced.splitlines()[0])["key_properties"] == []

    target = sandbox_config(
        sandbox,
        tmp_path,
        operation="incident",
        stream_maps={"reports": {"__key_properties__": ["report_id"]}},
    )
    first = tap_messages(tap_jsonl, tmp_path, folder, stream="reports", keys=[], batch=True)
    assert run_cli(target, first, tmp_path).returncode == 0
    # The report's content changed since: without a key it would be a new row.
    write_rows(folder, "export.jsonl", [{"report_id": "R-1", "name": "Checkout down since 09:00"}])
    second = tap_messages(tap_jsonl, tmp_path, folder, stream="reports", keys=[], batch=True)
    run = run_cli(target, second, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    keys = {e["body"]["idempotency_key"] for e in sandbox.journal()}
    assert len(sandbox.journal()) == 2
    assert len(keys) == 1
    assert len(sandbox.state()["incidents"]) == 1
