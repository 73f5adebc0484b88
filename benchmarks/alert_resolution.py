"""Are resolutions paced by the alert source's 120 events/minute? A snapshot that resolves many.

150 alerts fire on one alert source (seeded straight at the sandbox, honouring its 429s), then
the target reads a snapshot that holds 20 of them with `resolve_missing_alerts` and
`alert_max_resolve_fraction: 1`: 20 firing events, one listing of the source's firing alerts
(three pages), and 130 `resolved` events, all through the one source. The sandbox enforces
incident.io's alert source limit (a bucket of 120 refilling 2/s, 429 with `Retry-After`);
the target runs at its defaults (120/min per alert source).

The seeding spends the source's allowance just before the target starts, as another pipeline
on the same source would: the target cannot know it, so the calls it has in flight when the
first 429 comes back (at most `max_concurrency`, 4) meet a 429; after it the target spaces its
events evenly for a window instead of bursting into an allowance that is not there.

From the sandbox journal, over the target's events only: the most events in any 60-s window,
the requests answered 429, and the achieved rate over the allowed 2/s ((events - 1) / the time
they span). From the sandbox state: every alert missing from the snapshot resolved, the others
firing.

Expected: at most 120 events in any 60 s, at most 4 answered 429 (the first contact), ratio
>= 0.95, every resolution made.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from _common import API_KEY, Check, SandboxProcess, command_line, print_table, run_target, timestamp

SOURCE = "01BENCHALERTSOURCE00000000"
TOKEN = "bench-alert-token"  # noqa: S105 - the sandbox's, for this run only
FIRING = 150
KEPT = 20
PER_MINUTE = 120
IN_FLIGHT = 4  # the target's default max_concurrency
WINDOW = 60.0
EXPECTED_RATIO = 0.95
TOO_MANY = 429
STREAM = "failing_checks"


def key(index: int) -> str:
    """The deduplication key of alert `index`."""
    return f"chk-{index:04d}"


def fire(url: str, count: int) -> None:
    """`count` firing alerts on the source, waiting out the sandbox's 429s."""
    for index in range(count):
        body = json.dumps({"title": f"{key(index)} failing", "status": "firing",
                           "deduplication_key": key(index)}).encode()  # fmt: skip
        while True:
            request = urllib.request.Request(  # noqa: S310 - the sandbox on 127.0.0.1
                f"{url}/v2/alert_events/http/{SOURCE}",
                data=body,
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30):  # noqa: S310
                    break
            except urllib.error.HTTPError as error:
                if error.code != TOO_MANY:
                    raise
                time.sleep(0.5)


def snapshot(kept: int) -> bytes:
    """SCHEMA, one row per alert still failing, and the tap's finished STATE."""
    lines = [
        {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": {"type": "object", "properties": {"check_id": {"type": "string"}}},
            "key_properties": ["check_id"],
        },
        *(
            {"type": "RECORD", "stream": STREAM, "record": {"check_id": key(i)}}
            for i in range(kept)
        ),
        # The tap's last STATE, a finished singer-sdk bookmark: the snapshot is whole.
        {
            "type": "STATE",
            "value": {"bookmarks": {STREAM: {"replication_key": "at", "replication_key_value": 1}}},
        },
    ]
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def run(firing: int = FIRING, kept: int = KEPT) -> list[Check]:
    """Seed, then one target run that resolves `firing - kept` alerts."""
    sandbox_args = ["--rate-limit", "--alert-source", f"{SOURCE}={TOKEN}"]
    sandbox_args += ["--alert-bucket-capacity", str(PER_MINUTE)]
    sandbox_args += ["--alert-refill-per-second", str(PER_MINUTE / 60)]
    config = {
        "api_key": API_KEY,
        "base_url": "",
        "alert_source_config_id": SOURCE,
        "alert_source_token": TOKEN,
        "resolve_missing_alerts": True,
        "alert_max_resolve_fraction": 1,
        "stream_maps": {
            STREAM: {"title": "check_id + ' failing'", "deduplication_key": "check_id"}
        },
        "progress_interval": 3600,
    }
    with SandboxProcess(*sandbox_args) as sandbox:
        fire(sandbox.url, firing)
        seeded = len(sandbox.journal())
        result = run_target({**config, "base_url": sandbox.url}, snapshot(kept)).check()
        journal = sandbox.journal()[seeded:]
        state = sandbox.state()
    events = [e for e in journal if e["path"] == f"/v2/alert_events/http/{SOURCE}"]
    accepted = sorted(timestamp(e["received_at"]) for e in events if e["status"] == 202)
    resolved_sent = sum(
        1 for e in events if e["body"]["status"] == "resolved" and e["status"] == 202
    )
    throttled = sum(1 for e in journal if e["status"] == TOO_MANY)
    pages = sum(1 for e in journal if e["path"] == "/v2/alerts")
    busiest = max(
        sum(1 for later in accepted[i:] if later - moment < WINDOW)
        for i, moment in enumerate(accepted)
    )
    span = accepted[-1] - accepted[0]
    rate = (len(accepted) - 1) / span
    ratio = rate / (PER_MINUTE / 60)
    statuses = {a["deduplication_key"]: a["status"] for a in state["alerts"]}
    wrong = sum(
        1 for i in range(firing) if statuses.get(key(i)) != ("firing" if i < kept else "resolved")
    )
    print_table(
        f"Alert resolution: {firing} firing, snapshot of {kept}, source limit {PER_MINUTE}/min",
        [
            ["events", "resolutions", "listing pages", "429s", "most in 60 s", "rate/s", "wall s"],
            [
                str(len(events)),
                str(resolved_sent),
                str(pages),
                str(throttled),
                str(busiest),
                f"{rate:.3f}",
                f"{result.wall_seconds:.1f}",
            ],
        ],
    )
    return [
        Check(
            "alert resolution: most events in any 60 s",
            busiest,
            "",
            f"<= {PER_MINUTE}",
            busiest <= PER_MINUTE,
        ),
        Check(
            "alert resolution: requests answered 429",
            throttled,
            "",
            f"<= {IN_FLIGHT} (the calls in flight at the first 429)",
            throttled <= IN_FLIGHT,
        ),
        Check(
            "alert resolution: achieved / allowed rate",
            ratio,
            "x",
            f">= {EXPECTED_RATIO}",
            ratio >= EXPECTED_RATIO,
            [f"{rate:.3f}/s over {span:.1f} s (journal received_at)"],
        ),
        Check(
            "alert resolution: alerts in the wrong state",
            wrong,
            f"of {firing}",
            "0",
            wrong == 0 and resolved_sent == firing - kept,
        ),
    ]


def main() -> None:
    """Command line: `python benchmarks/alert_resolution.py [--firing N] [--kept N]`."""
    command_line(__doc__, run, firing=FIRING, kept=KEPT)


if __name__ == "__main__":
    main()
