"""Airflow parses examples/airflow/incidentio_dag.py as its scheduler would.

Airflow comes from PyPI into its own cached venv, `.venv-plugins/apache-airflow-<version>/`
(about 30 s, once), like the other third-party plugins (tests/plugins.py); the DAG folder is
parsed there by Airflow's own `DagBag`, in a subprocess, and described as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins import require

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = ROOT / "examples" / "airflow" / "incidentio_dag.py"
AIRFLOW = ("apache-airflow==3.3.2",)

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
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    airflow = require(AIRFLOW, "airflow")
    home = tmp_path_factory.mktemp("airflow-home")
    result = subprocess.run(
        [str(airflow.python), "-c", DESCRIBE, str(DAG_FILE)],
        cwd=home,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")},
            "AIRFLOW_HOME": str(home),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-6000:]
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
