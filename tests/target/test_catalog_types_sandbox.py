"""Catalog types by name and made from the stream's SCHEMA, end to end against the sandbox.

The sandbox holds every call to the spec (`POST /v3/catalog_types`, `update_schema` with its
`version`), so what the target sends is validated there; the tests assert on what it received
and holds.
"""

from __future__ import annotations

import json
import logging
import typing as t

import pytest
import requests
from support import record, run_cli, run_in_process, schema, state

from incidentio_sandbox import Sandbox
from target_incidentio.catalog.type_setup import prepare_catalog_type
from target_incidentio.catalog.types import MANAGED_BY, TYPES_PATH, schema_path
from target_incidentio.core.errors import DeliveryFailedError
from target_incidentio.core.secrets import Redactor
from target_incidentio.operations import parse_settings
from target_incidentio.payloads.base import BuildContext
from target_incidentio.run.lifecycle import Run

API_KEY = "ik-test-catalog-types-Rw42"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
STREAM = "services"
BASE_FIELDS: dict[str, t.Any] = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "tier": {"type": ["integer", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "critical": {"type": "boolean"},
}
COST = {"cost": {"type": ["null", "number"]}}


def rows(count: int, *, cost: bool = False) -> list[dict[str, t.Any]]:
    return [
        {
            "id": f"svc-{i}",
            "name": f"Service {i}",
            "tier": i,
            "tags": ["pci", f"t{i}"],
            "critical": i == 0,
            **({"cost": 1.5 + i} if cost else {}),
        }
        for i in range(count)
    ]


def messages(count: int, *, cost: bool = False) -> list[dict[str, t.Any]]:
    fields = {**BASE_FIELDS, **(COST if cost else {})}
    body = [record(STREAM, r) for r in rows(count, cost=cost)]
    # The tap's last STATE: a finished singer-sdk bookmark, so sync may delete.
    finished = {"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": count}}}
    return [schema(STREAM, fields, ["id"]), *body, state(finished)]


def config(sb: Sandbox, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "catalog_entry",
        "catalog_manage_type": True,
        "progress_interval": 60,
        **extra,
    }


def the_type(sb: Sandbox, name: str) -> dict[str, t.Any]:
    listed = requests.get(sb.url + TYPES_PATH, headers=AUTH, timeout=10).json()["catalog_types"]
    (found,) = [kind for kind in listed if kind["name"] == name]
    return found


def by_name(kind: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {a["name"]: a for a in kind["schema"]["attributes"]}


def type_calls(sb: Sandbox) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sb.journal() if e["path"].startswith(TYPES_PATH)]


def entries(sb: Sandbox) -> dict[str, dict[str, t.Any]]:
    return {e["external_id"]: e for e in sb.state()["catalog_entries"]}


@pytest.fixture
def sandbox() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY) as sb:
        yield sb


def test_a_stream_creates_its_type_and_entries_carry_values_under_the_new_ids(sandbox):
    run_in_process(config(sandbox), messages(3))

    calls = type_calls(sandbox)
    kind = the_type(sandbox, STREAM)  # no `catalog_type`: the stream names the type
    assert kind["annotations"] == {MANAGED_BY: STREAM}
    assert STREAM in kind["description"]
    attributes = by_name(kind)
    assert {n: (a["type"], a["array"]) for n, a in attributes.items()} == {
        "tier": ("Number", False),
        "tags": ("String", True),
        "critical": ("Bool", False),
    }
    assert kind["schema"]["version"] == 2  # created, then one update_schema
    assert calls == [
        ("GET", TYPES_PATH),
        ("POST", TYPES_PATH),
        ("GET", TYPES_PATH),  # read again: a create retried after a lost answer makes two
        ("POST", schema_path(kind["id"])),
    ]
    first = entries(sandbox)["svc-0"]
    assert first["catalog_type_id"] == kind["id"]
    assert first["attribute_values"] == {
        attributes["tier"]["id"]: {"value": {"literal": "0"}},
        attributes["tags"]["id"]: {"array_value": [{"literal": "pci"}, {"literal": "t0"}]},
        attributes["critical"]["id"]: {"value": {"literal": "true"}},
    }
    assert len(entries(sandbox)) == 3


