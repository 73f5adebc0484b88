"""Does `catalog_mode: sync` beat `upsert`? Calls and wall time for one day's change of a type.

A catalog type holds 5,000 entries. The day's stream has 1% of them changed (50 renamed), 0.2%
new (10) and 0.2% gone (10). `upsert` (today's behaviour) posts every row: 5,000 calls, and
the 10 gone entries stay. `sync` lists the type (20 pages of 250), creates the 10 new rows,
sends the 50 changes in one `bulk_update` and deletes the 10 gone entries: 41 calls.

The sandbox enforces incident.io's real API-key limit (bucket 1,200, refilled at 20/s) and the
target runs with its defaults (1,200 requests/minute, concurrency 4), as a user would leave it.
Before each measured run the sandbox is reset and the 5,000 entries are created again (not
measured) with plain concurrent POSTs, each loader key spending 1,000 of its own full bucket,
so loading does not wait on the 20/s refill. The measured run uses a key of its own, its
bucket full. Wall time is
the target subprocess from spawn to exit; calls are what the sandbox journaled for that run.
Both runs are checked: every row is in the catalog, and only sync removed the gone entries.

Expected: sync makes >= 20x fewer calls and finishes >= 10x sooner. `--entries N` scales the
type down (the default is the issue's 5,000; about 5 minutes, nearly all of it the upsert run).
"""

from __future__ import annotations

import collections
import json
import math
import tempfile
import typing as t
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import (
    CATALOG_TYPE_ID,
    GONE,
    STREAM,
    BenchmarkError,
    Check,
    SandboxProcess,
    TargetRun,
    catalog_config,
    command_line,
    print_table,
    run_target,
    sync_day,
)

ENTRIES = 5000
EXPECTED_CALL_RATIO = 20
EXPECTED_TIME_RATIO = 10
LOAD_PER_KEY = 1000  # under a key's 1,200 burst: loading never waits for the refill
MEASURE_KEY = "bench-measure-key"
TIER, OWNERS = "01BENCHTIERATTRIBUTE000000", "01BENCHOWNERSATTRIBUTE0000"
SEED = {
    "catalog_types": [
        {
            "id": CATALOG_TYPE_ID,
            "name": "Service",
            "attributes": [
                {"id": TIER, "name": "tier"},
                {"id": OWNERS, "name": "owners", "array": True},
            ],
        }
    ]
}
ATTRIBUTES = {"tier": TIER, "owners": OWNERS}


def row(i: int, *, changed: bool = False) -> dict[str, t.Any]:
    """Service `i`; a changed one has a new name."""
    name = f"Service {i}{' (renamed)' if changed else ''}"
    return {"id": f"svc-{i:07d}", "name": name, "tier": str(i % 4), "owners": [f"team-{i % 50}"]}


def stream_input(rows: list[dict[str, t.Any]]) -> bytes:
    """SCHEMA, the rows, one STATE: the finished bookmark that lets sync delete."""
    properties = {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "tier": {"type": "string"},
        "owners": {"type": "array", "items": {"type": "string"}},
    }
    schema = {"properties": properties}
    messages: list[dict[str, t.Any]] = [
        {"type": "SCHEMA", "stream": STREAM, "schema": schema, "key_properties": ["id"]}
    ]
    messages += [{"type": "RECORD", "stream": STREAM, "record": r} for r in rows]
    bookmark = {"replication_key": "at", "replication_key_value": len(rows)}
    messages.append({"type": "STATE", "value": {"bookmarks": {STREAM: bookmark}}})
    return "".join(json.dumps(m) + "\n" for m in messages).encode()


def entry_payload(r: dict[str, t.Any]) -> dict[str, t.Any]:
    """The `POST /v3/catalog_entries` body the target builds for row `r` (checked by `measure`:
    a difference would show up as sync updating unchanged rows)."""
    return {
        "catalog_type_id": CATALOG_TYPE_ID,
        "external_id": r["id"],
        "name": r["name"],
        "attribute_values": {
            TIER: {"value": {"literal": r["tier"]}},
            OWNERS: {"array_value": [{"literal": owner} for owner in r["owners"]]},
        },
    }


