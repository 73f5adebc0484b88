"""`meltano run` end to end: examples/ data through target-incidentio into the sandbox.

Meltano lives in `.venv-meltano` and the plugins in `.meltano/` (both gitignored, reused
between runs); the first run installs them (about 30 s). State goes to a temporary
system database, so a developer's own `meltano run` history is never touched.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
import yaml

from incidentio_sandbox import Sandbox

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
JOB = "incidentio-demo"
STATE_IDS = {
    "dev:tap-jsonl-services-to-target-incidentio",
    "dev:tap-jsonl-monitoring-to-target-incidentio",
    "dev:tap-jsonl-tickets-to-target-incidentio",
}
# Columns the stream maps drop: they must never reach incident.io.
INTERNAL = ("escalation_policy_internal", "ingest_batch_id", "requester_email",
            "pagerduty_service_key", "_sdc_filename")  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(name: str) -> list[dict[str, Any]]:
    (path,) = (DATA / name).glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class Pipeline:
    """Meltano pointed at one running sandbox, with a private state database."""

    def __init__(self, demo: ModuleType, meltano: Path, sandbox: Sandbox, tmp: Path) -> None:
        self.demo, self.meltano, self.sandbox = demo, meltano, sandbox
        self.log = tmp / "meltano.log"
        self.responses = tmp / "responses.jsonl"
        self.env = demo.meltano_env(
            sandbox.url,
            self.responses,
            {"MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}"},
        )

    def __call__(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = self.demo.run_meltano(
            self.meltano, list(args), {**self.env, **(env or {})}, self.log
        )
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stdout[-6000:]}"
        )
        return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    demo = load_demo()
    try:
        meltano = demo.ensure_meltano()
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"meltano=={demo.MELTANO_VERSION} cannot be installed here: {error}")
    with Sandbox(port=0) as sandbox:
        run = Pipeline(demo, meltano, sandbox, tmp_path_factory.mktemp("meltano"))
        run("install")
        yield run


def journal_bodies(sandbox: Sandbox, endpoint: str) -> list[dict[str, Any]]:
    return [e["body"] for e in sandbox.journal() if e["endpoint"] == endpoint]


def assert_spec_valid(journal: list[dict[str, Any]], openapi_validator: Any) -> None:
    """Every request answered 2xx, met incident.io's spec, and carried no internal column."""
    assert journal
    for entry in journal:
        assert entry["status"] in (200, 201, 202), entry
        query = f"?{urlencode(entry['query'])}" if entry["query"] else ""
        url = f"https://api.incident.io{entry['path']}{query}"
        openapi_validator(entry["method"], url, entry["body"])
        sent = json.dumps(entry["body"])
        assert not any(column in sent for column in INTERNAL), sent


def check_delivery(sandbox: Sandbox, openapi_validator: Any) -> None:
    """What the sandbox holds matches examples/ data, mapped as meltano.yml says."""
    state = sandbox.state()
    journal = sandbox.journal()
    assert_spec_valid(journal, openapi_validator)

    # Monitoring: a snapshot of what is failing now, one firing alert per row, none resolved.
    checks = {row["check_id"]: row for row in rows("monitoring")}
    alerts = {a["deduplication_key"]: a for a in state["alerts"]}
    assert set(alerts) == set(checks)
    assert {a["status"] for a in alerts.values()} == {"firing"}
    for body in journal_bodies(sandbox, "alert_event"):
        check = checks[body["deduplication_key"]]
        assert body["status"] == "firing"
        assert body["title"] == f"{check['service']}: {check['check_name']}"
        assert body["metadata"]["state"] == check["state"]

    # Tickets: one incident each, keyed by ticket id.
    tickets = rows("tickets")
    assert sorted(i["name"] for i in state["incidents"]) == sorted(t["subject"] for t in tickets)
    assert {b["idempotency_key"] for b in journal_bodies(sandbox, "create_incident")} == {
        f"helpdesk-ticket-{t['id']}" for t in tickets
    }
    # The ticket map gives severity and status by name; the target sent the sandbox's ids.
    severities = {s.name: s.id for s in sandbox.current_seed().severities}
    by_key = {b["idempotency_key"]: b for b in journal_bodies(sandbox, "create_incident")}
    for ticket in tickets:
        wanted = {"urgent": "Critical", "high": "Major"}.get(ticket["priority"], "Minor")
        assert by_key[f"helpdesk-ticket-{ticket['id']}"]["severity_id"] == severities[wanted]

    # Services: one catalog entry each, upserted by external id, attributes mapped.
    services = {s["service_id"]: s for s in rows("services")}
    entries = {e["external_id"]: e for e in state["catalog_entries"]}
    assert set(entries) == set(services)
    for service_id, entry in entries.items():
        service = services[service_id]
        assert entry["name"] == service["name"]
        assert entry["aliases"] == service["aliases"]
        literals = {v["value"]["literal"] for v in entry["attribute_values"].values()}
        assert literals == {str(service["tier"]), service["owner_team"], service["lifecycle"]}