def test_a_second_run_with_one_more_column_adds_exactly_that_attribute(sandbox):
    run_in_process(config(sandbox, catalog_type="Service"), messages(2))
    before = by_name(the_type(sandbox, "Service"))
    offset = len(sandbox.journal())

    run_in_process(config(sandbox, catalog_type="Service"), messages(2, cost=True))

    after = the_type(sandbox, "Service")
    grown = by_name(after)
    assert {n: a["id"] for n, a in grown.items() if n != "cost"} == {
        n: a["id"] for n, a in before.items()
    }
    assert (grown["cost"]["type"], grown["cost"]["array"]) == ("Number", False)
    (update,) = [e for e in sandbox.journal()[offset:] if e["path"] == schema_path(after["id"])]
    assert update["body"]["version"] == 2
    assert update["body"]["attributes"][-1] == {"name": "cost", "type": "Number", "array": False}
    assert [a["id"] for a in update["body"]["attributes"][:-1]] == [
        a["id"] for a in before.values()
    ]
    assert not any(
        e["path"] == TYPES_PATH and e["method"] == "POST" for e in sandbox.journal()[offset:]
    )
    assert entries(sandbox)["svc-1"]["attribute_values"][grown["cost"]["id"]] == {
        "value": {"literal": "2.5"}
    }


def test_a_field_that_left_the_stream_keeps_its_attribute_with_a_warning(sandbox, caplog):
    run_in_process(config(sandbox), messages(1, cost=True))
    offset = len(sandbox.journal())
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        run_in_process(config(sandbox), messages(1))
    assert "cost" in by_name(the_type(sandbox, STREAM))
    assert not any("update_schema" in e["path"] for e in sandbox.journal()[offset:])
    assert "attributes cost of catalog type services have no field in the stream" in caplog.text


DASHBOARD = {
    "catalog_types": [
        {
            "id": "01TDASHBOARD",
            "name": "Service",
            "attributes": [
                {"id": "01ATIER", "name": "Tier", "type": "Number"},
                {"id": "01ATAGS", "name": "Tags", "type": "String", "array": True},
            ],
        }
    ]
}


@pytest.mark.parametrize("manage", [False, True])
def test_a_dashboard_type_by_name_receives_entries_and_is_never_changed(manage, caplog):
    with Sandbox(api_key=API_KEY, seed=DASHBOARD) as sb:
        settings = config(
            sb,
            catalog_type="Service",
            catalog_manage_type=manage,
            catalog_attributes={"tier": "Tier", "tags": "Tags", "critical": "Critical"},
        )
        with caplog.at_level(logging.WARNING, logger="target-incidentio"):
            run_in_process(settings, messages(2))
        calls = type_calls(sb)
        assert calls == [("GET", TYPES_PATH)]  # listed once, never created or changed
        assert the_type(sb, "Service")["schema"]["version"] == 1
        assert entries(sb)["svc-1"]["attribute_values"] == {
            "01ATIER": {"value": {"literal": "1"}},
            "01ATAGS": {"array_value": [{"literal": "pci"}, {"literal": "t1"}]},
        }
    assert "catalog type Service has no attribute for fields 'critical'" in caplog.text
    assert caplog.text.count("has no attribute for fields") == 1  # once per stream
    assert "are not used by this operation" not in caplog.text  # not twice in other words
    if manage:
        assert "was not created by target-incidentio" in caplog.text


