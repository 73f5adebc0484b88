"""Run the Meltano demo against the local incident.io sandbox and show what it received.

`scripts/demo.sh` creates `.venv` and runs this; it can also be run directly with the
project's venv: `python scripts/demo.py [--port N] [--keep-going]`. The helpers here are
shared with `tests/e2e/test_meltano_pipeline.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import venv
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Meltano and every one of its dependencies, pinned (requirements/meltano.in, compiled as the
# docs/development.md says); the version is the lock's.
MELTANO_LOCK = ROOT / "requirements" / "meltano.txt"


def locked_version(lock: Path, name: str) -> str:
    """The version `lock` (a compiled requirements file) pins `name` to."""
    match = re.search(rf"^{name}==(\S+)", lock.read_text(encoding="utf-8"), flags=re.MULTILINE)
    if match is None:
        msg = f"{lock.name} pins no {name}"
        raise RuntimeError(msg)
    return match.group(1)


MELTANO_VERSION = locked_version(MELTANO_LOCK, "meltano")
MELTANO_VENV = ROOT / ".venv-meltano"
JOB = "incidentio-demo"
# The sandbox's fixed demo credentials (see sandbox/incidentio_sandbox/app.py); not secrets.
SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_ALERT_SOURCE = "01SANDBOXALERTSOURCE000000"
SANDBOX_ALERT_TOKEN = "sandbox-alert-token"  # noqa: S105 - the sandbox's public demo token
OUTPUT = ROOT / "output" / "demo"
# What the dev environment's sandbox account holds before the first run (no catalog type:
# the services stream creates its own); `incidentio-sandbox --seed-file` reads it too.
SANDBOX_SEED = ROOT / "examples" / "sandbox-seed.json"
# The monitoring table: what is failing now. Between the two runs one check is fixed, so its
# row leaves the snapshot and its alert is resolved (`resolve_missing_alerts`).
MONITORING = ROOT / "examples" / "data" / "monitoring" / "failing_now.jsonl"
FIXED_CHECK = "chk-db-primary-disk"
MONITORING_TASK = ["tap-jsonl-monitoring", "target-incidentio"]
# demo.sh's start (epoch seconds), so that "Done in" counts its installs too.
STARTED_AT = "DEMO_STARTED_AT"


def say(text: str = "") -> None:
    """Print a line to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _bin(venv_dir: Path, name: str) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / name


