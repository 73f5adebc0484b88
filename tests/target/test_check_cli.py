"""`target-incidentio --check` against the sandbox: what fails names itself and its fix, what is
right passes with exit 0, and in every case only GET requests left, stdout stayed empty, no
secret was printed and nothing was written."""

from __future__ import annotations

import re
import socket
import time
import typing as t
from datetime import datetime, timezone

import pytest
from support import CLASS_NAME, record, run_cli, run_in_process, schema

from incidentio_sandbox import Sandbox
from incidentio_sandbox.seed import all_roles
from target_incidentio.operations import OPERATIONS

if t.TYPE_CHECKING:
    from pathlib import Path

    from support import Run

API_KEY = "ik-check-SENTINEL-3Jq9vL"
ADMIN_KEY = "ik-check-SENTINEL-admin-8Tn"
TOKEN = "as-check-SENTINEL-token-7Wm2"
SOURCE = "01HCHECKHTTPSOURCE0000000"
HEARTBEAT = "01HCHECKHEARTBEAT00000000"
HEARTBEAT_TOKEN = "hb-check-SENTINEL-token-4Rk"
SECRETS = (API_KEY, ADMIN_KEY, TOKEN, HEARTBEAT_TOKEN)
SERVICE_ATTRIBUTES = [
    {"id": "01ATIER", "name": "tier", "type": "String"},
    {"id": "01AOWNER", "name": "owner", "type": "String"},
]
SEED = {
    "catalog_types": [
        {"id": "01TSERVICE", "name": "Service", "attributes": SERVICE_ATTRIBUTES},
        {"id": "01TTEAM", "name": "Team", "attributes": [{"id": "01ALEAD", "name": "lead"}]},
    ],
    "alert_sources": [{"id": "01SDATADOG", "name": "Datadog", "source_type": "datadog"}],
    "heartbeat_sources": [
        {
            "id": HEARTBEAT,
            "name": "Nightly sync",
            "token": HEARTBEAT_TOKEN,
            "interval_seconds": 3600,
        }
    ],
    "custom_fields": [
        {"id": "01FTEAM", "name": "Team", "field_type": "single_select"},
        {
            "id": "01FSERVICE",
            "name": "Affected service",
            "field_type": "multi_select",
            "catalog_type_id": "01TSERVICE",
        },
        {"id": "01FNOTES", "name": "Notes", "field_type": "text"},
        {"id": "01FCOST", "name": "Cost", "field_type": "numeric"},
        {"id": "01FDOC", "name": "Runbook", "field_type": "link"},
    ],
    "users": [{"id": "01HUSERANN0000000000000000", "name": "Ann", "email": "ann@example.com"}],
    "schedules": [
        {"id": "01HSCHED", "name": "Primary", "rotations": [{"id": "01HROT", "name": "All"}]}
    ],
    "escalation_paths": [
        {
            "id": "01HPATH0000000000000000000",
            "name": "Data",
            "user_ids": ["01HUSERANN0000000000000000"],
        }
    ],
}
CUSTOM_FIELDS = [
    {"field": "team", "custom_field_id": "01FTEAM", "kind": "option"},
    {"field": "service", "custom_field_id": "01FSERVICE", "kind": "catalog_entry"},
    {"field": "notes", "custom_field_id": "01FNOTES", "kind": "text"},
    {"field": "cost", "custom_field_id": "01FCOST", "kind": "numeric"},
    {"field": "runbook", "custom_field_id": "01FDOC", "kind": "link"},
]


def _sandbox(roles: t.Iterable[str] | None = None, **extra: t.Any) -> Sandbox:
    return Sandbox(
        api_key=[API_KEY, ADMIN_KEY],
        alert_sources={SOURCE: TOKEN},
        seed=SEED,
        api_key_roles=None if roles is None else {API_KEY: tuple(roles)},
        **extra,
    )


@pytest.fixture
def sandbox():
    with _sandbox() as sb:
        yield sb


