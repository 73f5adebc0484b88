"""`schedule_override` end to end against the sandbox: a cover table kept in step."""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode

import pytest
import requests
from support import read_jsonl, record, run_in_process, sandbox_config, schema, state

from incidentio_sandbox import Sandbox

API_KEY = "ik-test-Q7pv2cXX-overrides"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ANN, BOB, CAT = "01HUSERANN", "01HUSERBOB", "01HUSERCAT"
PRIMARY, SECONDARY, OTHER = "01HSCHEDPRIMARY", "01HSCHEDSECOND", "01HSCHEDOTHER"
WEEKLY, DAY, SHADOW, NIGHTS = "01HROTWEEKLY", "01HLAYDAY", "01HLAYSHADOW", "01HROTNIGHTS"
SEED: dict[str, t.Any] = {
    "users": [
        {"id": ANN, "name": "Ann", "email": "ann@example.com"},
        {"id": BOB, "name": "Bob", "email": "bob@example.com"},
        {"id": CAT, "name": "Cat", "email": "cat@example.com"},
    ],
    "schedules": [
        {
            "id": PRIMARY,
            "name": "Primary",
            "rotations": [
                {
                    "id": WEEKLY,
                    "name": "Weekly",
                    "user_ids": [ANN, BOB],
                    "layers": [{"id": DAY, "name": "Day"}, {"id": SHADOW, "name": "Shadow"}],
                },
                {"id": NIGHTS, "name": "Nights", "user_ids": [CAT]},
            ],
        },
        {"id": SECONDARY, "name": "Secondary", "rotations": [{"id": "01HROTSEC", "name": "All"}]},
        {"id": OTHER, "name": "Other", "rotations": [{"id": "01HROTOTHER", "name": "All"}]},
    ],
}
COVER = schema(
    "cover",
    {
        "cover_id": {"type": "string"},
        "schedule": {"type": "string"},
        "rotation": {"type": ["string", "null"]},
        "layer": {"type": ["string", "null"]},
        "user": {"type": "string"},
        "start_at": {"type": "string"},
        "end_at": {"type": "string"},
    },
    ["cover_id"],
)


def row(cover_id: str, schedule: str, user: str, start: str, end: str, **more: str) -> dict:
    data = {"cover_id": cover_id, "schedule": schedule, "user": user, "start_at": start}
    return record("cover", {**data, "end_at": end, **more})


def at(hour: int, day: int = 10, offset: str = "Z") -> str:
    return f"2030-06-{day:02d}T{hour:02d}:00:00{offset}"


@pytest.fixture
def oncall() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def _config(sb: Sandbox, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    # These cover tables are files checked before the run, so the end of input is the end of
    # the snapshot (the tap sends no completion signal here; see the cut-stream test).
    whole = {"snapshot_complete": "end_of_input", **extra}
    return sandbox_config(sb.url, tmp_path, API_KEY, "schedule_override", **whole)


def _place(sb: Sandbox, schedule: str, rotation: str, layer: str, user: str, start: str, end: str):
    body = {
        "schedule_id": schedule,
        "rotation_id": rotation,
        "layer_id": layer,
        "user": {"id": user},
        "start_at": start,
        "end_at": end,
    }
    reply = requests.post(f"{sb.url}/v2/schedule_overrides", json=body, headers=AUTH, timeout=10)
    assert reply.status_code == 201, reply.text
    return reply.json()["override"]


def _live(sb: Sandbox) -> set[tuple[str, str, str, str, str, str]]:
    return {
        (
            o["schedule_id"],
            o["rotation_id"],
            o["layer_id"],
            o["user"]["id"],
            o["start_at"],
            o["end_at"],
        )
        for o in sb.state()["schedule_overrides"]
    }


def _writes(sb: Sandbox, since: int = 0) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sb.journal()[since:] if e["method"] != "GET"]


