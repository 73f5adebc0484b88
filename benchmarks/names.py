"""What do names cost? 1,000 incidents whose records use names, against the same with ids.

Every record names a severity, a status, a select option, two options of a multi-select, a
catalog entry (by alias) and an incident role (to an e-mail): the target looks each list up
once per run, so the names run should add a handful of GETs in total (at most a dozen) and
stay within 5 % of the ids run's wall time.

One sandbox in its own process enforces incident.io's API-key bucket (capacity 1200, refill
20/s, `X-RateLimit-*` headers, 429s) with 50 ms latency; it is reset before each run (a full
bucket, the same catalog entries created again), and the runs alternate ids, names, ids,
names so that drift on the shared cores hits both alike. Wall time is the target subprocess
from spawn to exit, startup included.

Expected: GETs of the names run <= 12, none in the ids run; mean wall(names) / mean wall(ids)
<= 1.05; every incident created with the same ids in both.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import typing as t
import urllib.request
from pathlib import Path

from _common import API_KEY, Check, SandboxProcess, command_line, print_table, run_target

RECORDS = 1000
ROUNDS = 2
LATENCY_MS = 50
CAPACITY = 1200
REFILL = 20
MOST_GETS = 12
MOST_RATIO = 1.05
SERVICE_TYPE = "01BENCHSERVICETYPE00000000"
TEAMS = ["Payments", "Search", "Identity", "Notifications", "Platform"]
AREAS = ["Web", "API", "Mobile", "Desktop"]
SEVERITIES = {"Minor": "01SANDBOXSEVERITYMINOR0000", "Major": "01SANDBOXSEVERITYMAJOR0000"}
STATUSES = {"Triage": "01SANDBOXSTATUSTRIAGE00000", "Fixing": "01SANDBOXSTATUSFIXING00000"}
LEAD = "01SANDBOXROLEINCIDENTLEAD0"
SERVICES = [("svc-pay", "Payments API", "payments"), ("svc-search", "Search API", "search")]


def _option_id(field: str, index: int) -> str:
    return f"01BENCH{field}OPTION{index:0{19 - len(field) - 6}d}"


SEED = {
    "catalog_types": [{"id": SERVICE_TYPE, "name": "Service"}],
    "custom_fields": [
        {
            "id": "01BENCHFIELDTEAM0000000000",
            "name": "Team",
            "field_type": "single_select",
            "options": [{"id": _option_id("TEAM", i), "value": v} for i, v in enumerate(TEAMS)],
        },
        {
            "id": "01BENCHFIELDAREAS000000000",
            "name": "Affected areas",
            "field_type": "multi_select",
            "options": [{"id": _option_id("AREA", i), "value": v} for i, v in enumerate(AREAS)],
        },
        {
            "id": "01BENCHFIELDSERVICE0000000",
            "name": "Affected service",
            "field_type": "single_select",
            "catalog_type_id": SERVICE_TYPE,
        },
    ],
}


def _schema() -> dict[str, t.Any]:
    text = {"type": "string"}
    properties = {
        "ticket_id": {"type": "integer"},
        "name": text,
        "severity": text,
        "incident_status": text,
        "severity_id": text,
        "incident_status_id": text,
        "team": text,
        "areas": {"type": "array", "items": text},
        "service": text,
        "lead_email": text,
    }
    return {
        "type": "SCHEMA",
        "stream": "tickets",
        "schema": {"properties": properties},
        "key_properties": ["ticket_id"],
    }


def records(count: int, entries: dict[str, str] | None) -> bytes:
    """`count` tickets in names, or (given the entries' ids) the same tickets in ids."""
    lines = [json.dumps(_schema())]
    for n in range(count):
        severity, status = list(SEVERITIES)[n % 2], list(STATUSES)[n % 2]
        team, areas = TEAMS[n % len(TEAMS)], [AREAS[n % len(AREAS)], AREAS[(n + 1) % len(AREAS)]]
        external_id, _name, alias = SERVICES[n % len(SERVICES)]
        row: dict[str, t.Any] = {"ticket_id": n, "name": f"Ticket {n}", "lead_email": "a@x.io"}
        if entries is None:
            row |= {
                "severity": severity,
                "incident_status": status,
                "team": team,
                "areas": areas,
                "service": alias,
            }
        else:
            row |= {
                "severity_id": SEVERITIES[severity],
                "incident_status_id": STATUSES[status],
                "team": _option_id("TEAM", TEAMS.index(team)),
                "areas": [_option_id("AREA", AREAS.index(area)) for area in areas],
                "service": entries[external_id],
            }
        lines.append(json.dumps({"type": "RECORD", "stream": "tickets", "record": row}))
    lines.append(json.dumps({"type": "STATE", "value": {"tickets": count}}))
    return ("\n".join(lines) + "\n").encode()


def config(base_url: str, *, names: bool) -> dict[str, t.Any]:
    """The incident operation; the fields and the role by name, or by id."""
    fields = SEED["custom_fields"]
    if names:
        mapped = [
            {"field": f, "custom_field": c["name"]} for f, c in zip(_FIELDS, fields, strict=True)
        ]
        roles = [{"field": "lead_email", "role": "Incident Lead"}]
    else:
        kinds = ("option", "option", "catalog_entry")
        mapped = [
            {"field": f, "custom_field_id": c["id"], "kind": k}
            for f, c, k in zip(_FIELDS, fields, kinds, strict=True)
        ]
        roles = [{"field": "lead_email", "incident_role_id": LEAD}]
    return {
        "api_key": API_KEY,
        "base_url": base_url,
        "operation": "incident",
        "custom_fields": mapped,
        "role_assignments": roles,
        "progress_interval": 3600,
    }


_FIELDS = ("team", "areas", "service")


def _post(url: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
    request = urllib.request.Request(  # noqa: S310 - the sandbox on 127.0.0.1
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, t.Any] = json.loads(response.read())
        return answer


def _fresh(sandbox: SandboxProcess) -> dict[str, str]:
    """A reset sandbox holding the services again: external id -> entry id."""
    sandbox.reset()
    entries = {}
    for external_id, name, alias in SERVICES:
        body = {
            "catalog_type_id": SERVICE_TYPE,
            "external_id": external_id,
            "name": name,
            "aliases": [alias],
            "attribute_values": {},
        }
        entries[external_id] = _post(f"{sandbox.url}/v3/catalog_entries", body)["catalog_entry"][
            "id"
        ]
    return entries


def run(count: int = RECORDS, rounds: int = ROUNDS) -> list[Check]:
    """Alternate ids and names runs; compare GETs, wall times and what was sent."""
    walls: dict[str, list[float]] = {"ids": [], "names": []}
    gets: dict[str, list[int]] = {"ids": [], "names": []}
    sent: dict[str, list[str]] = {}
    throttled = 0
    with tempfile.TemporaryDirectory(prefix="bench-names-") as tmp:
        seed_file = Path(tmp) / "seed.json"
        seed_file.write_text(json.dumps(SEED))
        sandbox_args = ["--seed-file", str(seed_file), "--rate-limit"]
        sandbox_args += ["--bucket-capacity", str(CAPACITY), "--refill-per-second", str(REFILL)]
        sandbox_args += ["--latency-ms", str(LATENCY_MS)]
        with SandboxProcess(*sandbox_args) as sandbox:
            for _round in range(rounds):
                for mode in ("ids", "names"):
                    entries = _fresh(sandbox)
                    data = records(count, None if mode == "names" else entries)
                    result = run_target(config(sandbox.url, names=mode == "names"), data).check()
                    journal = sandbox.journal()
                    walls[mode].append(result.wall_seconds)
                    gets[mode].append(sum(1 for e in journal if e["method"] == "GET"))
                    throttled += sum(1 for e in journal if e["status"] == 429)
                    bodies = [e["body"] for e in journal if e["path"] == "/v2/incidents"]
                    sent[mode] = sorted(
                        json.dumps(_comparable(b, entries), sort_keys=True) for b in bodies
                    )
    rows = [["mode", "records", "wall s (each run)", "mean wall s", "GETs (each run)"]]
    rows += [
        [
            mode,
            str(count),
            ", ".join(f"{w:.2f}" for w in walls[mode]),
            f"{statistics.mean(walls[mode]):.2f}",
            ", ".join(map(str, gets[mode])),
        ]
        for mode in ("ids", "names")
    ]
    print_table(
        f"Names vs ids: {count} incidents, bucket {CAPACITY} refilling {REFILL}/s, "
        f"{LATENCY_MS} ms latency, {rounds} rounds",
        rows,
    )
    ratio = statistics.mean(walls["names"]) / statistics.mean(walls["ids"])
    same = sent["ids"] == sent["names"] and len(sent["ids"]) == count
    most_gets = max(gets["names"])
    return [
        Check(
            "names: GETs per run",
            most_gets,
            "",
            f"<= {MOST_GETS}, ids run 0",
            most_gets <= MOST_GETS and not any(gets["ids"]),
            [f"each run: {gets}"],
        ),
        Check(
            "names: wall(names) / wall(ids)",
            ratio,
            "x",
            f"<= {MOST_RATIO}",
            ratio <= MOST_RATIO and same,
            [f"same bodies sent: {same}", f"429s: {throttled}"],
        ),
    ]


def _comparable(body: dict[str, t.Any], entries: dict[str, str]) -> dict[str, t.Any]:
    """A create body with the run's own entry ids (new after each reset) named by external id."""
    by_id = {entry_id: external_id for external_id, entry_id in entries.items()}
    text = json.dumps(body)
    for entry_id, external_id in by_id.items():
        text = text.replace(entry_id, external_id)
    return t.cast("dict[str, t.Any]", json.loads(text))


def main() -> None:
    """Command line: `python benchmarks/names.py [--records N] [--rounds N]`."""
    command_line(__doc__, run, records=RECORDS, rounds=ROUNDS)


if __name__ == "__main__":
    main()
