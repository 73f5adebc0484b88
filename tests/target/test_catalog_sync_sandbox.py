"""Catalog sync end to end: `catalog_mode` merge and sync list, create, update and delete.

A 600-entry catalog type is first filled by `upsert`, as users have it today; each test then
runs merge or sync and asserts on what the sandbox received and holds.
"""

from __future__ import annotations

import collections
import copy
import json
import signal
import subprocess
import sys
import time
import typing as t
from urllib.parse import urlencode

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError
from support import read_jsonl, record, run_cli, run_in_process, schema, state

from incidentio_sandbox import Sandbox
from target_incidentio.core.errors import DeliveryFailedError

API_KEY = "ik-test-catalog-sync-Zq81"
TYPE = "01HSERVICETYPE000000000000"
OTHER_TYPE = "01HTEAMTYPE000000000000000"
STREAM = "services"
ENTRIES = 600
ATTRIBUTES = {"tier": "01HTIER", "owners": "01HOWNERS", "cost": "01HCOST", "critical": "01HCRIT"}
RUNBOOK = "01HRUNBOOK"  # an attribute this stream does not map: someone else's
SEED = {
    "catalog_types": [
        {
            "id": TYPE,
            "name": "Service",
            "attributes": [
                {"id": "01HTIER", "name": "tier"},
                {"id": "01HOWNERS", "name": "owners", "array": True},
                {"id": "01HCOST", "name": "cost", "type": "Number"},
                {"id": "01HCRIT", "name": "critical", "type": "Bool"},
                {"id": RUNBOOK, "name": "runbook"},
            ],
        },
        {"id": OTHER_TYPE, "name": "Team", "attributes": []},
    ]
}
SCHEMA = schema(
    STREAM,
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "tier": {"type": ["string", "array"]},
        "owners": {"type": "array", "items": {"type": "string"}},
        "cost": {"type": "number"},
        "critical": {"type": "boolean"},
        "runbook": {"type": "string"},
        "catalog_type_id": {"type": "string"},
    },
    ["id"],
)


def row(i: int, *, renamed: bool = False, **extra: t.Any) -> dict[str, t.Any]:
    """Service `i`: odd ones have an owner, even ones an empty owner list (no value)."""
    return {
        "id": f"svc-{i}",
        "name": f"Service {i}{' (renamed)' if renamed else ''}",
        "tier": str(i % 3),
        "owners": [f"team-{i}"] if i % 2 else [],
        "cost": 1.5 + i,
        "critical": i % 5 == 0,
        **extra,
    }


def key(i: int) -> str:
    return f"id='svc-{i}'"


def done(bookmark: int = 1) -> dict[str, t.Any]:
    """A singer-sdk INCREMENTAL stream's last STATE: the tap says it finished the stream."""
    return {"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": bookmark}}}


def stream(rows: t.Iterable[dict[str, t.Any]], *, bookmark: int = 1) -> list[dict[str, t.Any]]:
    return [SCHEMA, *(record(STREAM, r) for r in rows), state(done(bookmark))]


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def config(sb: Sandbox, tmp_path, mode: str = "upsert", **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "catalog_entry",
        "catalog_type_id": TYPE,
        "catalog_attributes": ATTRIBUTES,
        "catalog_mode": mode,
        "response_log_path": str(tmp_path / f"responses-{mode}.jsonl"),
        "dead_letter_path": str(tmp_path / f"dead-{mode}.jsonl"),
        "rate_limit_per_minute": 10**7,
        "max_concurrency": 8,
        "progress_interval": 60,
        **extra,
    }


@pytest.fixture(scope="module")
def upserted(tmp_path_factory) -> dict[str, dict[str, t.Any]]:
    """600 entries made by `upsert` (one POST each, today's behaviour), once per module."""
    tmp_path = tmp_path_factory.mktemp("upsert")
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        run_in_process(config(sb, tmp_path), stream(row(i) for i in range(ENTRIES)))
        assert calls_since(sb, 0) == {"create": ENTRIES}
        return copy.deepcopy(sb.app.store.catalog.entries)