def test_add_then_sync_over_three_runs(oncall, tmp_path, openapi_validator):
    past = _place(oncall, PRIMARY, WEEKLY, DAY, BOB, "2020-01-01T09:00:00Z", "2020-01-01T17:00:00Z")
    first = [
        row("a", "primary", "ann@example.com", at(9), at(17), rotation="Weekly", layer="day"),
        row("b", "Secondary", "bob@example.com", at(9), at(17)),
        row("c", PRIMARY, CAT, at(20, 10, "+02:00"), at(23, 10, "+02:00"), rotation="Nights"),
    ]
    run_in_process(_config(oncall, tmp_path), [COVER, *first])
    nights = _layer(oncall, PRIMARY, 1)
    assert _live(oncall) == {
        (PRIMARY, WEEKLY, DAY, BOB, "2020-01-01T09:00:00Z", "2020-01-01T17:00:00Z"),
        (PRIMARY, WEEKLY, DAY, ANN, at(9), at(17)),
        (SECONDARY, "01HROTSEC", _layer(oncall, SECONDARY), BOB, at(9), at(17)),
        (PRIMARY, NIGHTS, nights, CAT, at(18), at(21)),  # +02:00, in UTC
    }
    for entry in oncall.journal():
        query = f"?{urlencode(entry['query'], doseq=True)}" if entry["query"] else ""
        openapi_validator(entry["method"], oncall.url + entry["path"] + query, entry["body"])
    c_id = next(o["id"] for o in oncall.state()["schedule_overrides"] if o["user"]["id"] == CAT)

    # Run 2, sync: a's user changed (a delete plus a create), b left the table (Secondary
    # stays in scope through override_schedules), c written at another offset (a match).
    since = len(oncall.journal())
    second = [
        row("a", "Primary", "cat@example.com", at(9), at(17), rotation="Weekly", layer="Day"),
        row("c", PRIMARY, CAT, at(18), at(21), rotation="Nights"),
        row(
            "d",
            "Primary",
            "bob@example.com",
            at(9, 11),
            at(17, 11),
            rotation="Weekly",
            layer="Shadow",
        ),
    ]
    sync = _config(
        oncall,
        tmp_path,
        override_mode="sync",
        override_schedules=["Secondary"],
        override_max_delete_fraction=1,
    )
    run_in_process(sync, [COVER, *second])
    live = _live(oncall)
    assert live == {
        (PRIMARY, WEEKLY, DAY, BOB, "2020-01-01T09:00:00Z", "2020-01-01T17:00:00Z"),  # past
        (PRIMARY, WEEKLY, DAY, CAT, at(9), at(17)),
        (PRIMARY, NIGHTS, nights, CAT, at(18), at(21)),
        (PRIMARY, WEEKLY, SHADOW, BOB, at(9, 11), at(17, 11)),
    }
    assert c_id in {o["id"] for o in oncall.state()["schedule_overrides"]}  # never touched
    assert past["id"] in {o["id"] for o in oncall.state()["schedule_overrides"]}
    writes = _writes(oncall, since)
    assert sorted(m for m, _ in writes) == ["DELETE", "DELETE", "POST", "POST"]
    assert writes.index(next(w for w in writes if w[0] == "POST")) > 1  # deletes first
    actions = [
        r for r in read_jsonl(tmp_path / "responses.jsonl") if r["method"] in ("POST", "DELETE")
    ]
    assert all(r["resource_id"] for r in actions if r["method"] == "POST")

    # Run 3: the same table: nothing to write.
    since = len(oncall.journal())
    run_in_process(sync, [COVER, *second])
    assert _writes(oncall, since) == []
    assert _live(oncall) == live


def test_out_of_scope_schedules_are_never_touched(oncall, tmp_path):
    other = _place(oncall, SECONDARY, "01HROTSEC", _layer(oncall, SECONDARY), ANN, at(9), at(17))
    rows = [row("a", "Primary", "ann@example.com", at(9), at(17), rotation="Nights")]
    run_in_process(_config(oncall, tmp_path, override_mode="sync"), [COVER, *rows])
    assert other["id"] in {o["id"] for o in oncall.state()["schedule_overrides"]}
    assert not any(e["query"].get("schedule_id") == SECONDARY for e in oncall.journal())