def config(sb: Sandbox | str, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    """Every operation, each id right; a response log and dead letters that must stay unwritten."""
    return {
        "api_key": API_KEY,
        "base_url": sb if isinstance(sb, str) else sb.url,
        "operation": "incident",
        "custom_fields": CUSTOM_FIELDS,
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "on_error": "continue",
        "max_retries": 3,
        "max_retry_wait": 0.05,
        "request_timeout": 5,
        "streams": {
            "services": {
                "operation": "catalog_entry",
                "catalog_type_id": "01TSERVICE",
                "catalog_attributes": {"tier": "01ATIER", "owner": "01AOWNER"},
            },
            "monitoring_*": {
                "operation": "alert_event",
                "alert_source_config_id": SOURCE,
                "alert_source_token": TOKEN,
            },
            "ticket_edits": {"operation": "incident_edit"},
            "ticket_updates": {"operation": "incident_update"},
            "timeline": {"operation": "http", "api_url": "/v2/incident_timeline_items"},
        },
        **extra,
    }


def check(cfg: dict[str, t.Any] | None, tmp_path: Path, **kwargs: t.Any) -> Run:
    """`target-incidentio --config … --check`, nothing on stdin."""
    return run_cli(cfg, "", tmp_path, args=["--check"], **kwargs)


def lines(run: Run, status: str) -> list[str]:
    """What follows `check <status>: ` on each such line of stderr."""
    return re.findall(rf"check {status}: (.*)", run.stderr)


def one(run: Run, status: str, subject: str) -> str:
    """The one line of `status` about `subject` (a setting's path)."""
    found = [line for line in lines(run, status) if line.startswith(f"{subject}: ")]
    assert len(found) == 1, (status, subject, run.stderr)
    return found[0]


def assert_a_check(run: Run, sb: Sandbox | None, tmp_path: Path) -> None:
    """What every check keeps to, whatever it found."""
    assert run.stdout == ""
    assert not [secret for secret in SECRETS if secret in run.stderr]
    if sb is not None:
        assert {entry["method"] for entry in sb.journal()} <= {"GET"}
    assert not (tmp_path / "responses.jsonl").exists()
    assert not (tmp_path / "dead.jsonl").exists()
    assert re.search(r"check: (all \d+ passed|\d+ failed, \d+ passed)", run.stderr), run.stderr


# -- the cases -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_correct_configuration_passes(sandbox, tmp_path):
    run = check(config(sandbox, tmp_path), tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 0, run.stderr
    assert lines(run, "FAILED") == []
    assert "base_url: " in run.stderr
    assert "answers" in one(run, "passed", "base_url")
    assert "`catalog_editor` for `catalog_entry` at stream `services`" in one(
        run, "passed", "api_key"
    )
    assert "Service" in one(run, "passed", "streams.services.catalog_type_id")
    assert "`tier` → tier" in one(run, "passed", "streams.services.catalog_attributes")
    assert "takes HTTP events" in one(run, "passed", "streams.monitoring_*.alert_source_config_id")
    one(run, "passed", "streams.monitoring_*.alert_source_token")
    for index, mapped in enumerate(CUSTOM_FIELDS):
        assert f"kind `{mapped['kind']}` fits" in one(run, "passed", f"custom_fields[{index}]")
    # `http` calls any endpoint: its roles cannot be known, which is said, not failed.
    assert "depend on its endpoint" in one(run, "note", "streams.timeline.api_url")
    assert re.search(r"check: all \d+ passed, 1 note\(s\); the configuration is ready", run.stderr)
    # Each id was asked once, however many streams inherit it; all with the key.
    paths = [entry["path"] for entry in sandbox.journal()]
    assert paths.count("/v1/identity") == 1
    assert paths.count("/v2/custom_fields/01FTEAM") == 1
    assert all(e["headers"]["Authorization"] == "Bearer ***" for e in sandbox.journal())


@pytest.mark.slow
def test_a_key_without_catalog_editor_fails_naming_the_role(tmp_path):
    with _sandbox(roles=["viewer", "catalog_viewer", "incident_creator", "incident_editor"]) as sb:
        run = check(config(sb, tmp_path), tmp_path)

        assert_a_check(run, sb, tmp_path)
    assert run.returncode == 1
    failure = one(run, "FAILED", "api_key")
    assert "lacks `catalog_editor` (needed by `catalog_entry` at stream `services`)" in failure
    assert "It holds: viewer, catalog_viewer, incident_creator, incident_editor" in failure
    assert "Fix: " in failure
    assert "`catalog_editor`" in failure.split("Fix: ")[1]
    # Nothing else was wrong: the rest still passed.
    assert len(lines(run, "FAILED")) == 1
    assert re.search(r"check: 1 failed, \d+ passed", run.stderr)


@pytest.mark.slow
def test_an_attribute_of_another_type_fails_naming_the_stream_the_id_and_the_attributes(
    sandbox, tmp_path
):
    cfg = config(sandbox, tmp_path)
    cfg["streams"]["services"]["catalog_attributes"] = {"tier": "01ATIER", "lead": "01ALEAD"}
    run = check(cfg, tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 1
    failure = one(run, "FAILED", "streams.services.catalog_attributes")
    assert "`lead` → `01ALEAD` is not an attribute of catalog type Service (`01TSERVICE`)" in (
        failure
    )
    assert "Its attributes (name = id): tier = 01ATIER, owner = 01AOWNER." in failure


@pytest.mark.slow
def test_an_attribute_named_by_its_name_gets_its_id_as_the_fix(sandbox, tmp_path):
    cfg = config(sandbox, tmp_path)
    cfg["streams"]["services"]["catalog_attributes"] = {"tier": "tier"}
    run = check(cfg, tmp_path)

    assert run.returncode == 1
    assert 'Fix: use "tier": "01ATIER".' in one(
        run, "FAILED", "streams.services.catalog_attributes"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stream", "setting", "wrong", "says"),
    [
        (
            "services",
            "catalog_type_id",
            "01TFROMSTAGING",
            ["catalog type `01TFROMSTAGING` does not exist", "GET /v3/catalog_types"],
        ),
        (
            "monitoring_*",
            "alert_source_config_id",
            "01HTYPO",
            [
                "alert source `01HTYPO` does not exist in this incident.io account",
                "/v2/alert_events/http/<id>",
            ],
        ),
        (
            "monitoring_*",
            "alert_source_config_id",
            "01SDATADOG",
            ["alert source `01SDATADOG` (Datadog) is a `datadog` source"],
        ),
        (
            "monitoring_*",
            "alert_source_token",
            "as-check-SENTINEL-wrong-1Qz",
            [f"is not the token of alert source `{SOURCE}`"],
        ),
    ],
    ids=["unknown catalog type", "unknown alert source", "not an HTTP source", "wrong token"],
)
def test_a_wrong_id_or_token_fails_naming_the_setting_and_what_is_wrong(
    sandbox, tmp_path, stream, setting, wrong, says
):
    cfg = config(sandbox, tmp_path)
    cfg["streams"][stream][setting] = wrong
    run = check(cfg, tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 1
    failure = one(run, "FAILED", f"streams.{stream}.{setting}")
    assert [text for text in says if text not in failure] == []
    assert "SENTINEL" not in run.stderr  # a wrong token is not shown either


@pytest.mark.slow
def test_an_unknown_custom_field_fails_with_its_id(sandbox, tmp_path):
    fields = [*CUSTOM_FIELDS, {"field": "region", "custom_field_id": "01FGONE", "kind": "text"}]
    run = check(config(sandbox, tmp_path, custom_fields=fields), tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 1
    failure = one(run, "FAILED", f"custom_fields[{len(CUSTOM_FIELDS)}]")
    assert "custom field `01FGONE` does not exist" in failure
    assert "`region`" in failure


@pytest.mark.slow
@pytest.mark.parametrize(
    ("field_id", "kind", "fits"),
    [
        ("01FSERVICE", "option", "catalog_entry"),  # a select field of a catalog type
        ("01FTEAM", "catalog_entry", "option"),  # a select field of options
        ("01FTEAM", "text", "option"),
        ("01FNOTES", "numeric", "text"),
        ("01FCOST", "link", "numeric"),
        ("01FDOC", "text", "link"),
    ],
)
def test_a_custom_field_of_another_kind_fails_with_the_kind_that_fits(
    sandbox, tmp_path, field_id, kind, fits
):
    fields = [{"field": "x", "custom_field_id": field_id, "kind": kind}]
    run = check(config(sandbox, tmp_path, custom_fields=fields), tmp_path)

    assert run.returncode == 1
    failure = one(run, "FAILED", "custom_fields[0]")
    assert f"but its `kind` is `{kind}`" in failure
    assert f'Fix: set "kind": "{fits}".' in failure


# -- roles per operation ---------------------------------------------------------------------------

ROLES = [(op.name, role) for op in OPERATIONS.values() for role in op.roles or ()]


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "role"), ROLES)
def test_each_role_an_operation_needs_is_checked(tmp_path, operation, role):
    with _sandbox(roles=set(all_roles()) - {role}) as sb:
        streams = {"s": {"operation": operation, "catalog_type_id": "01TSERVICE"}}
        cfg = {"api_key": API_KEY, "base_url": sb.url, "streams": streams}
        cfg |= {"alert_source_token": TOKEN}  # the top level keeps the default `alert_event`
        run = check(cfg, tmp_path)

    assert run.returncode == 1
    assert f"lacks `{role}` (needed by `{operation}` at stream `s`)" in one(
        run, "FAILED", "api_key"
    )


def test_the_roles_declared_are_incident_ios():
    assert {role for _, role in ROLES} <= set(all_roles())
    assert all(op.roles == () for op in OPERATIONS.values() if op.credential != "api_key")


INCIDENT = [
    schema("tickets", {"id": {"type": "integer"}, "name": {"type": "string"}}, ["id"]),
    record("tickets", {"id": 1, "name": "Checkout down"}),
]


def _followers(incident_id: str) -> dict[str, list[dict[str, t.Any]]]:
    return {
        "incident_edit": [
            schema("s", {"id": {"type": "string"}, "summary": {"type": "string"}}, ["id"]),
            record("s", {"id": incident_id, "summary": "Root cause found"}),
        ],
        "incident_update": [
            schema("s", {"n": {"type": "integer"}, "incident_id": {"type": "string"}}, ["n"]),
            record("s", {"n": 1, "incident_id": incident_id, "message": "Mitigated"}),
        ],
        "incident": [schema("s", {"id": {"type": "integer"}}, ["id"]), record("s", {"id": 2})],
        "incident_timeline_item": [
            schema("s", {"n": {"type": "integer"}}, ["n"]),
            record(
                "s",
                {
                    "n": 1,
                    "incident_id": incident_id,
                    "timestamp": "2026-09-01T15:30:00Z",
                    "title": "Rolled back",
                },
            ),
        ],
        "escalation": [
            schema("s", {"n": {"type": "integer"}}, ["n"]),
            record("s", {"n": 1, "title": "Orders stale", "escalation_path": "data"}),
        ],
        "schedule_override": [
            schema("s", {"n": {"type": "integer"}}, ["n"]),
            record(
                "s",
                {
                    "n": 1,
                    "schedule": "primary",
                    "user": "ann@example.com",
                    "start_at": "2030-06-10T09:00:00Z",
                    "end_at": "2030-06-10T17:00:00Z",
                },
            ),
        ],
        "catalog_entry": [
            schema("s", {"external_id": {"type": "string"}, "tier": {"type": "string"}}, []),
            record("s", {"external_id": "svc-1", "name": "Payments", "tier": "1"}),
        ],
    }


@pytest.mark.parametrize("operation", [op.name for op in OPERATIONS.values() if op.roles])
def test_a_key_with_just_the_declared_roles_can_do_the_operation(tmp_path, operation):
    # The declaration against the sandbox's own rule of roles per endpoint: what --check
    # asks for is enough for a run.
    roles = OPERATIONS[operation].roles or ()
    with _sandbox(roles=roles) as sb:
        admin = {"api_key": ADMIN_KEY, "base_url": sb.url, "operation": "incident"}
        run_in_process(admin, INCIDENT)
        incident_id = sb.state()["incidents"][0]["id"]
        cfg = {
            "api_key": API_KEY,
            "base_url": sb.url,
            "operation": operation,
            "catalog_type_id": "01TSERVICE",
            "catalog_attributes": {"tier": "01ATIER"},
            "stream_maps": {"s": {"name": "'Incident ' + str(id)"}}
            if operation == "incident"
            else {},
        }
        run_in_process(cfg, _followers(incident_id)[operation])
        statuses = [entry["status"] for entry in sb.journal()]
        assert statuses[-1] < 300, statuses
        # Live: the sandbox refuses a key without them.
        sb.load_seed({"api_key_roles": {API_KEY: []}})
        with pytest.raises(Exception, match="403"):
            run_in_process({**cfg, "on_error": "fail"}, _followers(incident_id)[operation])
        assert sb.journal()[-1]["status"] == 403


# -- settings, environment, transport --------------------------------------------------------------

BAD_SETTINGS = [
    {"max_retries": -1},
    {"api_keyy": "x"},
    {"streams": {"tickets": {"operation": "incident", "max_retries": 2}}},
    {"operation": "http"},  # without api_url
]


@pytest.mark.slow
@pytest.mark.parametrize("change", BAD_SETTINGS)
def test_a_bad_setting_fails_with_the_same_message_as_at_start(sandbox, tmp_path, change):
    cfg = config(sandbox, tmp_path) | change
    started = run_cli(cfg, "", tmp_path)
    checked = check(cfg, tmp_path)

    assert started.returncode == checked.returncode == 1
    messages = re.findall(r"\| ERROR +\| target-incidentio +\| (Setting .*)", started.stderr)
    assert messages, started.stderr
    assert [f"settings: {m}" for m in messages] == lines(checked, "FAILED")
    assert "nothing was looked up until the settings parse" in checked.stderr
    assert sandbox.journal() == []
    assert_a_check(checked, sandbox, tmp_path)


@pytest.mark.slow
def test_a_dry_run_without_its_credential_fails_the_check(sandbox, tmp_path):
    # A dry run starts without credentials; the real run it rehearses will not.
    cfg = config(sandbox, tmp_path, dry_run=True)
    del cfg["api_key"]
    run = check(cfg, tmp_path)

    assert run.returncode == 1
    failures = lines(run, "FAILED")
    assert (
        "settings: Setting `api_key`: the `incident` operation needs an incident.io API key."
        in ([failure.split(" Fix: ")[0] for failure in failures])
    )
    # Each level that needs the key says so, naming itself.
    assert any("(set by `streams.services`)" in failure for failure in failures)


@pytest.mark.slow
def test_config_env_works_with_check(sandbox, tmp_path):
    env = {
        "TARGET_INCIDENTIO_API_KEY": API_KEY,
        "TARGET_INCIDENTIO_BASE_URL": sandbox.url,
        "TARGET_INCIDENTIO_OPERATION": "catalog_entry",
        "TARGET_INCIDENTIO_CATALOG_TYPE_ID": "01TSERVICE",
        "TARGET_INCIDENTIO_CATALOG_ATTRIBUTES": '{"tier": "01ATIER"}',
    }
    run = check(None, tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    one(run, "passed", "catalog_attributes")
    assert_a_check(run, sandbox, tmp_path)

    # The environment is what was checked: a wrong id there fails.
    env["TARGET_INCIDENTIO_CATALOG_ATTRIBUTES"] = '{"tier": "01ALEAD"}'
    run = check(None, tmp_path, env=env)
    assert run.returncode == 1
    assert "`tier` → `01ALEAD`" in one(run, "FAILED", "catalog_attributes")


@pytest.mark.slow
def test_a_key_incident_io_refuses_fails_and_nothing_else_is_asked(tmp_path):
    with _sandbox() as sb:
        cfg = config(sb, tmp_path, api_key="ik-check-SENTINEL-revoked-0Pp")
        run = check(cfg, tmp_path)
        paths = [entry["path"] for entry in sb.journal()]

    assert run.returncode == 1
    assert "does not accept the API key" in one(run, "FAILED", "api_key")
    assert "not checked: the API key did not pass" in one(run, "note", "custom_fields[0]")
    assert paths == ["/v1/identity"]
    assert "SENTINEL" not in run.stderr


@pytest.mark.slow
def test_an_alert_only_pipeline_without_a_key_notes_what_it_cannot_check(sandbox, tmp_path):
    cfg = {
        "base_url": sandbox.url,
        "alert_source_config_id": SOURCE,
        "alert_source_token": TOKEN,
        "response_log_path": str(tmp_path / "responses.jsonl"),
    }
    run = check(cfg, tmp_path)

    assert run.returncode == 0, run.stderr
    assert "cannot be checked without an `api_key`" in one(run, "note", "alert_source_config_id")
    assert [entry["path"] for entry in sandbox.journal()] == ["/v1/identity"]
    assert_a_check(run, sandbox, tmp_path)


@pytest.mark.slow
def test_look_ups_are_retried_like_any_call(tmp_path):
    faults = {
        "script": [
            {"path": "/v1/identity", "fault": "503", "count": 1},
            {"path": "/v3/catalog_types/*", "fault": "429", "count": 1},
            {"path": "/v2/custom_fields/*", "fault": "reset", "count": 1},
        ]
    }
    with _sandbox(faults=faults) as sb:
        run = check(config(sb, tmp_path), tmp_path)
        statuses = [(entry["path"], entry["status"]) for entry in sb.journal()]

    assert run.returncode == 0, run.stderr
    assert statuses[:2] == [("/v1/identity", 503), ("/v1/identity", 200)]
    assert statuses.count(("/v3/catalog_types/01TSERVICE", 429)) == 1
    assert statuses.count(("/v3/catalog_types/01TSERVICE", 200)) == 1
    # Answers (503, 429) get the configured retries, at most 3; a reset (no answer) one.
    for label in ("GET /v1/identity", "GET /v3/catalog_types/01TSERVICE"):
        assert re.search(rf"{label}\S* failed: .*; retry 1/3", run.stderr), label
    assert re.search(
        r"GET /v2/custom_fields/\S* failed: .*closed the connection.*; retry 1/1", run.stderr
    )


@pytest.mark.slow
def test_an_untrusted_certificate_fails_clearly(self_signed_server, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    url, seen = self_signed_server
    run = check(config(url, tmp_path), tmp_path)

    assert run.returncode == 1
    failure = one(run, "FAILED", "base_url")
    assert f"{url}: its TLS certificate is not trusted" in failure
    assert "CERTIFICATE_VERIFY_FAILED" in failure
    assert "certificate checks are never switched off" in failure
    assert re.search(r"check note: check: \d+ look-up\(s\) not made: base_url does not", run.stderr)
    assert seen == []  # no request got past the handshake
    assert_a_check(run, None, tmp_path)


# A name under `.invalid` (RFC 6761: resolves nowhere) whose first label starts with a hyphen,
# which glibc's resolver refuses before sending any query: no DNS traffic leaves the machine.
UNRESOLVABLE = "https://-nowhere.invalid"


def logged_seconds(run: Run) -> float:
    """Seconds from the first to the last timestamped log line of stderr."""
    pattern = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \|"
    stamps = [
        datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc)
        for stamp in re.findall(pattern, run.stderr, re.MULTILINE)
    ]
    assert len(stamps) >= 2, run.stderr
    return (stamps[-1] - stamps[0]).total_seconds()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "said", "fix"),
    [
        (
            "refused",
            "refused the connection (nothing listens there)",
            "host and port in `base_url`",
        ),
        ("unresolved", "-nowhere.invalid does not resolve (DNS)", "host name in `base_url`"),
    ],
)
def test_a_base_url_that_cannot_be_reached_fails_fast_and_plainly(tmp_path, where, said, fix):
    # The run's retry budget (8 retries, waits up to 60 s) is not a question's: at most one
    # short retry, so the answer comes within request_timeout plus a few seconds.
    url = f"http://127.0.0.1:{free_port()}" if where == "refused" else UNRESOLVABLE
    cfg = config(url, tmp_path, max_retries=8, max_retry_wait=60, request_timeout=5)
    started = time.monotonic()
    run = check(cfg, tmp_path)
    elapsed = time.monotonic() - started

    assert run.returncode == 1
    # Loose behaviour bounds: the check's own time (its first log line to its summary, so a
    # busy machine's interpreter start does not count) within request_timeout + 5 s, and the
    # whole process well under the run's retry budget (which took 82-116 s).
    assert logged_seconds(run) < 5 + 5, run.stderr
    assert elapsed < 60, elapsed
    failure = one(run, "FAILED", "base_url")
    assert f"{url} does not answer" in failure
    assert said in failure
    assert fix in failure.split("Fix: ")[1]
    assert "HTTPS_PROXY" in failure.split("Fix: ")[1]
    assert not CLASS_NAME.search(run.stderr), run.stderr
    assert re.search(r"retry 1/1 in", run.stderr)
    assert_a_check(run, None, tmp_path)


@pytest.mark.slow
def test_a_run_that_cannot_connect_says_so_plainly(tmp_path):
    # The same words in a run: its failure line, response record and dead letter.
    port = free_port()
    cfg = config(f"http://127.0.0.1:{port}", tmp_path, max_retries=0, operation="incident")
    del cfg["streams"]
    run = run_cli(cfg, INCIDENT, tmp_path)

    said = f"127.0.0.1:{port} refused the connection (nothing listens there)"
    assert run.returncode == 0, run.stderr  # on_error: continue
    assert said in run.stderr
    assert f"{said} (check the host and port of `base_url`, and HTTPS_PROXY" in run.stderr
    assert said in (tmp_path / "dead.jsonl").read_text()
    assert said in (tmp_path / "responses.jsonl").read_text()
    for text in (run.stderr, (tmp_path / "responses.jsonl").read_text()):
        assert not CLASS_NAME.search(text), text


# -- the heartbeat -------------------------------------------------------------------------------


def heartbeat(sb: Sandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    """The issue's pipeline with a heartbeat source."""
    return config(
        sb,
        tmp_path,
        heartbeat_alert_source_config_id=HEARTBEAT,
        heartbeat_token=HEARTBEAT_TOKEN,
        **extra,
    )


@pytest.mark.slow
def test_a_valid_heartbeat_passes(sandbox, tmp_path):
    run = check(heartbeat(sandbox, tmp_path), tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 0, run.stderr
    passed = one(run, "passed", "heartbeat_alert_source_config_id")
    assert f"heartbeat alert source `{HEARTBEAT}` (Nightly sync) exists" in passed
    assert "a ping every 3600 s" in passed
    assert f"is the token of alert source `{HEARTBEAT}`" in one(run, "passed", "heartbeat_token")
    # Looked up, never pinged: a ping would say the run happened.
    paths = [entry["path"] for entry in sandbox.journal()]
    assert f"/v2/alert_sources/{HEARTBEAT}" in paths
    assert not [path for path in paths if path.startswith("/v2/heartbeat/")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "subject", "said"),
    [
        (
            {"heartbeat_alert_source_config_id": "01HNOSUCHBEAT"},
            "heartbeat_alert_source_config_id",
            "heartbeat alert source `01HNOSUCHBEAT` does not exist in this incident.io account",
        ),
        (
            {"heartbeat_alert_source_config_id": SOURCE},
            "heartbeat_alert_source_config_id",
            "is a `http` source, not a heartbeat source",
        ),
        (
            {"heartbeat_alert_source_config_id": "01SDATADOG"},
            "heartbeat_alert_source_config_id",
            "alert source `01SDATADOG` (Datadog) is a `datadog` source, not a heartbeat source",
        ),
        (
            {"heartbeat_token": None, "dry_run": True},  # a dry run starts without it
            "heartbeat_token",
            "the heartbeat source is set but its token is not.",
        ),
        (
            {"heartbeat_token": "hb-check-SENTINEL-wrong-2Zx"},
            "heartbeat_token",
            f"is not the token of alert source `{HEARTBEAT}`",
        ),
    ],
    ids=["missing", "http", "datadog", "no-token", "wrong-token"],
)
def test_a_wrong_heartbeat_fails_naming_the_setting(sandbox, tmp_path, change, subject, said):
    cfg = {k: v for k, v in (heartbeat(sandbox, tmp_path) | change).items() if v is not None}
    run = check(cfg, tmp_path)

    assert_a_check(run, sandbox, tmp_path)
    assert run.returncode == 1
    failure = one(run, "FAILED", subject)
    assert said in failure
    assert "Fix: " in failure
    assert "SENTINEL" not in run.stderr
    assert len(lines(run, "FAILED")) == 1, run.stderr


@pytest.mark.slow
def test_check_is_on_the_command_line(tmp_path):
    run = run_cli(None, "", tmp_path, args=["--help"])
    assert run.returncode == 0
    assert "--check" in run.stdout
    assert "GET requests only" in " ".join(run.stdout.split())


def test_check_resolves_the_schedules_an_override_stream_names_and_its_roles(tmp_path):
    roles = OPERATIONS["schedule_override"].roles or ()
    with _sandbox(roles=roles) as sb:
        cfg = {
            "api_key": API_KEY,
            "base_url": sb.url,
            "operation": "schedule_override",
            "override_mode": "sync",
            "override_schedules": ["primary", "Primry2"],
        }
        checked = check(cfg, tmp_path)
        assert "→ 01HSCHED (rotation 'All': layers 'Layer 1')" in one(
            checked, "passed", "override_schedules[0]"
        )
        assert "closest: Primary" in one(checked, "FAILED", "override_schedules[1]")
        assert_a_check(checked, sb, tmp_path)
        reads = [e["path"] for e in sb.journal() if e["path"] == "/v2/schedules"]
        assert reads == ["/v2/schedules"]  # one listing for both names
    with _sandbox(roles=["viewer"]) as sb:
        cfg["base_url"] = sb.url
        refused = check({**cfg, "override_schedules": []}, tmp_path)
        assert "schedule_overrides_editor" in refused.stderr
        assert refused.returncode == 1
