"""Airflow parses examples/airflow/incidentio_dag.py as its scheduler would, and runs it.

Airflow comes from PyPI into its own cached venv, `.venv-plugins/apache-airflow-<version>/`
(about 30 s, once), like the other third-party plugins (tests/plugins.py); the DAG file is
parsed there by Airflow's own `DagBag`, in a subprocess, and described as JSON. Then
`airflow dags test` runs the DAG once against the sandbox, with Meltano from `.venv-meltano`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins import AIRFLOW, Plugin, require
from test_meltano_pipeline import check_delivery, sandbox_pipeline

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = ROOT / "examples" / "airflow" / "incidentio_dag.py"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DESCRIBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "cron": dag.timetable.expression,
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "tasks": {
                t.task_id: {
                    "bash_command": t.bash_command,
                    "cwd": t.cwd,
                    "env": t.env,
                    "append_env": t.append_env,
                    "retries": t.retries,
                    "retry_delay": t.retry_delay.total_seconds(),
                    "upstream": sorted(t.upstream_task_ids),
                }
                for t in dag.tasks
            },
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"""


@pytest.fixture(scope="module")
def airflow() -> Plugin:
    return require(AIRFLOW, "airflow")


def run_airflow(
    airflow: Plugin, home: Path, args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Airflow's Python in its own home, with no credential of the caller's environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
    result = subprocess.run(
        [str(airflow.python), *args],
        cwd=home,
        env={**base, **(env or {}), "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return result


@pytest.fixture(scope="module")
def parsed(airflow: Plugin, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow-home")
    result = run_airflow(airflow, home, ["-c", DESCRIBE, str(DAG_FILE)])
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def test_airflow_parses_one_dag_per_meltano_schedule(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (schedule,) = project["schedules"]
    (job,) = project["jobs"]
    assert schedule["job"] == job["name"]
    assert list(parsed["dags"]) == ["incidentio_every_15_minutes"]
    dag = parsed["dags"]["incidentio_every_15_minutes"]
    assert dag["cron"] == schedule["interval"] == "*/15 * * * *"
    assert dag["max_active_runs"] == 1
    assert dag["catchup"] is False

    # The job's tasks, each a `meltano run` in the project, each after the one before.
    ids = [task.replace("-", "_").replace(" ", "_") for task in job["tasks"]]
    assert list(dag["tasks"]) == ids
    for i, (task_id, task) in enumerate(zip(ids, job["tasks"], strict=True)):
        op = dag["tasks"][task_id]
        assert op["bash_command"] == f"meltano run {task}"
        assert op["cwd"] == str(ROOT)
        assert op["upstream"] == ids[i - 1 : i]
        assert op["retries"] == 2
        assert op["retry_delay"] == 60
        # Secrets come from Airflow's connection and variables when the task runs, on top
        # of the worker's environment; none is written in the DAG file.
        assert op["append_env"] is True
        assert op["env"] == {
            "MELTANO_ENVIRONMENT": "{{ var.value.get('meltano_environment', 'prod') }}",
            "TARGET_INCIDENTIO_API_KEY": "{{ conn.incidentio.password }}",
            "TARGET_INCIDENTIO_ALERT_SOURCE_TOKEN": "{{ var.value.incidentio_alert_source_token }}",
        }


def test_airflow_runs_the_dag_with_secrets_from_its_connection_and_variables(
    airflow: Plugin, meltano: Path, openapi_validator: Any, tmp_path: Path
) -> None:
    with sandbox_pipeline(tmp_path, meltano) as pipeline:
        demo, sandbox = pipeline.demo, pipeline.sandbox
        # The sandbox refuses any other key or token: delivery shows that both came from
        # Airflow, not from the worker's environment.
        env = {
            k: v
            for k, v in pipeline.env.items()
            if k not in {"TARGET_INCIDENTIO_API_KEY", "TARGET_INCIDENTIO_ALERT_SOURCE_TOKEN"}
        }
        env |= {
            "MELTANO_BIN": str(pipeline.meltano),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW_CONN_INCIDENTIO": json.dumps(
                {"conn_type": "generic", "password": demo.SANDBOX_API_KEY}
            ),
            "AIRFLOW_VAR_INCIDENTIO_ALERT_SOURCE_TOKEN": demo.SANDBOX_ALERT_TOKEN,
            "AIRFLOW_VAR_MELTANO_ENVIRONMENT": "dev",
        }
        home = tmp_path / "airflow-home"
        home.mkdir()
        run_airflow(airflow, home, ["-m", "airflow", "db", "migrate"], env)
        ran = run_airflow(
            airflow, home, ["-m", "airflow", "dags", "test", "incidentio_every_15_minutes"], env
        )
        assert "DagRun Finished: dag_id=incidentio_every_15_minutes" in ran.stdout + ran.stderr
        assert "state=success" in ran.stdout + ran.stderr
        check_delivery(sandbox, openapi_validator)