def _layer(sb: Sandbox, schedule: str, rotation: int = 0) -> str:
    found = requests.get(f"{sb.url}/v2/schedules/{schedule}", headers=AUTH, timeout=10).json()
    return found["schedule"]["config"]["rotations"][rotation]["layers"][0]["id"]


def test_the_delete_guard_deletes_nothing_and_fails_the_run(oncall, tmp_path):
    for hour in (1, 3, 5):
        _place(oncall, PRIMARY, WEEKLY, DAY, ANN, at(hour), at(hour + 1))
    before = _live(oncall)
    rows = [row("a", "Primary", "ann@example.com", at(1), at(2), rotation="Weekly", layer="Day")]
    with pytest.raises(Exception, match="override_max_delete_fraction"):
        run_in_process(_config(oncall, tmp_path, override_mode="sync"), [COVER, *rows])
    assert _live(oncall) == before
    assert not [w for w in _writes(oncall) if w[0] == "DELETE"]


def test_overlapping_windows_end_as_the_rows_say(oncall, tmp_path):
    wide = _place(oncall, PRIMARY, WEEKLY, DAY, BOB, at(9), at(17))
    rows = [
        row("bob", "Primary", "bob@example.com", at(9), at(12), rotation="Weekly", layer="Day"),
        row("ann", "Primary", "ann@example.com", at(12), at(20), rotation="Weekly", layer="Day"),
    ]
    config = _config(oncall, tmp_path, override_mode="sync", override_max_delete_fraction=1)
    run_in_process(config, [COVER, *rows])
    assert _live(oncall) == {
        (PRIMARY, WEEKLY, DAY, BOB, at(9), at(12)),
        (PRIMARY, WEEKLY, DAY, ANN, at(12), at(20)),
    }
    deleted = [p for m, p in _writes(oncall) if m == "DELETE"]
    assert deleted == [f"/v2/schedule_overrides/{wide['id']}"]  # deleted first: nothing cut


def test_add_mode_over_a_neighbour_lists_again_and_never_deletes(oncall, tmp_path):
    _place(oncall, PRIMARY, WEEKLY, DAY, BOB, at(9), at(17))
    rows = [
        row("ann", "Primary", "ann@example.com", at(12), at(20), rotation="Weekly", layer="Day")
    ]
    run_in_process(_config(oncall, tmp_path), [COVER, *rows])
    # incident.io cut Bob's override; his leftover time came back. Nothing was deleted by us.
    assert _live(oncall) == {
        (PRIMARY, WEEKLY, DAY, BOB, at(9), at(12)),
        (PRIMARY, WEEKLY, DAY, ANN, at(12), at(20)),
    }
    assert not [w for w in _writes(oncall) if w[0] == "DELETE"]
    listings = [
        e
        for e in oncall.journal()
        if e["path"] == "/v2/schedule_overrides" and e["method"] == "GET"
    ]
    assert len(listings) == 2  # once, and again after the write that covered a neighbour


def test_names_resolve_and_unknown_ones_fail_naming_the_closest(oncall, tmp_path):
    rows = [
        row("a", "Primry", "ann@example.com", at(9), at(17)),
        row("b", "Primary", "ann@example.com", at(9), at(17)),  # two rotations: which?
        row("c", "Primary", "zed@example.com", at(9), at(17), rotation="Nights"),
        row("d", "primary", "ANN@example.com", at(9), at(17), rotation="nights"),
    ]
    run_in_process(_config(oncall, tmp_path, on_error="continue"), [COVER, *rows])
    failed = {
        r["record_keys"][0]: r["error"]["message"]
        for r in read_jsonl(tmp_path / "responses.jsonl")
        if r["status"] == "invalid"
    }
    assert "closest: Primary" in failed["cover_id='a'"]
    assert "Weekly, Nights" in failed["cover_id='b'"]
    assert "'zed@example.com' is not a user" in failed["cover_id='c'"]
    assert [o["user"]["id"] for o in oncall.state()["schedule_overrides"]] == [ANN]