@pytest.fixture
def catalog(sandbox, upserted) -> int:
    """The sandbox holds the 600 upserted entries; the journal offset they leave."""
    store = sandbox.app.store
    with store.lock:
        store.catalog.entries.update(copy.deepcopy(upserted))
        for entry in upserted.values():
            by_external_id = (entry["catalog_type_id"], entry["external_id"])
            store.catalog.external_ids[by_external_id] = entry["id"]
    assert len(held(sandbox)) == ENTRIES
    return len(sandbox.journal())


def calls_since(sb: Sandbox, offset: int) -> collections.Counter[str]:
    """Requests after `offset`, by kind: list, create, bulk_update, delete."""
    kinds = collections.Counter()
    for entry in sb.journal()[offset:]:
        if entry["method"] == "GET":
            kinds["list"] += 1
        elif entry["method"] == "DELETE":
            kinds["delete"] += 1
        elif entry["path"].endswith("/bulk_update"):
            kinds["bulk_update"] += 1
        else:
            kinds["create"] += 1
    return kinds


def held(sb: Sandbox) -> dict[str, dict[str, t.Any]]:
    """The type's live entries by external id (None for entries made by hand)."""
    entries = sb.state()["catalog_entries"]
    return {e.get("external_id"): e for e in entries if e["catalog_type_id"] == TYPE}


def literal(entry: dict[str, t.Any], attribute: str) -> t.Any:
    binding = entry["attribute_values"].get(attribute) or {}
    if "array_value" in binding:
        return [v["literal"] for v in binding["array_value"]]
    return (binding.get("value") or {}).get("literal")


def assert_catalog_equals(sb: Sandbox, rows: list[dict[str, t.Any]]) -> None:
    entries = held(sb)
    assert set(entries) == {r["id"] for r in rows}
    for r in rows:
        entry = entries[r["id"]]
        assert entry["name"] == r["name"]
        assert literal(entry, "01HTIER") == r["tier"]
        assert (literal(entry, "01HOWNERS") or []) == r["owners"]


def journal_url(sb: Sandbox, entry: dict[str, t.Any]) -> str:
    query = f"?{urlencode(entry['query'])}" if entry["query"] else ""
    return f"{sb.url}{entry['path']}{query}"


# -- the scenario --------------------------------------------------------------------


