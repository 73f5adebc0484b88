"""`meltano run` end to end: examples/ data through target-incidentio into the sandbox.

Meltano lives in `.venv-meltano` (gitignored, reused between runs) and the plugins in
`.meltano/`, installed by `meltano install` once a session (tests/e2e/conftest.py). State
goes to a temporary system database, so a developer's own `meltano run` history is never
touched.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from loading import load_script, meltano_or_skip

from incidentio_sandbox import Sandbox

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
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


def install_project(tmp: Path) -> Path:
    """Meltano (`.venv-meltano`'s), after `meltano install` of meltano.yml's plugins passed.

    tests/e2e/conftest.py runs it once a session (the `meltano` fixture): `meltano install`
    reinstalls every plugin whenever it runs, and the pipelines only run the plugins, so every
    pipeline of a session shares one install.
    """
    demo = load_script("demo")
    meltano = meltano_or_skip(demo)
    # No sandbox: installing reaches PyPI only.
    env = demo.meltano_env(
        "http://127.0.0.1:9",
        tmp / "responses.jsonl",
        {"MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}"},
    )
    installed = demo.run_meltano(meltano, ["install"], env, tmp / "meltano.log")
    assert installed.returncode == 0, (
        f"meltano install exited {installed.returncode}:\n{installed.stdout[-6000:]}"
    )
    return meltano


@contextlib.contextmanager
def sandbox_pipeline(
    tmp: Path, meltano: Path, seed: dict[str, Any] | None = None
) -> Iterator[Pipeline]:
    """A sandbox, and `meltano` (the project's plugins installed) pointed at it.

    The sandbox is seeded as docs/meltano.md and the demo start it (examples/sandbox-seed.json),
    plus what `seed` adds.
    """
    demo = load_script("demo")
    with Sandbox(port=0, seed={**demo.sandbox_seed(), **(seed or {})}) as sandbox:
        yield Pipeline(demo, meltano, sandbox, tmp)


@pytest.fixture(scope="module")
def pipeline(meltano: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with sandbox_pipeline(tmp_path_factory.mktemp("meltano"), meltano) as run:
        yield run


def journal_bodies(sandbox: Sandbox, endpoint: str) -> list[dict[str, Any]]:
    return [e["body"] for e in sandbox.journal() if e["endpoint"] == endpoint]


def assert_spec_valid(journal: list[dict[str, Any]], openapi_validator: Any) -> None:
    """Every request answered 2xx, met incident.io's spec, and carried no internal column."""
    assert journal
    for entry in journal:
        assert entry["status"] in (200, 201, 202, 204), entry  # 204: a heartbeat ping
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
    seed = sandbox.current_seed()
    severities = {s.name: s.id for s in seed.severities}
    (field,) = (f for f in seed.custom_fields if f.name == "Team")
    options = {"field": field.id, **{o.value: o.id for o in field.options}}
    by_key = {b["idempotency_key"]: b for b in journal_bodies(sandbox, "create_incident")}
    for ticket in tickets:
        wanted = {"urgent": "Critical", "high": "Major"}.get(ticket["priority"], "Minor")
        sent = by_key[f"helpdesk-ticket-{ticket['id']}"]
        assert sent["severity_id"] == severities[wanted]
        # The team, by the option's text in examples/sandbox-seed.json, went as its option id.
        (team,) = sent["custom_field_entries"]
        assert team["custom_field_id"] == options["field"]
        assert team["values"] == [{"value_option_id": options[ticket["assignee_group"]]}]

    # Services: one catalog entry each, upserted by external id, attributes mapped, in a
    # Service type the target created from the stream (meltano.yml names no id for it).
    (kind,) = sandbox.current_seed().catalog_types
    assert (kind.name, dict(kind.annotations)) == (
        "Service",
        {"target-incidentio/stream": "services"},
    )
    assert {a.name: a.type for a in kind.attributes} == {
        "tier": "Number",
        "owner_team": "String",
        "lifecycle": "String",
    }
    services = {s["service_id"]: s for s in rows("services")}
    entries = {e["external_id"]: e for e in state["catalog_entries"]}
    assert set(entries) == set(services)
    assert {e["catalog_type_id"] for e in entries.values()} == {kind.id}
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


def test_meltano_invoke_check(pipeline: Pipeline, tmp_path: Path) -> None:
    # Meltano passes --check through with the project's config; the exit code comes back.
    args = ["--environment=dev", "invoke", "target-incidentio", "--check"]
    # The sandbox as docs/meltano.md starts it: the dev seed holds the Team field the tickets name.
    seed = pipeline.demo.sandbox_seed()
    with Sandbox(port=0, seed=seed) as sandbox:
        run = Pipeline(pipeline.demo, pipeline.meltano, sandbox, tmp_path)
        fresh = run.demo.run_meltano(run.meltano, args, run.env, run.log)
        assert fresh.returncode == 0, fresh.stdout[-6000:]
        assert "check: all" in fresh.stdout
        # meltano.yml names no catalog type id: the services stream creates its type.
        assert "catalog type Service does not exist yet; the first run creates it" in fresh.stdout
        assert {entry["method"] for entry in sandbox.journal()} == {"GET"}
    # The demo's sandbox after a run holds the type the target made, and says so.
    pipeline("--environment=dev", "run", "tap-jsonl-services", "target-incidentio")
    made = pipeline.demo.run_meltano(pipeline.meltano, args, pipeline.env, pipeline.log)
    assert made.returncode == 0, made.stdout[-6000:]
    assert "managed by target-incidentio (stream 'services')" in made.stdout
    # Two types of that name: which one is meant cannot be told, and the check fails.
    twice = {**seed, "catalog_types": [{"id": f"01T{i}", "name": "Service"} for i in (1, 2)]}
    with Sandbox(port=0, seed=twice) as sandbox:
        run = Pipeline(pipeline.demo, pipeline.meltano, sandbox, tmp_path)
        failed = run.demo.run_meltano(run.meltano, args, run.env, run.log)
        assert failed.returncode != 0
        assert "several catalog types are named 'Service'" in failed.stdout
        assert "check: 1 failed" in failed.stdout  # that, and nothing else


def test_a_heartbeat_set_up_for_production_reaches_neither_dev_nor_the_demo(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """docs/production.md, step 4: the token is read by the prod environment only.

    `.env` applies to every environment; the step once put TARGET_INCIDENTIO_HEARTBEAT_TOKEN
    there, and every dev run then failed. `--env-file` stands in for the project's `.env`.
    """
    env_file = tmp_path / ".env"
    env_file.write_text(
        "INCIDENTIO_PROD_HEARTBEAT_TOKEN='hb-prod-SECRET'\n"
        # What the old step 4 wrote (its id went to prod's config): the demo must still run.
        "TARGET_INCIDENTIO_HEARTBEAT_TOKEN='hb-old-SECRET'\n",
        encoding="utf-8",
    )
    dotenv = ["--env-file", str(env_file)]
    pipeline(*dotenv, "--environment=dev", "run", *pipeline.demo.MONITORING_TASK)
    assert not any("/heartbeat/" in e["path"] for e in pipeline.sandbox.journal())

    env_file.write_text("INCIDENTIO_PROD_HEARTBEAT_TOKEN='hb-prod-SECRET'\n", encoding="utf-8")
    plain = {k: v for k, v in pipeline.env.items() if not k.startswith("TARGET_INCIDENTIO_")}

    def heartbeat_token(environment: str) -> str:
        args = [*dotenv, f"--environment={environment}", "config", "list", "--all"]
        args.append("target-incidentio")
        listed = pipeline.demo.run_meltano(pipeline.meltano, args, plain, pipeline.log).stdout
        assert "hb-prod-SECRET" not in listed
        (line,) = (x for x in listed.splitlines() if x.startswith("heartbeat_token "))
        return line

    assert "current value: None" in heartbeat_token("dev")
    assert "current value: (redacted)" in heartbeat_token("prod")