def test_a_type_by_name_that_does_not_exist_fails_the_run_before_any_entry(sandbox):
    settings = config(sandbox, catalog_type="Servce", catalog_manage_type=False)
    with pytest.raises(DeliveryFailedError, match="catalog type Servce could not be settled"):
        run_in_process(settings, messages(2))
    assert sandbox.state()["catalog_entries"] == []


def test_a_refused_schema_fails_the_run_at_start_naming_the_type_and_attribute(sandbox):
    settings = config(sandbox, catalog_references={"tier": 'Custom["Team"]'})  # no such type
    with pytest.raises(DeliveryFailedError) as failure:
        run_in_process(settings, messages(2))
    text = str(failure.value)
    assert "catalog type services could not be settled" in text
    assert 'tier: Custom["Team"]' in text
    assert "422" in text
    assert sandbox.state()["catalog_entries"] == []


def test_a_key_that_may_not_create_types_fails_the_run_at_start_with_the_role():
    roles = {API_KEY: ["catalog_viewer", "catalog_editor"]}
    with Sandbox(api_key=API_KEY, seed={"api_key_roles": {API_KEY: ["catalog_viewer"]}}) as sb:
        with pytest.raises(DeliveryFailedError) as failure:
            run_in_process(config(sb), messages(2))
        assert sb.state()["catalog_entries"] == []
        sb.load_seed({"api_key_roles": roles})
        run_in_process(config(sb), messages(2))  # the same run, with the role: delivered
        assert len(sb.state()["catalog_entries"]) == 2
    text = str(failure.value)
    assert "catalog type services could not be settled before the first entry" in text
    assert "creating it was refused" in text
    assert "403" in text
    assert "needs the `catalog_editor` role" in text


def test_a_create_whose_answer_was_lost_uses_the_first_type_on_every_run(sandbox, caplog):
    # The create takes effect, its answer is a 500, and the retry creates the type again
    # (the endpoint takes no idempotency key).
    sandbox.set_faults(
        script=[{"path": TYPES_PATH, "method": "POST", "fault": "apply-then-500", "count": 1}]
    )
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        run_in_process(config(sandbox), messages(2))
        run_in_process(config(sandbox), messages(3))
    listed = requests.get(sandbox.url + TYPES_PATH, headers=AUTH, timeout=10).json()
    first, twin = sorted(listed["catalog_types"], key=lambda kind: kind["id"])
    assert (first["name"], twin["name"]) == (STREAM, STREAM)
    assert {e["catalog_type_id"] for e in entries(sandbox).values()} == {first["id"]}
    assert len(entries(sandbox)) == 3
    assert twin["schema"]["attributes"] == []  # never grown: only the first is used
    assert f"{first['id']} is used, and {twin['id']} can be deleted" in caplog.text


def test_a_create_retried_into_a_refusal_uses_the_type_its_first_attempt_made(sandbox):
    # With a type_name given, the retry of an applied create is refused as a duplicate.
    sandbox.set_faults(
        script=[{"path": TYPES_PATH, "method": "POST", "fault": "apply-then-500", "count": 1}]
    )
    run_in_process(config(sandbox, catalog_type='Custom["Inventory"]'), messages(2))
    statuses = [e["status"] for e in sandbox.journal() if e["path"] == TYPES_PATH]
    assert statuses == [200, 500, 422, 200]  # list, applied then 500, refused retry, list
    kind = the_type(sandbox, "Inventory")
    assert kind["type_name"] == 'Custom["Inventory"]'
    assert {e["catalog_type_id"] for e in entries(sandbox).values()} == {kind["id"]}


def test_a_reference_attribute_takes_the_referenced_entries_external_ids():
    team = {"id": "01TTEAM", "name": "Team", "type_name": 'Custom["Team"]'}
    with Sandbox(api_key=API_KEY, seed={"catalog_types": [team]}) as sb:
        fields = {**BASE_FIELDS, "owner": {"type": "string"}}
        body = [record(STREAM, {**r, "owner": "payments-team"}) for r in rows(1)]
        settings = config(sb, catalog_references={"owner": 'Custom["Team"]'})
        run_in_process(settings, [schema(STREAM, fields, ["id"]), *body])
        owner = by_name(the_type(sb, STREAM))["owner"]
        assert (owner["type"], owner["array"]) == ('Custom["Team"]', False)
        values = entries(sb)["svc-0"]["attribute_values"]
        assert values[owner["id"]] == {"value": {"literal": "payments-team"}}