def test_meltano_run_delivers_and_reruns_without_duplicates(
    pipeline: Pipeline, openapi_validator: Any
) -> None:
    sandbox = pipeline.sandbox
    pipeline("--environment=dev", "run", JOB)
    check_delivery(sandbox, openapi_validator)
    first = sandbox.state()
    calls = len(sandbox.journal())
    responses = pipeline.responses.read_text(encoding="utf-8").splitlines()
    assert len(responses) == calls
    assert all(json.loads(line)["status"] == "delivered" for line in responses)

    # Meltano stored each pipeline's state.
    listed = pipeline("--environment=dev", "state", "list").stdout
    assert {line.strip() for line in listed.splitlines()} >= STATE_IDS
    got = pipeline(
        "--environment=dev", "state", "get", "dev:tap-jsonl-tickets-to-target-incidentio"
    )
    stored = json.loads(got.stdout.strip().splitlines()[-1])
    assert "tickets" in stored["singer_state"]["bookmarks"]

    # A scheduled rerun: nothing new in incident.io. (tap-jsonl 0.3.1 re-reads its files
    # despite the state, so this also replays every write against the sandbox.)
    pipeline("--environment=dev", "run", JOB)
    check_delivery(sandbox, openapi_validator)
    second = sandbox.state()
    assert [i["id"] for i in second["incidents"]] == [i["id"] for i in first["incidents"]]
    assert {e["id"] for e in second["catalog_entries"]} == {
        e["id"] for e in first["catalog_entries"]
    }
    assert {a["id"]: a["status"] for a in second["alerts"]} == {
        a["id"]: a["status"] for a in first["alerts"]
    }


def test_a_fixed_check_leaves_the_snapshot_and_its_alert_resolves(
    pipeline: Pipeline, openapi_validator: Any, tmp_path: Path
) -> None:
    # The demo's second run: the monitoring table without the row of the check that was fixed.
    sandbox = pipeline.sandbox
    demo = pipeline.demo
    pipeline("--environment=dev", "run", *demo.MONITORING_TASK)
    before = len(sandbox.journal())
    fixed = demo.snapshot_without(demo.FIXED_CHECK, tmp_path / "next")
    pipeline("--environment=dev", "run", *demo.MONITORING_TASK, env=fixed)

    journal = sandbox.journal(since=before)
    assert_spec_valid(journal, openapi_validator)
    check = {row["check_id"]: row for row in rows("monitoring")}[demo.FIXED_CHECK]
    assert demo.resolved_alerts(journal) == [
        {
            "title": f"{check['service']}: {check['check_name']}",
            "status": "resolved",
            "deduplication_key": demo.FIXED_CHECK,
        }
    ]
    alerts = {a["deduplication_key"]: a["status"] for a in sandbox.state()["alerts"]}
    assert alerts.pop(demo.FIXED_CHECK) == "resolved"
    assert set(alerts.values()) == {"firing"}
    logged = [json.loads(line) for line in pipeline.responses.read_text().splitlines()]
    assert [r["record_keys"] for r in logged if r["operation"] == "alert_resolution"] == [
        [f"deduplication_key={demo.FIXED_CHECK!r}"]
    ]


def test_jobs_schedules_and_prod_secrets_from_env(pipeline: Pipeline) -> None:
    jobs = pipeline("job", "list").stdout
    assert f"{JOB}:" in jobs
    schedules = pipeline("schedule", "list").stdout
    assert f"job incidentio-every-15-minutes: {JOB}" in schedules
    env = {**pipeline.env, "TARGET_INCIDENTIO_API_KEY": "prod-key-from-env"}
    listed = pipeline.demo.run_meltano(
        pipeline.meltano,
        ["--environment=prod", "config", "list", "target-incidentio"],
        env,
        pipeline.log,
    ).stdout
    assert "from the TARGET_INCIDENTIO_API_KEY variable in the environment" in listed
    assert "prod-key-from-env" not in listed


def _dev_catalog_seed() -> dict[str, Any]:
    """The catalog type meltano.yml's dev environment maps into, with those attribute ids."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (dev,) = (env for env in project["environments"] if env["name"] == "dev")
    (loader,) = dev["config"]["plugins"]["loaders"]
    config = loader["config"]
    attributes = [{"id": i, "name": n} for n, i in config["catalog_attributes"].items()]
    return {
        "catalog_types": [
            {"id": config["catalog_type_id"], "name": "Service", "attributes": attributes}
        ]
    }


def test_meltano_invoke_check(pipeline: Pipeline, tmp_path: Path) -> None:
    # Meltano passes --check through with the project's config; the exit code comes back.
    with Sandbox(port=0, seed=_dev_catalog_seed()) as sandbox:
        run = Pipeline(pipeline.demo, pipeline.meltano, sandbox, tmp_path)
        args = ["--environment=dev", "invoke", "target-incidentio", "--check"]
        passed = run.demo.run_meltano(run.meltano, args, run.env, run.log)
        assert passed.returncode == 0, passed.stdout[-6000:]
        assert "check: all" in passed.stdout
        assert "check passed: streams.services.catalog_attributes" in passed.stdout
        assert {entry["method"] for entry in sandbox.journal()} == {"GET"}
    # The demo's own sandbox holds no such type: with none configured it takes any type id,
    # but the type it shows has no attributes, so the mapped ones fail.
    failed = pipeline.demo.run_meltano(pipeline.meltano, args, pipeline.env, pipeline.log)
    assert failed.returncode != 0
    assert "is not an attribute of catalog type" in failed.stdout
