"""Dagster runs the Meltano project (examples/dagster/definitions.py) against the sandbox.

Dagster, dagster-meltano and Meltano come from examples/dagster/requirements.txt into their
own cached venv, `.venv-plugins/dagster-<version>/` (about 25 s, once), like the other
third-party plugins (tests/plugins.py). Each Dagster call runs in that venv's Python as a
subprocess: `dagster definitions validate` as `dagster dev` loads the file, then
tests/e2e/dagster_run.py, which executes a job in process and prints what happened.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins import DAGSTER, Plugin, require
from test_meltano_pipeline import Pipeline, check_delivery, rows, sandbox_pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dagster"
DEFINITIONS = EXAMPLE / "definitions.py"
RUNNER = Path(__file__).with_name("dagster_run.py")
JOB = "incidentio_demo"
# The sandbox's handlers of the lists names are looked up in (docs/names.md).
NAME_LOOKUPS = frozenset(
    {
        "list_severities",
        "list_incident_statuses",
        "list_incident_types",
        "list_incident_roles",
        "list_custom_fields",
        "list_custom_field_options",
    }
)
STEPS = (
    "tap_jsonl_services_target_incidentio",
    "tap_jsonl_monitoring_target_incidentio",
    "tap_jsonl_tickets_target_incidentio",
)
HEARTBEAT = {"id": "01SANDBOXHEARTBEAT00000000", "token": "sandbox-heartbeat-token"}
ALERT_EVENTS = "/v2/alert_events/http/*"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


class Dagster:
    """The Dagster venv, pointed at one sandbox through Meltano's environment."""

    def __init__(self, venv: Plugin, pipeline: Pipeline, home: Path) -> None:
        self.venv, self.pipeline, self.home = venv, pipeline, home
        self.env = {
            **pipeline.env,
            "DAGSTER_HOME": str(home),
            "MELTANO_ENVIRONMENT": "dev",
            "TARGET_INCIDENTIO_HEARTBEAT_ALERT_SOURCE_CONFIG_ID": HEARTBEAT["id"],
            "TARGET_INCIDENTIO_HEARTBEAT_TOKEN": HEARTBEAT["token"],
            # Short retry delays for the test (the definitions default to 60 s, then 120 s).
            "INCIDENTIO_DAGSTER_RETRY_DELAY": "0.5",
            # One call at a time and no retry inside the target, so that the sandbox's fault
            # script strikes the calls it names and each fault fails one `meltano run`.
            "TARGET_INCIDENTIO_MAX_CONCURRENCY": "1",
            "TARGET_INCIDENTIO_MAX_RETRIES": "0",
        }

    def __call__(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv.python), *args],
            cwd=self.home,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def runner(self, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        result = self(str(RUNNER), str(DEFINITIONS), *args, env=env)
        assert result.returncode == 0, result.stderr[-6000:]
        answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
        return answer


@pytest.fixture(scope="module")
def dagster(meltano: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Dagster's venv, with its own Meltano running the plugins `meltano` installed."""
    venv = require(DAGSTER, "dagster")
    own = venv.executable.with_name("meltano")
    seed = {"heartbeat_sources": [HEARTBEAT]}
    with sandbox_pipeline(tmp_path_factory.mktemp("meltano"), own, seed) as pipeline:
        yield Dagster(venv, pipeline, tmp_path_factory.mktemp("dagster-home"))


def test_definitions_load_as_dagster_dev_loads_them(dagster: Dagster, tmp_path: Path) -> None:
    # As on a fresh clone: Meltano's system database does not exist yet.
    fresh = {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    validated = dagster(
        "-m", "dagster", "definitions", "validate", "-f", str(DEFINITIONS), env=fresh
    )
    assert validated.returncode == 0, validated.stderr[-6000:]
    assert (
        "Validation successful for code location definitions.py"
        in validated.stdout + validated.stderr
    )

    # The Meltano that runs the jobs is the one the project pins.
    assert f"meltano=={dagster.pipeline.demo.MELTANO_VERSION}" in DAGSTER
    described = dagster.runner("describe")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (schedule,) = project["schedules"]
    # A tick starts a run, unless a run of the job is still going (Airflow's max_active_runs=1).
    idle, busy = described["schedules"]["incidentio_every_15_minutes"].pop("ticks")
    assert idle == "run"
    assert busy.startswith(f"skip: {JOB} is still running: run ")
    assert described["schedules"] == {
        "incidentio_every_15_minutes": {
            "cron": schedule["interval"],
            "job": JOB,
            "status": "RUNNING",
        }
    }
    assert schedule["interval"] == "*/15 * * * *"
    # One op per task of the Meltano job, each waiting for the one before, as `meltano run`.
    (meltano_job,) = project["jobs"]
    assert [t.replace("-", "_").replace(" ", "_") for t in meltano_job["tasks"]] == list(STEPS)
    assert described["jobs"] == {
        JOB: {step: list(STEPS[i - 1 : i]) for i, step in enumerate(STEPS)}
    }
    assert described["retry_policy"] == {step: {"max_retries": 2, "delay": 0.5} for step in STEPS}


def _steps(answer: dict[str, Any], event: str) -> list[str]:
    return [s["step"] for s in answer["steps"] if s["event"] == event]


def _pinged_after(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The call just before each heartbeat ping."""
    return [journal[i - 1] for i, e in enumerate(journal) if e["endpoint"] == "heartbeat_ping"]


def test_dagster_runs_the_job_and_retries_through_an_outage_without_duplicates(
    dagster: Dagster, openapi_validator: Any, tmp_path: Path
) -> None:
    sandbox = dagster.pipeline.sandbox
    demo = dagster.pipeline.demo

    # A scheduled run: every task once, everything delivered, one heartbeat per task.
    first = dagster.runner("execute", JOB)
    assert first["success"], first
    assert _steps(first, "STEP_SUCCESS") == list(STEPS)
    assert not _steps(first, "STEP_UP_FOR_RETRY")
    journal = sandbox.journal()
    pings = [e for e in journal if e["endpoint"] == "heartbeat_ping"]
    check_delivery(sandbox, openapi_validator)
    assert len(pings) == len(STEPS)
    mark = len(journal)
    incidents = {i["id"] for i in sandbox.state()["incidents"]}

    # The next run: a check was fixed, and a new ticket came in (first in its file).
    new_ticket = {**rows("tickets")[0], "id": 99001, "subject": "Refunds stuck in pending"}
    tickets = tmp_path / "tickets"
    tickets.mkdir()
    lines = [json.dumps(new_ticket), *(json.dumps(r) for r in rows("tickets"))]
    (tickets / "tickets.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        **demo.snapshot_without(demo.FIXED_CHECK, tmp_path / "monitoring"),
        "TAP_JSONL_TICKETS_PATH": str(tickets / "*.jsonl"),
    }
    firing = len(rows("monitoring")) - 1
    # incident.io answers 503 for a while, after doing the work in two cases: the resolved
    # alert and the new incident are applied, yet the target is told they failed.
    sandbox.set_faults(
        slow_seconds=0,
        script=[
            {"path": ALERT_EVENTS, "method": "POST", "fault": "slow", "count": firing},
            {"path": ALERT_EVENTS, "method": "POST", "fault": "apply-then-503", "count": 1},
            {"path": "/v2/incidents", "method": "POST", "fault": "apply-then-503", "count": 1},
            {"path": "/v2/incidents", "method": "POST", "fault": "503", "count": 1},
        ],
    )
    second = dagster.runner("execute", JOB, env=env)
    assert second["success"], second
    assert _steps(second, "STEP_SUCCESS") == list(STEPS)
    # Monitoring failed once, tickets twice; Dagster retried each until it passed.
    retried = [s for s in second["steps"] if s["event"] == "STEP_UP_FOR_RETRY"]
    assert [s["step"] for s in retried] == [STEPS[1], STEPS[2], STEPS[2]]
    for failure, stream in zip(retried, ("monitoring", "tickets", "tickets"), strict=True):
        # The op's failure carries the target's last ERROR line ...
        assert f"failed: target-incidentio: stream '{stream}'" in failure["error"], failure
        assert "HTTP 503" in failure["error"]
    # ... which is also in Dagster's log at level ERROR.
    errors = [line for line in second["log"] if line.startswith("ERROR target-incidentio:")]
    assert len(errors) == len(retried)
    assert all("HTTP 503 Service Unavailable" in line for line in errors)

    journal = sandbox.journal(since=mark)
    assert [e["status"] for e in journal if e["status"] >= 400] == [503, 503, 503]
    # The resolved alert went out once, in the attempt that failed; the retry sent none.
    assert demo.resolved_alerts(sandbox.journal()) == [
        {
            "title": next(
                f"{c['service']}: {c['check_name']}"
                for c in rows("monitoring")
                if c["check_id"] == demo.FIXED_CHECK
            ),
            "status": "resolved",
            "deduplication_key": demo.FIXED_CHECK,
        }
    ]
    alerts = {a["deduplication_key"]: a["status"] for a in sandbox.state()["alerts"]}
    assert alerts.pop(demo.FIXED_CHECK) == "resolved"
    assert set(alerts.values()) == {"firing"}
    # The new ticket was sent three times (applied + 503, 503, then accepted): one incident.
    sent = [
        e["body"]["idempotency_key"]
        for e in journal
        if e["method"] == "POST" and e["path"] == "/v2/incidents"
    ]
    assert sent.count("helpdesk-ticket-99001") == 3
    state = sandbox.state()["incidents"]
    assert len(state) == len(incidents) + 1
    assert {i["id"] for i in state} >= incidents
    assert sorted(i["name"] for i in state if i["id"] not in incidents) == [new_ticket["subject"]]
    # A heartbeat after each `meltano run` that delivered everything, none after a failed one.
    after = _pinged_after(journal)
    assert len(after) == len(STEPS)
    assert all(e["status"] < 400 for e in after), after
    assert [e["endpoint"] for e in after] == [
        "upsert_catalog_entry",
        "list_alerts",
        "create_incident",
    ]


def test_an_outage_longer_than_the_retries_fails_the_run_with_the_targets_error(
    dagster: Dagster,
) -> None:
    sandbox = dagster.pipeline.sandbox
    mark = len(sandbox.journal())
    incidents = len(sandbox.state()["incidents"])
    tickets = STEPS[2]
    # Three attempts (the first and 2 retries), each met by a 503.
    sandbox.set_faults(
        script=[{"path": "/v2/incidents", "method": "POST", "fault": "503", "count": 3}]
    )
    run = dagster.runner("execute", JOB, tickets)
    assert run["success"] is False
    assert [s["event"] for s in run["steps"] if s["event"] != "STEP_START"] == [
        "STEP_UP_FOR_RETRY",
        "STEP_RESTARTED",
        "STEP_UP_FOR_RETRY",
        "STEP_RESTARTED",
        "STEP_FAILURE",
    ]
    (failure,) = (s for s in run["steps"] if s["event"] == "STEP_FAILURE")
    assert failure["error"].startswith(
        "Exceeded max_retries of 2 <- dagster._core.definitions.events.Failure: meltano run "
        "tap-jsonl-tickets target-incidentio failed: target-incidentio: stream 'tickets', "
        "record id="
    ), failure
    assert "HTTP 503 Service Unavailable" in failure["error"]
    # Each attempt reads the lists the ticket stream's names are looked up in (severities,
    # statuses, the Team field and its options): reads only.
    journal = [e for e in sandbox.journal(since=mark) if e["endpoint"] not in NAME_LOOKUPS]
    # Three refused calls and nothing else: no incident, and no heartbeat.
    assert [e["status"] for e in journal] == [503, 503, 503]
    assert len(sandbox.state()["incidents"]) == incidents
