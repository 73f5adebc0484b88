"""Run inside the Dagster venv: load definitions.py, describe them, or execute one job in process.

    python dagster_run.py DEFINITIONS describe        -> JSON: jobs (op order), schedules
    python dagster_run.py DEFINITIONS execute JOB [OP...]  -> JSON: success, events per step

Printed as one JSON line on stdout, last; Dagster's own output goes to stderr.
"""

import importlib.util
import json
import logging
import sys
import tempfile
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    build_schedule_context,
)

STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_UP_FOR_RETRY,
    DagsterEventType.STEP_RESTARTED,
    DagsterEventType.STEP_SUCCESS,
}


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("definitions", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs


def ticks(schedule: Any, job_name: str) -> list[str]:
    """What the schedule does on a tick: with no run of its job going, then with one."""
    answers = []
    with tempfile.TemporaryDirectory() as home, DagsterInstance.local_temp(home) as instance:
        for _ in range(2):
            tick = schedule.evaluate_tick(build_schedule_context(instance=instance))
            answers.append("run" if tick.run_requests else f"skip: {tick.skip_message}")
            instance.add_run(DagsterRun(job_name=job_name, status=DagsterRunStatus.STARTED))
    return answers


def describe(defs: Any) -> dict[str, Any]:
    repository = defs.get_repository_def()
    return {
        # Each op, and the ops it waits for.
        "jobs": {
            j.name: {
                node.name: sorted(
                    o.node_name
                    for outputs in j.graph.dependency_structure.input_to_upstream_outputs_for_node(
                        node.name
                    ).values()
                    for o in outputs
                )
                for node in j.graph.nodes
            }
            for j in repository.get_all_jobs()
        },
        "schedules": {
            s.name: {
                "cron": s.cron_schedule,
                "job": s.job_name,
                "status": s.default_status.value,
                "ticks": ticks(s, s.job_name),
            }
            for s in repository.schedule_defs
        },
        "retry_policy": {
            name: {"max_retries": p.max_retries, "delay": p.delay}
            for j in repository.get_all_jobs()
            for name, node in ((n.name, n) for n in j.graph.nodes)
            if (p := node.definition.retry_policy) is not None
        },
    }


def messages(error: Any) -> str | None:
    """An error's message, then those of its causes, as the UI shows them."""
    if error is None:
        return None
    parts = [error.message.strip()]
    parts.extend(t for linked in (error.cause, error.context) if (t := messages(linked)))
    return " <- ".join(parts)


def execute(defs: Any, job_name: str, *ops: str) -> dict[str, Any]:
    with DagsterInstance.ephemeral() as instance:
        result = defs.get_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, op_selection=list(ops) or None
        )
        logs = instance.all_logs(result.run_id)
    steps: list[dict[str, Any]] = []
    lines: list[str] = []
    for entry in logs:
        event = entry.dagster_event
        if event is None:
            lines.append(f"{logging.getLevelName(entry.level)} {entry.user_message}")
        elif event.event_type in STEP_EVENTS:
            # A failure, or a failure that will be retried, carries the op's error.
            error = getattr(event.event_specific_data, "error", None)
            steps.append(
                {
                    "step": event.step_key,
                    "event": event.event_type.value,
                    "error": messages(error),
                }
            )
    return {"success": result.success, "steps": steps, "log": lines}


def main() -> None:
    definitions, command, *rest = sys.argv[1:]
    defs = load(definitions)
    answer = describe(defs) if command == "describe" else execute(defs, *rest)
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