def test_a_dry_run_prints_per_schedule_what_would_change_and_writes_nothing(
    oncall, tmp_path, caplog
):
    old = _place(oncall, PRIMARY, WEEKLY, DAY, BOB, at(9), at(17))
    rows = [row("a", "Primary", "ann@example.com", at(9), at(17), rotation="Weekly", layer="Day")]
    config = _config(
        oncall, tmp_path, override_mode="sync", override_max_delete_fraction=1, dry_run=True
    )
    with caplog.at_level("INFO", logger="target-incidentio"):
        run_in_process(config, [COVER, *rows])
    assert _writes(oncall) == [("POST", "/v2/schedule_overrides")]  # only our own placing
    lines = [r.getMessage() for r in caplog.records if "dry run: schedule" in r.getMessage()]
    assert lines == [
        (
            f"Stream 'cover', dry run: schedule {PRIMARY}: would create 1 ({ANN} {at(9)} to "
            f"{at(17)}); would delete 1 ({old['id']})."
        )
    ]


def _finished() -> dict[str, t.Any]:
    """A singer-sdk INCREMENTAL stream's last STATE: the tap says it finished the stream."""
    bookmark = {"replication_key": "updated_at", "replication_key_value": "2030-06-01"}
    return state({"bookmarks": {"cover": bookmark}})


def test_a_cut_stream_deletes_nothing_and_says_so(oncall, tmp_path, caplog):
    """No completion signal under the default `tap_signal`: rows created, nothing deleted."""
    stale = _place(oncall, PRIMARY, WEEKLY, DAY, BOB, at(9), at(17))
    rows = [
        row("a", "Primary", "ann@example.com", at(9), at(17), rotation="Weekly", layer="Shadow")
    ]
    config = _config(oncall, tmp_path, override_mode="sync", override_max_delete_fraction=1)
    del config["snapshot_complete"]
    with caplog.at_level("WARNING", logger="target-incidentio"):
        run_in_process(config, [COVER, *rows])
    assert stale["id"] in {o["id"] for o in oncall.state()["schedule_overrides"]}
    assert [m for m, _ in _writes(oncall)] == ["POST", "POST"]  # our placing, then row a
    said = [r.getMessage() for r in caplog.records if "did not signal" in r.getMessage()]
    assert len(said) == 1
    assert "Stream 'cover'" in said[0]
    assert "no override is deleted (override_mode sync)" in said[0]
    assert "snapshot_complete" in said[0]

    # The same stream, finished by the tap (a finished singer-sdk bookmark): now it deletes.
    since = len(oncall.journal())
    run_in_process(config, [COVER, *rows, _finished()])
    assert _writes(oncall, since) == [("DELETE", f"/v2/schedule_overrides/{stale['id']}")]


def test_response_records_say_what_each_override_met(oncall, tmp_path):
    """`action` and the override's id (`resource_id`): created, unchanged, deleted."""
    gone = _place(oncall, PRIMARY, WEEKLY, DAY, BOB, at(9, 12), at(17, 12))
    kept = _place(oncall, PRIMARY, WEEKLY, DAY, ANN, at(9), at(17))
    kept_at = (at(11, 10, "+02:00"), at(19, 10, "+02:00"))  # 09:00Z to 17:00Z
    rows = [
        row("kept", "Primary", "ann@example.com", *kept_at, rotation="Weekly", layer="Day"),
        row("new", PRIMARY, CAT, at(9, 11), at(17, 11), rotation=WEEKLY, layer=DAY),
    ]
    config = _config(oncall, tmp_path, override_mode="sync", override_max_delete_fraction=1)
    run_in_process(config, [COVER, *rows])
    records = read_jsonl(tmp_path / "responses.jsonl")
    met = {
        (r["record_keys"][0] if r["method"] != "DELETE" else "-", r["action"], r["resource_id"])
        for r in records
        if r["action"] is not None
    }
    made = next(o["id"] for o in oncall.state()["schedule_overrides"] if o["user"]["id"] == CAT)
    assert met == {
        ("cover_id='kept'", "unchanged", kept["id"]),
        ("cover_id='new'", "created", made),
        ("-", "deleted", gone["id"]),
    }
    assert all(r["incident_id"] is None for r in records)  # the incident columns stay empty
    assert all(r["action"] is None for r in records if r["method"] == "GET")  # listings
