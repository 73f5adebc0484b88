"""Does `incident_mode: sync` beat editing every row by id? Calls and wall time for one day.

5,000 tickets each have an incident holding the ticket's key in a text custom field. The day's
stream has 1% of them changed (50 renamed), 0.2% new (10) and 0.2% gone (10). Editing every
row by id (`incident_edit`, the only way before sync, and one that needs incident.io's ids in
the source) posts one edit per existing row: 4,990 calls. `sync` lists the incidents (20 pages
of 250) and the names it resolves, edits the 50 renamed, creates the 10 new and closes the 10
gone (`close_missing_incidents`). A second sync run over the same rows must write nothing and
read at most one listing page per 250 incidents plus the name lists: ceil(5,010/250) = 21, as
the 10 created and the 10 closed incidents are listed too (a closed one is still compared,
so a row whose incident a responder closed never opens a second one).

The sandbox enforces incident.io's real API-key limit (bucket 1,200, refilled at 20/s) and
answers every request 50 ms late; the target runs with its defaults. Before each measured run
the sandbox is reset and the 5,000 incidents are created again (not measured) with plain
concurrent POSTs, each loader key spending 1,000 of its own full bucket. The measured runs use
a key of their own. Wall time is the target subprocess from spawn to exit; calls are what the
sandbox journaled for that run.

Expected: sync makes >= 20x fewer calls and finishes >= 10x sooner. `--tickets N` scales down.
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
    BenchmarkError,
    Check,
    SandboxProcess,
    TargetRun,
    command_line,
    print_table,
    sync_day,
)
from _common import run_target as run_process

TICKETS = 5000
EXPECTED_CALL_RATIO = 20
EXPECTED_TIME_RATIO = 10
PAGE = 250
LOAD_PER_KEY = 1000
MEASURE_KEYS = ("bench-edit-key", "bench-sync-key", "bench-again-key")
KEY_FIELD = "01BENCHTICKETKEYFIELD00000"
STREAM = "tickets"
SEED = {"custom_fields": [{"id": KEY_FIELD, "name": "Ticket key", "field_type": "text"}]}


def ticket(i: int, *, changed: bool = False) -> dict[str, t.Any]:
    """Ticket `i`; a changed one has a new title."""
    name = f"Ticket {i}{' (renamed)' if changed else ''}"
    return {"id": i, "name": name, "summary": f"What ticket {i} is about"}


def stream_input(rows: list[dict[str, t.Any]], id_type: str) -> bytes:
    """SCHEMA (key property `id`), the rows, one STATE."""
    text = {"type": "string"}
    properties = {"id": {"type": id_type}, "name": text, "summary": text}
    messages: list[dict[str, t.Any]] = [
        {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": {"properties": properties},
            "key_properties": ["id"],
        }
    ]
    messages += [{"type": "RECORD", "stream": STREAM, "record": r} for r in rows]
    messages.append({"type": "STATE", "value": {"bookmark": len(rows)}})
    return "".join(json.dumps(m) + "\n" for m in messages).encode()


def load(sandbox: SandboxProcess, base: list[dict[str, t.Any]], keys: list[str]) -> dict[int, str]:
    """Reset the sandbox and create one incident per base ticket; ticket -> incident id."""
    sandbox.reset()

    def post(item: tuple[int, dict[str, t.Any]]) -> tuple[int, str]:
        index, row = item
        body = {
            "idempotency_key": f"bench-load-{row['id']}",
            "visibility": "public",
            "name": row["name"],
            "summary": row["summary"],
            "custom_field_entries": [
                {"custom_field_id": KEY_FIELD, "values": [{"value_text": str(row["id"])}]}
            ],
        }
        request = urllib.request.Request(  # noqa: S310 - the sandbox on 127.0.0.1
            f"{sandbox.url}/v2/incidents",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {keys[index // LOAD_PER_KEY]}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        # The same idempotency key: a retry of a dropped connection never opens a second.
        answer = None
        for _attempt in range(5):
            answer = _post_once(request)
            if answer is not None:
                return int(row["id"]), answer
        raise BenchmarkError(f"loading ticket {row['id']}: the connection kept dropping")

    with ThreadPoolExecutor(8) as pool:
        made = dict(pool.map(post, enumerate(base)))
    if sandbox.counts()["incidents"] != len(base):
        raise BenchmarkError(f"loading left {sandbox.counts()['incidents']} incidents")
    return made


def _post_once(request: urllib.request.Request) -> str | None:
    """The created incident's id; None when the connection dropped."""
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return str(json.loads(response.read())["incident"]["id"])
    except ConnectionError:
        return None