def meltano_version(executable: Path) -> str | None:
    """`meltano --version` of an executable, or None if it does not run."""
    if not executable.exists():
        return None
    try:
        result = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, check=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def ensure_meltano(venv_dir: Path = MELTANO_VENV) -> Path:
    """Meltano in its own venv (kept apart from the target's pins), installed once per lock."""
    executable = _bin(venv_dir, "meltano")
    version = meltano_version(executable)
    marker = venv_dir / ".installed-lock"
    lock = MELTANO_LOCK.read_text(encoding="utf-8")
    if version and MELTANO_VERSION in version and marker.exists() and marker.read_text() == lock:
        return executable
    say(f"Installing meltano=={MELTANO_VERSION} into {venv_dir.name}/ (once, about 20 s)...")
    venv.create(venv_dir, with_pip=True, clear=venv_dir.exists())
    subprocess.run(
        [
            str(_bin(venv_dir, "python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(MELTANO_LOCK),
        ],
        check=True,
    )
    marker.write_text(lock, encoding="utf-8")
    return executable


def meltano_env(
    base_url: str, response_log: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment for `meltano run` against a sandbox at `base_url`.

    Every `TARGET_INCIDENTIO_*` variable of the caller is dropped, and the sandbox's own
    credentials set explicitly, so a real key in the shell or `.env` never reaches it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
    env.update(
        {
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_COLOR": "1",
            "TARGET_INCIDENTIO_BASE_URL": base_url,
            "TARGET_INCIDENTIO_API_KEY": SANDBOX_API_KEY,
            "TARGET_INCIDENTIO_ALERT_SOURCE_TOKEN": SANDBOX_ALERT_TOKEN,
            "TARGET_INCIDENTIO_ALERT_SOURCE_CONFIG_ID": SANDBOX_ALERT_SOURCE,
            "TARGET_INCIDENTIO_RESPONSE_LOG_PATH": str(response_log),
            # Empty beats `.env`: a heartbeat set up there for production never fires here.
            "TARGET_INCIDENTIO_HEARTBEAT_ALERT_SOURCE_CONFIG_ID": "",
            "TARGET_INCIDENTIO_HEARTBEAT_TOKEN": "",
        }
    )
    env.update(extra or {})
    return env


def sandbox_seed() -> dict[str, Any]:
    """The dev sandbox's seed data (examples/sandbox-seed.json)."""
    seed: dict[str, Any] = json.loads(SANDBOX_SEED.read_text(encoding="utf-8"))
    return seed


def run_meltano(
    meltano: Path, args: list[str], env: dict[str, str], log: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run one meltano command in the project, output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ meltano {' '.join(args)}\n")
        handle.flush()
        result = subprocess.run(
            [str(meltano), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=timeout,
        )
        handle.write(result.stdout)
    return result


def snapshot_without(check_id: str | None, folder: Path) -> dict[str, str]:
    """The monitoring table less one row (`None`: all of it) in `folder`, and the tap's path.

    The returned environment points the tap there; the file in examples/ stays as it is
    (Meltano reads the extractor's `path` setting from `TAP_JSONL_MONITORING_PATH`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = MONITORING.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and json.loads(line)["check_id"] != check_id]
    if check_id is not None and len(kept) != len(lines) - 1:
        msg = f"{MONITORING.name} has no single row for {check_id!r}"
        raise ValueError(msg)
    (folder / MONITORING.name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    return {"TAP_JSONL_MONITORING_PATH": str(folder / "*.jsonl")}


def resolved_alerts(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `resolved` events among `journal`'s requests."""
    return [
        entry["body"]
        for entry in journal
        if entry.get("endpoint") == "alert_event" and entry["body"].get("status") == "resolved"
    ]


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def attribute_names(seed: dict[str, Any]) -> dict[str, str]:
    """Catalog attribute id -> name, from the types the sandbox account holds.

    The services stream creates its type (`catalog_manage_type`), so its ids exist only there.
    """
    return {
        attribute["id"]: attribute["name"]
        for kind in seed.get("catalog_types", ())
        for attribute in kind.get("attributes", ())
    }


def _literal(binding: dict[str, Any]) -> str:
    if "array_value" in binding:
        return "[" + ",".join(str(v.get("literal")) for v in binding["array_value"]) + "]"
    return str(binding.get("value", {}).get("literal"))


def summarize(
    state: dict[str, Any], journal: list[dict[str, Any]], responses: Path, seed: dict[str, Any]
) -> list[str]:
    """What incident.io would have received, as printable lines."""
    lines = ["", "== What incident.io received (sandbox state) =="]
    lines.append(f"Incidents ({len(state['incidents'])}):")
    lines.extend(
        f"  {inc['reference']:<7} {inc['name']}  [{inc['incident_status']['name']}]"
        for inc in state["incidents"]
    )
    lines.append(f"Alerts ({len(state['alerts'])}, from {len(state['alert_events'])} events):")
    for alert in state["alerts"]:
        history = " -> ".join(
            event["payload"].get("status", "?")
            for event in state["alert_events"]
            if event["payload"].get("deduplication_key") == alert["deduplication_key"]
        )
        lines.append(
            f"  {alert['status']:<9} {alert.get('title', '')}  "
            f"(deduplication_key {alert['deduplication_key']}: {history})"
        )
    for kind in seed.get("catalog_types", ()):
        made_by = kind.get("annotations", {}).get("target-incidentio/stream")
        attributes = ", ".join(f"{a['name']}: {a['type']}" for a in kind.get("attributes", ()))
        lines.append(
            f"Catalog type {kind['name']} ({attributes})"
            + (f", created by target-incidentio from stream '{made_by}'" if made_by else "")
        )
    lines.append(f"Catalog entries ({len(state['catalog_entries'])}):")
    names = attribute_names(seed)
    for entry in state["catalog_entries"]:
        attributes = " ".join(
            f"{names.get(attr_id, attr_id)}={_literal(binding)}"
            for attr_id, binding in entry["attribute_values"].items()
        )
        lines.append(
            f"  {entry.get('external_id', '-'):<20} {entry['name']:<16} "
            f"aliases={','.join(entry['aliases'])} {attributes}"
        )
    lines.append("")
    lines.append("== Requests (sandbox journal) ==")
    calls = Counter(f"{e['method']} {e['path']} -> {e['status']}" for e in journal)
    lines.extend(f"  {count:>3} x {call}" for call, count in sorted(calls.items()))
    lines.append("")
    lines.append(f"== Response log ({responses.relative_to(ROOT)}), one record per call ==")
    records = []
    if responses.exists():
        records = [
            json.loads(line)
            for line in responses.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    lines.extend(
        f"  {r['stream']:<10} {r['operation']:<16} {r['status']} {r['status_code']} "
        + (
            f"{','.join(r['record_keys'])} -> {r.get('reference') or r.get('resource_id')}"
            if r["record_keys"]
            else f"{r['method']} {urlsplit(r['url']).path} ({r.get('purpose') or 'no record'})"
        )
        for r in records
    )
    return lines


def started_at() -> float:
    """When the demo started (epoch seconds): demo.sh's start, installs included, if it ran."""
    try:
        return float(os.environ[STARTED_AT])
    except (KeyError, ValueError):
        return time.time()


def fresh_state(folder: Path) -> dict[str, str]:
    """A new Meltano system database for this demo, as its sandbox is new: same picture each time.

    With the project's own database a second demo would resume the first one's state against
    an empty sandbox.
    """
    database = folder / "meltano.db"
    database.unlink(missing_ok=True)
    return {"MELTANO_DATABASE_URI": f"sqlite:///{database}"}


def main(argv: list[str] | None = None) -> int:
    """Install, start the sandbox, run the Meltano job, stop, summarize."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="sandbox port (default: a free one)")
    args = parser.parse_args(argv)

    from incidentio_sandbox import Sandbox  # noqa: PLC0415 - needs ./sandbox installed

    started = started_at()
    meltano = ensure_meltano()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / "meltano.log"
    log.write_text("", encoding="utf-8")
    responses = OUTPUT / "incidentio-responses.jsonl"
    responses.unlink(missing_ok=True)
    # Both runs read the monitoring table from one place: tap-jsonl 0.3.1 reads every file
    # once per file its state remembers, so a second path would make later runs read twice.
    table = OUTPUT / "monitoring"
    setup = {**fresh_state(OUTPUT), **snapshot_without(None, table)}

    say("meltano install (plugins into .meltano/)...")
    base_env = meltano_env("http://127.0.0.1:8765", responses, setup)
    installed = run_meltano(meltano, ["install"], base_env, log)
    if installed.returncode != 0:
        say(_tail(installed.stdout))
        say(f"meltano install failed (exit {installed.returncode}); full log: {log}")
        return installed.returncode

    with Sandbox(port=args.port, seed=sandbox_seed()) as sandbox:
        say(f"Sandbox listening on {sandbox.url} (stand-in for https://api.incident.io)")
        say(f"meltano --environment=dev run {JOB} (services, monitoring, tickets)...")
        env = meltano_env(sandbox.url, responses, setup)
        run = run_meltano(meltano, ["--environment=dev", "run", JOB], env, log)
        first = len(sandbox.journal())
        if run.returncode == 0:
            # The next scheduled run: one check was fixed, its row is gone from the table.
            task = ["--environment=dev", "run", *MONITORING_TASK]
            say(f"meltano {' '.join(task)}, after {FIXED_CHECK} was fixed...")
            env.update(snapshot_without(FIXED_CHECK, table))
            run = run_meltano(meltano, task, env, log)
        state, journal = sandbox.state(), sandbox.journal()
        seed = sandbox.current_seed().to_json()
    say("Sandbox stopped.")
    if run.returncode != 0:
        say(_tail(run.stdout))
        say(f"meltano run failed (exit {run.returncode}); full log: {log}")
        return run.returncode

    for line in summarize(state, journal, responses, seed):
        say(line)
    say("")
    say(f"== Second run: {FIXED_CHECK} left the monitoring table ==")
    for body in resolved_alerts(journal[first:]):
        say(
            f"  resolved  {body['title']}  (deduplication_key {body['deduplication_key']}): "
            "its row is gone from the monitoring table"
        )
    listed = run_meltano(meltano, ["--environment=dev", "state", "list"], base_env, log)
    state_ids = [line for line in listed.stdout.splitlines() if line.startswith("dev:")]
    say("")
    say("== Meltano state (meltano --environment=dev state list) ==")
    for state_id in state_ids:
        say(f"  {state_id}")
    say("")
    say(f"Done in {time.time() - started:.0f} s. Meltano output: {log.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
