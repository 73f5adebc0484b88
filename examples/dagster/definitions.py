"""Dagster runs this repository's Meltano project: its jobs on its schedules.

    python3 -m venv .venv-dagster
    .venv-dagster/bin/pip install -r examples/dagster/requirements.txt
    .venv-dagster/bin/dagster dev -f examples/dagster/definitions.py -h 127.0.0.1 -p 3000

dagster-meltano reads the project through Meltano's own CLI (`meltano job list`,
`meltano schedule list`) and runs each command with its output streamed into Dagster's log.
Every Meltano job becomes a Dagster job of one op per task, run in the job's order (the
catalog before the alerts and incidents that refer to it), each task a `meltano run
<tap> <target>` of its own, so a retry reruns only the task that failed. Every Meltano
schedule becomes a Dagster schedule with the same cron, on from the start.

Built from dagster-meltano's resource rather than its `load_jobs_from_meltano_project`, whose
jobs run every tap-to-target task at once, retry with no delay, and fail with only the exit
code; here a failed task's Dagster failure carries the target's last ERROR line.

Secrets and the environment are read as Meltano reads them: `MELTANO_ENVIRONMENT` (else the
project's `default_environment`), `TARGET_INCIDENTIO_*` variables, or the project's `.env`.
"""

# ruff: noqa: INP001 - loaded by path (`dagster dev -f`), not as a package

import asyncio
import functools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from dagster import (
    Backoff,
    DagsterLogManager,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    In,
    JobDefinition,
    MetadataValue,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    ResourceDefinition,
    RetryPolicy,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
)
from dagster_meltano import MeltanoResource
from dagster_meltano.exceptions import MeltanoCommandError
from dagster_meltano.utils import generate_dagster_name

PROJECT_DIR = Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path(__file__).resolve().parents[2])
# requirements.txt installs Meltano beside Dagster; else the `meltano` on PATH.
_BESIDE = Path(sys.executable).with_name("meltano")
MELTANO_BIN = os.environ.get("MELTANO_BIN") or (str(_BESIDE) if _BESIDE.exists() else "meltano")

# A failed task is retried twice, 60 s then 120 s later: long enough for incident.io to come
# back from a short outage. Every write is idempotent, so a retry opens nothing twice.
RETRY_POLICY = RetryPolicy(
    max_retries=int(os.environ.get("INCIDENTIO_DAGSTER_RETRIES", "2")),
    delay=float(os.environ.get("INCIDENTIO_DAGSTER_RETRY_DELAY", "60")),
    backoff=Backoff.EXPONENTIAL,
)
# Meltano logs JSON lines (logging.yaml), relayed into Dagster's log at their own level.
LOG_CONFIG = Path(__file__).with_name("logging.yaml")
_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
_IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]

meltano = MeltanoResource(project_dir=str(PROJECT_DIR), meltano_bin=MELTANO_BIN)


class MeltanoLog:
    """Relays `meltano run`'s output into the op's log, and keeps the loader's last ERROR."""

    def __init__(self, log: DagsterLogManager) -> None:
        self.log = log
        self.last_error: str | None = None

    def info(self, line: str) -> None:
        """One line of output: a JSON log line, or anything else as it is."""
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or "event" not in entry:
            self.log.info(line)
            return
        text = f"{entry.get('string_id') or 'meltano'}: {entry['event']}"
        level = entry.get("level") if entry.get("level") in _LEVELS else "info"
        getattr(self.log, level)(text)
        if level in {"error", "critical"} and entry.get("consumer") is True:
            self.last_error = text


@functools.cache
def task_op(task: str) -> OpDefinition:
    """`meltano run <task>`; a non-zero exit fails the op with the last ERROR line."""

    @op(
        name=generate_dagster_name(task),
        description=f"`meltano run {task}`",
        ins={"after": In(Nothing)},
        required_resource_keys={"meltano"},
        retry_policy=RETRY_POLICY,
        tags={"kind": "meltano"},
    )
    def run_task(context: OpExecutionContext) -> None:
        log = MeltanoLog(context.log)
        env = {"MELTANO_CLI_LOG_CONFIG": str(LOG_CONFIG)}
        try:
            context.resources.meltano.execute_command(f"run {task}", env, log)
        except MeltanoCommandError as error:
            raise Failure(
                description=f"meltano run {task} failed: {log.last_error or error}",
                metadata={"last_error": MetadataValue.text(log.last_error or "")},
            ) from error

    return run_task


def meltano_job(name: str, tasks: list[str]) -> JobDefinition:
    """A Meltano job: its tasks one after another, as `meltano run <job>` runs them."""

    @job(
        name=generate_dagster_name(name),
        description=f"Runs the `{name}` job from Meltano: {'; '.join(tasks)}.",
        resource_defs={"meltano": ResourceDefinition.hardcoded_resource(meltano)},
        tags={"meltano_job": name},
    )
    def run_job() -> None:
        done = None
        for task in tasks:
            done = task_op(task)(after=done) if done is not None else task_op(task)()

    return run_job


def meltano_schedule(schedule: dict[str, Any]) -> ScheduleDefinition:
    """A Meltano schedule; a tick is skipped while the job's previous run is still going."""
    job_name = generate_dagster_name(schedule["job"]["name"])

    def one_at_a_time(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        running = context.instance.get_run_records(
            RunsFilter(job_name=job_name, statuses=_IN_PROGRESS), limit=1
        )
        if running:
            return SkipReason(f"{job_name} is still running: run {running[0].dagster_run.run_id}")
        return RunRequest()

    return ScheduleDefinition(
        name=generate_dagster_name(schedule["name"]),
        cron_schedule=schedule["cron_interval"],
        job_name=job_name,
        execution_fn=one_at_a_time,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Meltano schedule `{schedule['name']}` ({schedule['interval']}).",
    )


def meltano_json(*args: str) -> dict[str, Any]:
    """A `meltano ... --format=json` listing, through dagster-meltano.

    One at a time, not two at once as dagster-meltano's `meltano_yaml` runs them: on a fresh
    clone each would create Meltano's system database, and one of them would fail.
    """
    return asyncio.run(meltano.load_json_from_cli([*args, "--format=json"]))


if shutil.which(MELTANO_BIN) is None:
    raise RuntimeError(
        f"meltano not found ({MELTANO_BIN}): pip install -r examples/dagster/requirements.txt"
    )

defs = Definitions(
    jobs=[meltano_job(j["job_name"], j["tasks"]) for j in meltano_json("job", "list")["jobs"]],
    schedules=[meltano_schedule(s) for s in meltano_json("schedule", "list")["schedules"]["job"]],
)