def calls_of(sandbox: SandboxProcess, offset: int) -> collections.Counter[str]:
    """The run's requests by kind: list (incidents), names (other GETs), create, edit."""
    calls: collections.Counter[str] = collections.Counter()
    for entry in sandbox.journal()[offset:]:
        if entry["method"] == "GET":
            kind = "list" if entry["path"] == "/v2/incidents" else "names"
        else:
            kind = "edit" if entry["path"].endswith("/actions/edit") else "create"
        calls[kind] += 1
    return calls


def measure(
    sandbox: SandboxProcess, config: dict[str, t.Any], data: bytes
) -> tuple[TargetRun, collections.Counter[str]]:
    """One run; its calls by kind."""
    offset = len(sandbox.journal())
    result = run_process({"base_url": sandbox.url, **config}, data).check()
    return result, calls_of(sandbox, offset)


def run(tickets: int = TICKETS) -> list[Check]:
    """Edit every row by id, then sync twice, each from the same incidents."""
    base, today = sync_day(tickets, ticket)
    keys = [f"bench-load-key-{n}" for n in range(math.ceil(tickets / LOAD_PER_KEY))]
    sync_config = {
        "operation": "incident",
        "incident_mode": "sync",
        "incident_key_field": "Ticket key",
        "close_missing_incidents": "Closed",
        "progress_interval": 3600,
    }
    with tempfile.TemporaryDirectory(prefix="bench-incidents-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(SEED))
        args = ["--rate-limit", "--bucket-capacity", "1200", "--refill-per-second", "20"]
        args += ["--latency-ms", "50", "--seed-file", str(seed)]
        for key in [*keys, *MEASURE_KEYS]:
            args += ["--api-key", key]
        with SandboxProcess(*args) as sandbox:
            made = load(sandbox, base, keys)
            edits = [{**r, "id": made[r["id"]]} for r in today if r["id"] in made]
            edit_config = {"operation": "incident_edit", "progress_interval": 3600}
            by_id = measure(
                sandbox, {**edit_config, "api_key": MEASURE_KEYS[0]}, stream_input(edits, "string")
            )
            load(sandbox, base, keys)
            data = stream_input(today, "integer")
            sync = measure(sandbox, {**sync_config, "api_key": MEASURE_KEYS[1]}, data)
            held = collections.Counter(
                i["incident_status"]["category"] for i in sandbox.state()["incidents"]
            )
            listed = sandbox.counts()["incidents"]  # the day's creates are listed too
            again = measure(sandbox, {**sync_config, "api_key": MEASURE_KEYS[2]}, data)
    rows = [["run", "calls", "of which", "wall s"]]
    for label, (result, calls) in (
        ("edit every row by id", by_id),
        ("sync", sync),
        ("sync again, nothing changed", again),
    ):
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(calls.items()))
        rows.append([label, str(sum(calls.values())), detail, f"{result.wall_seconds:.2f}"])
    print_table(
        f"Incident sync: {tickets} tickets, {len(today)} rows today; sandbox bucket 1200, 20/s, "
        f"50 ms latency; target defaults; statuses after sync: {dict(held)}",
        rows,
    )
    call_ratio = sum(by_id[1].values()) / sum(sync[1].values())
    time_ratio = by_id[0].wall_seconds / sync[0].wall_seconds
    again_writes = again[1]["create"] + again[1]["edit"]
    pages = math.ceil(listed / PAGE)
    return [
        Check(
            "incident sync: fewer calls (edit by id/sync)",
            call_ratio,
            "x",
            f">= {EXPECTED_CALL_RATIO}",
            call_ratio >= EXPECTED_CALL_RATIO,
        ),
        Check(
            "incident sync: sooner (edit by id/sync wall time)",
            time_ratio,
            "x",
            f">= {EXPECTED_TIME_RATIO}",
            time_ratio >= EXPECTED_TIME_RATIO,
        ),
        Check("incident sync again: writes", again_writes, "", "0", again_writes == 0),
        Check(
            "incident sync again: listing pages",
            again[1]["list"],
            "",
            f"<= {pages} (ceil({listed}/{PAGE}); + {again[1]['names']} name lists)",
            again[1]["list"] <= pages,
        ),
    ]


def main() -> None:
    """`python benchmarks/incident_sync.py [--tickets N]`."""
    command_line(__doc__, run, tickets=TICKETS)


if __name__ == "__main__":
    main()
