"""Airflow runs this repository's Meltano project: one DAG per Meltano schedule.

Copy (or link) this file into Airflow's `dags/` folder, on a worker where the project is
checked out and `meltano install` has run; `MELTANO_PROJECT_ROOT` says where the project is
(default: two folders up from this file), `MELTANO_BIN` which meltano to run. Written for
Airflow 3 (`apache-airflow==3.3.2`).

Each schedule of meltano.yml becomes a DAG with the same cron; each task of its job a
`BashOperator` running `meltano run <tap> <target>`, one after another as `meltano run <job>`
runs them, so a retry reruns only the task that failed. One run of a DAG at a time.

Secrets come from Airflow, rendered only when a task runs (never at parse time), and Airflow
masks them in task logs:
- connection `incidentio`: its password is the API key (`TARGET_INCIDENTIO_API_KEY`);
- variable `incidentio_alert_source_token` (`TARGET_INCIDENTIO_ALERT_SOURCE_TOKEN`);
- variable `meltano_environment` picks the Meltano environment (default `prod`).
Every other setting comes from meltano.yml and the project's `.env`, as Meltano reads them.
"""

# ruff: noqa: INP001 - a DAG file, found by Airflow's DAG folder scan, not imported as a package

import os
import re
from datetime import timedelta
from pathlib import Path

import pendulum
import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

PROJECT_DIR = Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path(__file__).resolve().parents[2])
MELTANO_BIN = os.environ.get("MELTANO_BIN", "meltano")

# Read when a task runs, by Airflow's templating; nothing secret is in this file.
SECRETS_ENV = {
    "MELTANO_ENVIRONMENT": "{{ var.value.get('meltano_environment', 'prod') }}",
    "TARGET_INCIDENTIO_API_KEY": "{{ conn.incidentio.password }}",
    "TARGET_INCIDENTIO_ALERT_SOURCE_TOKEN": "{{ var.value.incidentio_alert_source_token }}",
}
DEFAULT_ARGS = {
    # Every write is idempotent, so a retry after a failure opens nothing twice.
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=1),
}


def task_id(task: str) -> str:
    """`tap-jsonl-tickets target-incidentio` -> `tap_jsonl_tickets_target_incidentio`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", task)


def schedule_dag(schedule: dict[str, str], tasks: list[str]) -> DAG:
    """The DAG of one Meltano schedule: its job's tasks in order."""
    with DAG(
        dag_id=task_id(schedule["name"]),
        description=f"Meltano job `{schedule['job']}` on schedule `{schedule['name']}`",
        schedule=schedule["interval"],
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["meltano", "incident.io"],
    ) as dag:
        previous = None
        for task in tasks:
            run = BashOperator(
                task_id=task_id(task),
                bash_command=f"{MELTANO_BIN} run {task}",
                cwd=str(PROJECT_DIR),
                env=SECRETS_ENV,
                append_env=True,
            )
            if previous is not None:
                previous >> run
            previous = run
    return dag


_project = yaml.safe_load((PROJECT_DIR / "meltano.yml").read_text(encoding="utf-8"))
_jobs = {job["name"]: job["tasks"] for job in _project.get("jobs", [])}
for _schedule in _project.get("schedules", []):
    if _schedule.get("job") in _jobs:
        _dag = schedule_dag(_schedule, _jobs[_schedule["job"]])
        globals()[_dag.dag_id] = _dag