def test_a_managed_type_under_catalog_mode_sync(sandbox):
    run_in_process(config(sandbox, catalog_mode="sync"), messages(3))
    assert len(entries(sandbox)) == 3
    offset = len(sandbox.journal())

    run_in_process(config(sandbox, catalog_mode="sync"), messages(2, cost=True))

    held = entries(sandbox)
    assert sorted(held) == ["svc-0", "svc-1"]  # svc-2 left the stream: deleted
    cost = by_name(the_type(sandbox, STREAM))["cost"]["id"]
    assert held["svc-1"]["attribute_values"][cost] == {"value": {"literal": "2.5"}}
    later = [(e["method"], e["path"]) for e in sandbox.journal()[offset:]]
    assert later.count(("POST", "/v3/catalog_entries/actions/bulk_update")) == 1
    assert sum(method == "DELETE" for method, _ in later) == 1


class _Interfering:
    """The run as a strategy sees it, but another tool changes the schema just before ours."""

    def __init__(self, run: Run, sb: Sandbox, times: int) -> None:
        self._run = run
        self._sb = sb
        self._left = times

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._run, name)

    def call(self, request):
        if request.url.endswith("/update_schema") and self._left:
            self._left -= 1
            kind = the_type(self._sb, STREAM)
            mine = [
                {k: a[k] for k in ("id", "name", "type", "array")}
                for a in kind["schema"]["attributes"]
            ]
            name = f"elsewhere{self._left}"
            other = {
                "version": kind["schema"]["version"],
                "attributes": [*mine, {"name": name, "type": "String", "array": False}],
            }
            moved = requests.post(
                self._sb.url + schema_path(kind["id"]), json=other, headers=AUTH, timeout=10
            )
            assert moved.status_code == 200
        return self._run.call(request)


def _settle_with_interference(sb: Sandbox, times: int):
    run_in_process(config(sb), messages(1))  # the type exists, managed
    settings = parse_settings(config(sb))
    run = Run(settings, Redactor([]), lambda _line: None)
    run.start()
    ctx = BuildContext(stream=STREAM, key_properties=("id",), settings=settings.for_stream(STREAM))
    fields = {"properties": {**BASE_FIELDS, **COST}}
    try:
        return prepare_catalog_type(ctx, fields, _Interfering(run, sb, times))
    finally:
        run.abort()


def test_a_schema_changed_meanwhile_is_read_again_and_retried_once(sandbox):
    settled = _settle_with_interference(sandbox, times=1)
    kind = the_type(sandbox, STREAM)
    attributes = by_name(kind)
    assert set(attributes) == {"tier", "tags", "critical", "elsewhere0", "cost"}  # both kept
    assert settled.settings.catalog_attributes["cost"] == attributes["cost"]["id"]
    updates = [e for e in sandbox.journal() if e["path"] == schema_path(kind["id"])]
    assert [e["status"] for e in updates] == [200, 200, 422, 200]  # first run, other, ours x2


def test_a_schema_that_keeps_moving_is_reported_after_one_retry(sandbox):
    with pytest.raises(DeliveryFailedError, match="adding cost: Number was refused"):
        _settle_with_interference(sandbox, times=2)
    assert "cost" not in by_name(the_type(sandbox, STREAM))


# -- dry run and --check (the target as a process, as Meltano runs it) ----------------------


