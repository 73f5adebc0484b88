"""On-call (issue 29): a cover table kept in step, and escalations paced to 60 a minute.

Cover: 2,000 rows over 20 schedules are placed by a first run (`override_mode: add`, not
measured); a second run in `override_mode: sync` changes 1% of the rows (a new user: a delete
plus a create). Its calls are counted from the sandbox journal against the least it can be:
one listing page per schedule (100 overrides each, pages of 250), the two name lists
(schedules, users) and the changes. Expected: no call beyond those.

Escalations: 150 rows with distinct keys to a sandbox enforcing the endpoint's 60 a minute;
the busiest 60 s of accepted creates (arrival times in the journal). Expected: <= 60, at
most 2 answered 429.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import (
    API_KEY,
    Check,
    SandboxProcess,
    accepted_times,
    most_in_window,
    print_checks,
    print_table,
    run_target,
)

WINDOW_SECONDS = 60.0
TOO_MANY = 429


def _seed(schedules: int, users: int) -> dict[str, object]:
    return {
        "users": [
            {"id": f"01HUSER{u:019d}", "name": f"U{u}", "email": f"u{u}@example.com"}
            for u in range(users)
        ],
        "schedules": [
            {
                "id": f"01HSCHED{s:018d}",
                "name": f"Schedule {s}",
                "rotations": [{"id": f"01HROT{s:020d}", "name": "All"}],
            }
            for s in range(schedules)
        ],
        "escalation_paths": [
            {
                "id": "01HPATH0000000000000000000",
                "name": "Data",
                "user_ids": ["01HUSER0000000000000000000"],
            }
        ],
    }


def _lines(
    stream: str, properties: dict[str, object], key: str, rows: list[dict[str, object]]
) -> bytes:
    schema = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"properties": properties},
        "key_properties": [key],
    }
    out = [json.dumps(schema)] + [
        json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in rows
    ]
    return ("\n".join(out) + "\n").encode()


def _cover(rows: int, schedules: int, changed_every: int) -> list[dict[str, object]]:
    made = []
    for n in range(rows):
        s, slot = n % schedules, n // schedules
        user = (slot + 1) % 20 if changed_every and n % changed_every == 0 else slot % 20
        hour = slot * 2  # two-hour slots, an hour each: no two rows of a layer overlap
        start = f"2031-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"
        end = f"2031-01-{1 + hour // 24:02d}T{hour % 24 + 1:02d}:00:00Z"
        made.append(
            {
                "id": str(n),
                "schedule": f"Schedule {s}",
                "user": f"u{user}@example.com",
                "start_at": start,
                "end_at": end,
            }
        )
    return made


COVER_PROPERTIES = {k: {"type": "string"} for k in ("id", "schedule", "user", "start_at", "end_at")}


def cover(rows: int = 2000, schedules: int = 20) -> list[Check]:
    """Sync of a cover table with 1% changed: calls against listing pages plus changes."""
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(_seed(schedules, 20)))
        with SandboxProcess("--seed-file", str(seed)) as sandbox:
            config = {
                "api_key": API_KEY,
                "base_url": sandbox.url,
                "operation": "schedule_override",
                "progress_interval": 3600,
            }
            run_target(
                config, _lines("cover", COVER_PROPERTIES, "id", _cover(rows, schedules, 0))
            ).check()
            before = len(sandbox.journal())
            # The rows are one whole snapshot sent without a tap's completion signal.
            sync = {**config, "override_mode": "sync", "snapshot_complete": "end_of_input"}
            result = run_target(
                sync, _lines("cover", COVER_PROPERTIES, "id", _cover(rows, schedules, 100))
            ).check()
            calls = sandbox.journal()[before:]
    changes = rows // 100
    writes = [e for e in calls if e["method"] != "GET"]
    pages = [e for e in calls if e["path"] == "/v2/schedule_overrides" and e["method"] == "GET"]
    lists = [e for e in calls if e["method"] == "GET" and e["path"] != "/v2/schedule_overrides"]
    least = schedules + 2 + 2 * changes  # a page per schedule, two name lists, delete + create
    print_table(
        "Cover sync: 2,000 rows, 20 schedules, 1% changed",
        [
            ["calls", "listing pages", "name lists", "writes", "least", "wall s"],
            [
                str(len(calls)),
                str(len(pages)),
                str(len(lists)),
                str(len(writes)),
                str(least),
                f"{result.wall_seconds:.1f}",
            ],
        ],
    )
    return [
        Check(
            "cover sync: calls / (pages + lists + changes)",
            len(calls) / least,
            "x",
            "<= 1.0",
            len(calls) <= least,
            [f"{len(writes)} writes for {changes} changed rows"],
        )
    ]


def escalations(count: int = 150) -> list[Check]:
    """150 escalations against the endpoint's own 60 a minute."""
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(_seed(1, 1)))
        with SandboxProcess("--seed-file", str(seed), "--rate-limit") as sandbox:
            config = {
                "api_key": API_KEY,
                "base_url": sandbox.url,
                "operation": "escalation",
                "progress_interval": 3600,
            }
            rows = [
                {"id": str(n), "title": f"Check {n} failed", "escalation_path": "Data"}
                for n in range(count)
            ]
            props = {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "escalation_path": {"type": "string"},
            }
            result = run_target(config, _lines("dq", props, "id", rows)).check()
            journal = [e for e in sandbox.journal() if e["path"] == "/v2/escalations"]
            made = sandbox.counts()["escalations"]
    arrivals = accepted_times(journal, "/v2/escalations")
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    most = most_in_window(arrivals, WINDOW_SECONDS)
    print_table(
        "Escalations: 150 rows, 60 a minute",
        [
            ["rows", "requests", "accepted", "429s", "most in 60 s", "wall s"],
            [
                str(count),
                str(len(journal)),
                str(len(arrivals)),
                str(throttled),
                str(most),
                f"{result.wall_seconds:.1f}",
            ],
        ],
    )
    return [
        Check(
            "escalations: most accepted in any 60 s",
            most,
            "",
            "<= 60, <= 2 429s",
            most <= 60 and throttled <= 2 and made == count,
            [f"{throttled} answered 429; made {made} of {count}"],
        )
    ]


def run(rows: int = 2000, count: int = 150) -> list[Check]:
    """Both."""
    return [*cover(rows), *escalations(count)]


def main() -> None:
    """Command line: `python benchmarks/oncall.py [--rows N] [--escalations N]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--escalations", type=int, default=150)
    args = parser.parse_args()
    print_checks(run(args.rows, args.escalations))


if __name__ == "__main__":
    main()