@pytest.mark.slow
def test_sync_makes_few_calls_and_leaves_the_catalog_equal_to_the_rows(sandbox, catalog, tmp_path):
    renamed, gone, new = {1, 2, 3, 4, 5}, set(range(100, 106)), [1000, 1001, 1002]
    rows = [row(i, renamed=i in renamed) for i in range(ENTRIES) if i not in gone]
    rows += [row(i) for i in new]
    run = run_cli(config(sandbox, tmp_path, "sync"), stream(rows, bookmark=7), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [done(7)]
    calls = calls_since(sandbox, catalog)
    assert calls == {"list": 3, "create": 3, "bulk_update": 1, "delete": 6}
    assert_catalog_equals(sandbox, rows)
    assert sandbox.state()["counts"]["catalog_entries_archived"] == 6
    assert (
        f"Summary '{STREAM}': 8 records delivered (3 created, 5 updated), "
        "589 unchanged (no call), 6 entries deleted, 0 failed" in run.stderr
    )

    responses = read_jsonl(tmp_path / "responses-sync.jsonl")
    bulk = [r for r in responses if r["url"].endswith("/bulk_update")]
    assert len(bulk) == 1
    assert sorted(bulk[0]["record_keys"]) == sorted(key(i) for i in renamed)
    deleted = [r for r in responses if r["method"] == "DELETE"]
    assert sorted(k for r in deleted for k in r["record_keys"]) == sorted(f"svc-{i}" for i in gone)
    assert all(r["ok"] and r["status_code"] == 204 for r in deleted)
    creates = [r for r in responses if r["url"].endswith("/v3/catalog_entries")]
    assert sorted(k for r in creates for k in r["record_keys"]) == sorted(key(i) for i in new)


@pytest.mark.slow
def test_a_second_sync_of_the_same_rows_only_lists(sandbox, catalog, tmp_path):
    # Empty arrays, numbers (1.5 sent, "1.5" listed) and booleans compare equal: no rewrite.
    rows = [row(i) for i in range(ENTRIES)]
    run_in_process(config(sandbox, tmp_path, "sync"), stream(rows))
    assert calls_since(sandbox, catalog) == {"list": 3}


@pytest.mark.slow
def test_merge_never_deletes(sandbox, catalog, tmp_path):
    rows = [row(i, renamed=i == 7) for i in range(100)]  # 500 entries not in the stream
    run_in_process(config(sandbox, tmp_path, "merge"), stream(rows))

    assert calls_since(sandbox, catalog) == {"list": 3, "bulk_update": 1}
    entries = held(sandbox)
    assert len(entries) == ENTRIES
    assert entries["svc-7"]["name"] == "Service 7 (renamed)"


# -- the guards ------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_empty_stream_deletes_nothing(sandbox, catalog, tmp_path):
    run = run_cli(config(sandbox, tmp_path, "sync"), [SCHEMA, state({"b": 1})], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert calls_since(sandbox, catalog) == {}
    assert "the stream carried no records, so nothing was deleted" in run.stderr
    assert len(held(sandbox)) == ENTRIES


@pytest.mark.slow
@pytest.mark.parametrize(("fraction", "deleted"), [(0.5, 0), (0.9, 500)])
def test_deleting_more_than_the_fraction_is_refused(sandbox, catalog, tmp_path, fraction, deleted):
    # 100 rows against 600 entries: sync would delete 500 (83%).
    rows = [row(i) for i in range(100)]
    settings = config(sandbox, tmp_path, "sync", catalog_max_delete_fraction=fraction)
    run = run_cli(settings, stream(rows), tmp_path)

    assert calls_since(sandbox, catalog).get("delete", 0) == deleted
    assert len(held(sandbox)) == ENTRIES - deleted
    if deleted:
        assert run.returncode == 0, run.stderr[-3000:]
        return
    assert run.returncode == 1
    assert "sync would delete 500 of the 600 entries of catalog type" in run.stderr
    assert "`catalog_max_delete_fraction` (0.5)" in run.stderr
    assert "the stream carried 100 external ids" in run.stderr


@pytest.mark.slow
def test_a_rejected_record_blocks_deletion(sandbox, catalog, tmp_path):
    # A row the target could not read may be any entry's: nothing is deleted.
    rows = [row(i) for i in range(ENTRIES - 3)] + [{"id": "svc-bad", "name": None}]
    run = run_cli(config(sandbox, tmp_path, "sync", on_error="continue"), stream(rows), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert calls_since(sandbox, catalog) == {"list": 3}
    assert "1 record(s) of the stream were rejected before their external id" in run.stderr
    assert len(held(sandbox)) == ENTRIES


@pytest.mark.slow
def test_a_row_without_its_key_property_blocks_deletion(sandbox, catalog, tmp_path):
    # The row lacks `id`, the stream's key property: it may be any entry's, so nothing goes.
    rows = [row(i) for i in range(ENTRIES - 3)] + [{"name": "Service without an id"}]
    run = run_cli(config(sandbox, tmp_path, "sync", on_error="continue"), stream(rows), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "lacks key property 'id'" in run.stderr
    assert calls_since(sandbox, catalog) == {"list": 3}
    assert len(held(sandbox)) == ENTRIES


@pytest.mark.slow
def test_an_entry_without_external_id_survives(sandbox, catalog, tmp_path):
    made_by_hand = requests.post(
        f"{sandbox.url}/v3/catalog_entries",
        json={"catalog_type_id": TYPE, "name": "Made in the dashboard", "attribute_values": {}},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert made_by_hand.status_code == 201
    offset = len(sandbox.journal())
    rows = [row(i) for i in range(ENTRIES - 10)]
    run_in_process(config(sandbox, tmp_path, "sync"), stream(rows))

    assert calls_since(sandbox, offset) == {"list": 3, "delete": 10}
    entries = held(sandbox)
    assert entries[None]["name"] == "Made in the dashboard"
    assert len(entries) == ENTRIES - 10 + 1


@pytest.mark.slow
def test_attributes_the_stream_does_not_map_are_untouched(sandbox, catalog, tmp_path):
    # Another stream owns `runbook`; this one renames 20 services and changes their tier.
    other = config(sandbox, tmp_path, catalog_attributes={"runbook": RUNBOOK}, catalog_mode="merge")
    runbooks = [{"id": f"svc-{i}", "name": f"Service {i}", "runbook": f"rb-{i}"} for i in range(40)]
    run_in_process(other, stream(runbooks))
    offset = len(sandbox.journal())
    rows = [row(i, renamed=i < 20, tier="9" if i < 20 else str(i % 3)) for i in range(ENTRIES)]
    run_in_process(config(sandbox, tmp_path, "sync"), stream(rows))

    assert calls_since(sandbox, offset) == {"list": 3, "bulk_update": 1}
    [bulk] = [e for e in sandbox.journal()[offset:] if e["path"].endswith("/bulk_update")]
    assert RUNBOOK not in bulk["body"]["update_attributes"]
    entries = held(sandbox)
    for i in range(40):
        assert literal(entries[f"svc-{i}"], RUNBOOK) == f"rb-{i}"
        assert literal(entries[f"svc-{i}"], "01HTIER") == ("9" if i < 20 else str(i % 3))


# -- bulk update refused ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_refused_entry_in_a_bulk_batch_of_250_fails_alone(sandbox, catalog, tmp_path):
    sandbox.load_seed({"reject_catalog_names": ["Service 77 (renamed)"]})
    rows = [row(i, renamed=i < 250) for i in range(ENTRIES)]
    settings = config(sandbox, tmp_path, "sync", on_error="continue")
    run = run_cli(settings, stream(rows, bookmark=3), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [done(3)]
    journal = sandbox.journal()[catalog:]
    bulk = [e for e in journal if e["path"].endswith("/bulk_update")]
    assert len(bulk[0]["body"]["entries"]) == 250
    assert [e["status"] for e in bulk].count(204) >= 2
    assert len(bulk) <= 2 * 8 + 1  # a bisection: about two calls per halving of 250
    entries = held(sandbox)
    assert entries["svc-77"]["name"] == "Service 77"
    assert all(entries[f"svc-{i}"]["name"].endswith("(renamed)") for i in range(250) if i != 77)

    [dead] = read_jsonl(tmp_path / "dead-sync.jsonl")
    assert dead["key"] == key(77)
    assert dead["stream"] == STREAM
    assert "Service 77 (renamed)" in dead["error"]["message"]
    assert [e["field"] for e in dead["error"]["errors"]] == ["name"]
    responses = read_jsonl(tmp_path / "responses-sync.jsonl")
    final = [r for r in responses if r["status"] != "split"]
    finals = collections.Counter(k for r in final for k in r["record_keys"])
    assert all(finals[key(i)] == 1 for i in range(250)), "one final response record per record"
    failed = [r for r in final if not r["ok"]]
    assert [r["record_keys"] for r in failed] == [[key(77)]]
    assert failed[0]["status_code"] == 422
    split = [r for r in responses if r["status"] == "split"]
    assert split
    assert all(r["status_code"] == 422 for r in split)
    assert "stream 'services', record id='svc-77'" in run.stderr
    assert "(field 'name')" in run.stderr
    # Nothing was gone from the stream, so nothing was deleted.
    assert all(e["method"] != "DELETE" for e in journal)


@pytest.mark.slow
def test_a_refused_entry_under_on_error_fail_stops_the_run(sandbox, catalog, tmp_path):
    sandbox.load_seed({"reject_catalog_names": ["Service 77 (renamed)"]})
    rows = [row(i, renamed=i < 250) for i in range(ENTRIES - 5)]
    run = run_cli(config(sandbox, tmp_path, "sync"), stream(rows), tmp_path)

    assert run.returncode == 1
    assert run.states == []
    assert "stream 'services', record id='svc-77'" in run.stderr
    assert "records were not sent because the run stopped" in run.stderr
    journal = sandbox.journal()[catalog:]
    assert all(e["method"] != "DELETE" for e in journal), "a failed run deletes nothing"
    assert held(sandbox)["svc-77"]["name"] == "Service 77"


@pytest.mark.slow
def test_bulk_updates_go_250_at_a_time(sandbox, catalog, tmp_path):
    rows = [row(i, renamed=i < 260) for i in range(ENTRIES)]
    run_in_process(config(sandbox, tmp_path, "merge"), stream(rows))
    bulk = [e for e in sandbox.journal()[catalog:] if e["path"].endswith("/bulk_update")]
    assert [len(e["body"]["entries"]) for e in bulk] == [250, 10]
    assert sum(e["name"].endswith("(renamed)") for e in held(sandbox).values()) == 260


@pytest.mark.slow
def test_a_refused_attribute_names_the_record_field(sandbox, catalog, tmp_path):
    # `tier` is not an array attribute: incident.io refuses the list, naming the attribute.
    rows = [row(i) for i in range(ENTRIES)]
    rows[3] = row(3, renamed=True)
    rows[4] = row(4, tier=["a", "b"])
    settings = config(sandbox, tmp_path, "merge", on_error="continue")
    run_in_process(settings, stream(rows))

    [dead] = read_jsonl(tmp_path / "dead-merge.jsonl")
    assert dead["key"] == key(4)
    assert {e["field"] for e in dead["error"]["errors"]} == {"tier (attribute 01HTIER)"}
    assert held(sandbox)["svc-3"]["name"] == "Service 3 (renamed)"


# -- everything else -------------------------------------------------------------------------


@pytest.mark.slow
def test_requests_of_every_mode_match_the_spec(sandbox, catalog, tmp_path, openapi_validator):
    rows = [row(i, renamed=i < 3) for i in range(ENTRIES - 4)] + [row(2000)]
    run_in_process(config(sandbox, tmp_path, "merge"), stream(rows[:300]))
    run_in_process(config(sandbox, tmp_path, "sync"), stream(rows))
    journal = sandbox.journal()
    kinds = {
        (e["method"], e["path"].rsplit("/", 1)[-1] if e["method"] == "DELETE" else e["path"])
        for e in journal
    }
    assert {m for m, _ in kinds} == {"GET", "POST", "DELETE"}
    assert any(p.endswith("/bulk_update") for _, p in kinds)
    for entry in journal:
        openapi_validator(entry["method"], journal_url(sandbox, entry), entry["body"])
        assert entry["status"] < 300, entry
    # The check is live: a bulk body without entry ids is refused by the spec.
    bulk = next(e for e in journal if e["path"].endswith("/bulk_update"))
    broken = {**bulk["body"], "entries": [{"name": "x", "attribute_values": {}}]}
    with pytest.raises(AssertionError, match="does not match"):
        openapi_validator("POST", journal_url(sandbox, bulk), broken)


@pytest.mark.slow
def test_activate_version_is_a_snapshot_boundary(sandbox, catalog, tmp_path):
    def version(number: int, rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        message = {"type": "ACTIVATE_VERSION", "stream": STREAM, "version": number}
        return [message, *(record(STREAM, r) for r in rows), message]

    first = [row(i) for i in range(ENTRIES - 6)]  # 6 gone
    second = [row(i) for i in range(ENTRIES - 9)]  # 3 more gone
    messages = [SCHEMA, *version(1, first), *version(2, second), state({"b": 2})]
    states = run_in_process(config(sandbox, tmp_path, "sync"), messages)

    assert states == [{"b": 2}]
    journal = sandbox.journal()[catalog:]
    methods = [e["method"] for e in journal]
    # List (3 pages), delete 6 at the first boundary; list again (594 entries), delete 3.
    assert methods == ["GET"] * 3 + ["DELETE"] * 6 + ["GET"] * 3 + ["DELETE"] * 3
    assert len(held(sandbox)) == ENTRIES - 9


@pytest.mark.slow
def test_activate_version_can_be_turned_off(sandbox, catalog, tmp_path):
    # The SDK's `process_activate_version_messages`: off, the two versions are one snapshot
    # that ends with the stream, so only the 6 rows neither has are deleted, not 9.
    def version(number: int, rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        message = {"type": "ACTIVATE_VERSION", "stream": STREAM, "version": number}
        return [message, *(record(STREAM, r) for r in rows), message]

    first = [row(i) for i in range(ENTRIES - 6)]
    second = [row(i) for i in range(ENTRIES - 9)]
    settings = config(
        sandbox,
        tmp_path,
        "sync",
        process_activate_version_messages=False,
        snapshot_complete="end_of_input",  # the user says the input is one whole snapshot
    )
    run_in_process(settings, [SCHEMA, *version(1, first), *version(2, second)])

    methods = [e["method"] for e in sandbox.journal()[catalog:]]
    assert methods == ["GET"] * 3 + ["DELETE"] * 6
    assert len(held(sandbox)) == ENTRIES - 6


@pytest.mark.slow
def test_dry_run_lists_prints_the_plan_and_sends_nothing_else(sandbox, catalog, tmp_path):
    rows = [row(i, renamed=i == 1) for i in range(ENTRIES - 2)] + [row(900)]
    run = run_cli(config(sandbox, tmp_path, "sync", dry_run=True), stream(rows), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == []
    assert calls_since(sandbox, catalog) == {"list": 3}
    assert (
        f"catalog type {TYPE} (sync): 1 to create, 1 to update in 1 bulk call(s), "
        "597 unchanged, 2 to delete, 0 left alone; 600 entries listed" in run.stderr
    )
    assert "create (1): svc-900" in run.stderr
    assert "update (1): svc-1 (name)" in run.stderr
    assert "delete (2): svc-59" in run.stderr
    assert "svc-598 (entry " in run.stderr
    assert "svc-599 (entry " in run.stderr
    assert "Dry run, not sent: DELETE" in run.stderr
    assert len(held(sandbox)) == ENTRIES


@pytest.mark.slow
def test_repeated_external_ids_last_row_wins_and_every_record_is_settled(
    sandbox, catalog, tmp_path
):
    rows = [row(i) for i in range(ENTRIES)]
    rows += [row(5, renamed=True), row(5, name="Service 5 final"), row(6, renamed=True)]
    rows += [row(6), row(700, name="new"), row(700, name="newer")]
    run = run_cli(config(sandbox, tmp_path, "sync"), stream(rows, bookmark=9), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [done(9)], "every record settled, the dropped rows too"
    assert "the last row of each won: svc-5, svc-6, svc-700" in run.stderr
    entries = held(sandbox)
    assert entries["svc-5"]["name"] == "Service 5 final"
    assert entries["svc-6"]["name"] == "Service 6"  # renamed, then back: no call at all
    assert entries["svc-700"]["name"] == "newer"
    assert calls_since(sandbox, catalog) == {"list": 3, "bulk_update": 1, "create": 2}
    responses = read_jsonl(tmp_path / "responses-sync.jsonl")
    [bulk] = [r for r in responses if r["url"].endswith("/bulk_update")]
    assert bulk["record_keys"] == [key(5), key(5)]  # the first row of svc-5 was unchanged
    # 600 first rows and both rows of svc-6 unchanged; 2 rows in the bulk call, 2 creates.
    assert "4 records delivered (2 created, 2 updated), 602 unchanged (no call)" in run.stderr


@pytest.mark.slow
def test_a_type_that_cannot_be_listed_fails_its_records_clearly(sandbox, catalog, tmp_path):
    sandbox.load_seed({"api_key_roles": {API_KEY: ["catalog_editor"]}})  # cannot view
    rows = [row(i) for i in range(3)]
    settings = config(sandbox, tmp_path, "sync", on_error="continue")
    run = run_cli(settings, stream(rows), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert calls_since(sandbox, catalog) == {"list": 1}  # tried once, nothing written
    dead = read_jsonl(tmp_path / "dead-sync.jsonl")
    assert [d["key"] for d in dead] == [key(0), key(1), key(2)]
    message = dead[0]["error"]["message"]
    assert f"stream '{STREAM}', record id='svc-0', field 'catalog_type_id'" in message
    assert f"catalog type {TYPE} could not be listed" in message
    assert "HTTP 403" in message
    assert "catalog_entries.view" in message


@pytest.mark.slow
def test_each_catalog_type_of_a_stream_is_synced_on_its_own(sandbox, catalog, tmp_path):
    teams = [
        {"id": f"team-{i}", "name": f"Team {i}", "catalog_type_id": OTHER_TYPE} for i in range(3)
    ]
    rows = [row(i, catalog_type_id=TYPE) for i in range(ENTRIES - 1)] + teams
    settings = config(sandbox, tmp_path, "sync", catalog_type_id=None, catalog_attributes={})
    run_in_process(settings, stream(rows))
    journal = sandbox.journal()[catalog:]
    lists = [e["query"]["catalog_type_id"] for e in journal if e["method"] == "GET"]
    assert collections.Counter(lists) == {TYPE: 3, OTHER_TYPE: 1}
    assert calls_since(sandbox, catalog) == {"list": 4, "create": 3, "delete": 1}
    others = [e for e in sandbox.state()["catalog_entries"] if e["catalog_type_id"] == OTHER_TYPE]
    assert sorted(e["external_id"] for e in others) == ["team-0", "team-1", "team-2"]


@pytest.mark.slow
def test_sigterm_mid_stream_deletes_nothing(sandbox, catalog, tmp_path):
    # Half the rows (one renamed) arrive, then the target is stopped: the snapshot is not
    # complete, so nothing may be deleted; what is held is still sent.
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config(sandbox, tmp_path, "sync")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "target_incidentio", "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    half = [row(i, renamed=i == 2) for i in range(ENTRIES // 2)]
    for message in stream(half):
        proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()  # the pipe stays open: the tap is still "reading"
    deadline = time.monotonic() + 30
    while calls_since(sandbox, catalog).get("list", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # let the rows be read and compared (a loaded machine needs the time)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)

    # Stopped with input unread: not a success (issue 28 item 7), and nothing deleted.
    assert proc.returncode == 1, err[-3000:]
    assert "Stopped by SIGTERM before the end of the input" in err
    assert calls_since(sandbox, catalog) == {"list": 3, "bulk_update": 1}
    assert len(held(sandbox)) == ENTRIES
    assert held(sandbox)["svc-2"]["name"] == "Service 2 (renamed)"
    assert [json.loads(line) for line in out.splitlines()] == [done(1)], err[-3000:]


def test_the_catalog_settings_are_checked(sandbox, tmp_path):
    with pytest.raises(
        ConfigValidationError, match=r"catalog_max_delete_fraction`: must be a number from 0 to 1"
    ):
        run_in_process(config(sandbox, tmp_path, "sync", catalog_max_delete_fraction=2), [])
    with pytest.raises(
        ConfigValidationError, match=r"catalog_mode`: 'mirror' is not one of upsert, merge"
    ):
        run_in_process(config(sandbox, tmp_path, "mirror"), [])
    assert sandbox.journal() == []


def test_a_small_sync_from_an_empty_type(sandbox, tmp_path):
    rows = [row(i) for i in range(3)]
    states = run_in_process(config(sandbox, tmp_path, "sync"), stream(rows))
    assert states == [done(1)]
    assert calls_since(sandbox, 0) == {"list": 1, "create": 3}
    assert_catalog_equals(sandbox, rows)


def test_a_refusal_is_a_run_failure_in_process(sandbox, tmp_path):
    run_in_process(config(sandbox, tmp_path), stream(row(i) for i in range(4)))
    with pytest.raises(DeliveryFailedError, match="catalog_max_delete_fraction"):
        run_in_process(config(sandbox, tmp_path, "sync"), stream([row(0)]))
    assert len(held(sandbox)) == 4


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "merge"])
def test_a_mapped_field_the_schema_lacks_leaves_its_attribute_alone(
    sandbox, catalog, tmp_path, caplog, mode
):
    # `cost` deselected upstream: its attribute keeps its value. `critical` is in the schema
    # and null: that one clears. Only renamed rows change.
    narrowed = copy.deepcopy(SCHEMA)
    del narrowed["schema"]["properties"]["cost"]
    narrowed["schema"]["properties"]["critical"] = {"type": ["boolean", "null"]}
    rows = []
    for i in range(ENTRIES):
        r = row(i, renamed=i < 10)
        del r["cost"]
        if i < 10:
            r["critical"] = None
        rows.append(r)
    offset = len(sandbox.journal())
    before = held(sandbox)
    run_in_process(
        config(sandbox, tmp_path, mode),
        [narrowed, *(record(STREAM, r) for r in rows), state(done())],
    )

    bulk = [e for e in sandbox.journal()[offset:] if e["path"].endswith("/bulk_update")]
    assert bulk
    for call in bulk:
        assert "01HCOST" not in call["body"]["update_attributes"]
        for entry in call["body"]["entries"]:
            assert "01HCOST" not in entry["attribute_values"]
    entries = held(sandbox)
    for i in range(ENTRIES):
        assert literal(entries[f"svc-{i}"], "01HCOST") == literal(before[f"svc-{i}"], "01HCOST")
    assert literal(entries["svc-0"], "01HCRIT") is None  # in the schema and null: cleared
    warnings = [r.getMessage() for r in caplog.records if "SCHEMA does not have" in r.message]
    assert len(warnings) == 1
    assert "'cost'" in warnings[0]