def _check(sb: Sandbox, tmp_path, **extra: t.Any) -> str:
    cfg = config(sb, streams={STREAM: {"operation": "catalog_entry", **extra}})
    offset = len(sb.journal())
    run = run_cli(cfg, "", tmp_path, args=["--check"])
    assert run.stdout == ""
    assert {entry["method"] for entry in sb.journal()[offset:]} <= {"GET"}
    return run.stderr + f"\nexit {run.returncode}"


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_changes_nothing(sandbox, tmp_path):
    run = run_cli(config(sandbox, dry_run=True, catalog_mode="sync"), messages(2), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (
        f"Stream '{STREAM}', dry run: would create catalog type {STREAM} (managed by this "
        "stream) with attributes: tier: Number, tags: String (array), critical: Bool."
    ) in run.stderr
    assert [e["method"] for e in sandbox.journal()] == ["GET"]  # the types listing only
    run_in_process(config(sandbox), messages(1))
    offset = len(sandbox.journal())
    run = run_cli(config(sandbox, dry_run=True), messages(1, cost=True), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    kind = the_type(sandbox, STREAM)
    assert f"dry run: would add to catalog type {STREAM} ({kind['id']}): cost: Number." in (
        run.stderr
    )
    assert {e["method"] for e in sandbox.journal()[offset:]} == {"GET"}
    assert "cost" not in by_name(kind)


@pytest.mark.slow
def test_check_says_whether_the_type_exists_is_managed_and_which_fields_lack_an_attribute(
    tmp_path,
):
    with Sandbox(api_key=API_KEY, seed=DASHBOARD) as sb:
        missing = _check(sb, tmp_path)
        assert f"check passed: streams.{STREAM}.catalog_type: catalog type {STREAM} does not " in (
            missing
        )
        assert "the first run creates it" in missing
        assert missing.endswith("exit 0")

        run_in_process(config(sb), messages(1))
        managed = _check(sb, tmp_path, catalog_attributes={"tier": "tier", "cost": "cost"})
        assert f"managed by target-incidentio (stream '{STREAM}')" in managed
        assert "fields cost have no attribute yet; the next run adds them" in managed
        assert managed.endswith("exit 0")

        dashboard = _check(
            sb,
            tmp_path,
            catalog_type="Service",
            catalog_attributes={"tier": "Tier", "critical": "Critical"},
        )
        assert "catalog type Service exists (`01TDASHBOARD`), not created by target-incidentio" in (
            dashboard
        )
        assert (
            f"check FAILED: streams.{STREAM}.catalog_attributes: fields critical have no "
            "attribute in catalog type Service"
        ) in dashboard
        assert "Tier = 01ATIER" in dashboard
        assert dashboard.endswith("exit 1")

        references = {"owner": 'Custom["Team"]', "parent": 'Custom["Service"]'}
        referenced = _check(sb, tmp_path, catalog_references=references)
        assert (
            f"check FAILED: streams.{STREAM}.catalog_references: `owner` references catalog "
            'type Custom["Team"], which does not exist'
        ) in referenced
        assert '`parent` references Custom["Service"] (`01TDASHBOARD`)' in referenced
        assert referenced.endswith("exit 1")

        absent = _check(sb, tmp_path, catalog_type="Servce", catalog_manage_type=False)
        assert (
            "check FAILED: streams.services.catalog_type: catalog type Servce does not exist"
            in (absent)
        )


def test_the_response_log_says_what_each_call_of_the_targets_own_was(sandbox, tmp_path):
    """Not "a look-up": a type created and its schema grown are writes, and say which."""
    log = tmp_path / "responses.jsonl"
    run_in_process(config(sandbox, response_log_path=str(log)), messages(2))
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    own = [(r["method"], r["purpose"]) for r in records if not r["record_keys"]]
    assert own == [
        ("GET", "look-up"),
        ("POST", "create catalog type"),
        ("GET", "look-up"),
        ("POST", "update catalog type schema"),
    ]
    assert all(r["purpose"] is None for r in records if r["record_keys"])