def load(sandbox: SandboxProcess, base: list[dict[str, t.Any]], keys: list[str]) -> int:
    """Reset the sandbox and create the base entries; return the journal's length.

    Setup, not measured: plain concurrent POSTs, each loader key spending only its own full
    bucket. (The target would pace itself to 20/s, as incident.io's headers ask, and loading
    would take as long as the upsert run being measured.)
    """
    sandbox.reset()

    def post(item: tuple[int, dict[str, t.Any]]) -> int:
        index, r = item
        request = urllib.request.Request(  # noqa: S310 - the sandbox on 127.0.0.1
            f"{sandbox.url}/v3/catalog_entries",
            data=json.dumps(entry_payload(r)).encode(),
            headers={
                "Authorization": f"Bearer {keys[index // LOAD_PER_KEY]}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)

    with ThreadPoolExecutor(8) as pool:
        statuses = collections.Counter(pool.map(post, enumerate(base)))
    held = sandbox.counts()["catalog_entries"]
    if held != len(base) or statuses != {201: len(base)}:
        raise BenchmarkError(f"loading left {held} entries ({dict(statuses)}), not {len(base)}")
    return len(sandbox.journal())


def measure(
    sandbox: SandboxProcess, mode: str, today: list[dict[str, t.Any]], offset: int
) -> tuple[TargetRun, collections.Counter[str]]:
    """One run with the target's defaults and a full bucket; its calls by kind."""
    config = catalog_config(
        sandbox.url, api_key=MEASURE_KEY, catalog_attributes=ATTRIBUTES, catalog_mode=mode
    )
    result = run_target(config, stream_input(today)).check()
    calls: collections.Counter[str] = collections.Counter()
    for entry in sandbox.journal()[offset:]:
        kind = {"GET": "list", "DELETE": "delete"}.get(entry["method"], "create")
        if entry["path"].endswith("/bulk_update"):
            kind = "bulk_update"
        calls[f"{kind} ({entry['status']})"] += 1
    return result, calls


def run(entries: int = ENTRIES) -> list[Check]:
    """Upsert, then sync, each from the same 5,000 entries; return the two ratio checks."""
    base, today = sync_day(entries, row)
    keys = [f"bench-load-key-{n}" for n in range(math.ceil(entries / LOAD_PER_KEY))]
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(SEED))
        args = ["--rate-limit", "--bucket-capacity", "1200", "--refill-per-second", "20"]
        args += ["--seed-file", str(seed)]
        for key in [*keys, MEASURE_KEY]:
            args += ["--api-key", key]
        runs: dict[str, tuple[TargetRun, collections.Counter[str]]] = {}
        with SandboxProcess(*args) as sandbox:
            for mode in ("upsert", "sync"):
                offset = load(sandbox, base, keys)
                runs[mode] = measure(sandbox, mode, today, offset)
                held = sandbox.counts()["catalog_entries"]
                expected = len(today) if mode == "sync" else len(today) + round(entries * GONE)
                if held != expected:
                    raise BenchmarkError(f"{mode} left {held} entries, expected {expected}")
    rows = [["catalog_mode", "calls", "of which", "wall s"]]
    for mode, (result, calls) in runs.items():
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(calls.items()))
        rows.append([mode, str(sum(calls.values())), detail, f"{result.wall_seconds:.2f}"])
    print_table(
        f"Catalog sync: {entries} entries, {len(today)} rows today; sandbox bucket 1200, "
        "20/s; target defaults",
        rows,
    )
    upsert, sync = runs["upsert"], runs["sync"]
    call_ratio = sum(upsert[1].values()) / sum(sync[1].values())
    time_ratio = upsert[0].wall_seconds / sync[0].wall_seconds
    return [
        Check(
            "catalog sync: fewer calls (upsert/sync)",
            call_ratio,
            "x",
            f">= {EXPECTED_CALL_RATIO}",
            call_ratio >= EXPECTED_CALL_RATIO,
        ),
        Check(
            "catalog sync: sooner (upsert/sync wall time)",
            time_ratio,
            "x",
            f">= {EXPECTED_TIME_RATIO}",
            time_ratio >= EXPECTED_TIME_RATIO,
        ),
    ]


def main() -> None:
    """`python benchmarks/catalog_sync.py [--entries N]`."""
    command_line(__doc__, run, entries=ENTRIES)


if __name__ == "__main__":
    main()
