"""Every command of docs/meltano.md, docs/production.md and docs/oncall.md runs, as written.

The pages are the test's script: each `bash` block is taken from the Markdown and run in the
page's order, the blocks of a page in one shell, so a page and this test cannot drift. What the
test changes, and only that: the sandbox's port 8765 becomes a free one (tests run in parallel),
the sandbox's credentials stand in for the production page's `YOUR_…` placeholders, and
`TARGET_INCIDENTIO_BASE_URL` points the runs at an in-process sandbox instead of
https://api.incident.io. The pages' precondition, `./scripts/demo.sh` having made `.venv` (the
target and the sandbox) and `.venv-meltano` (Meltano), is met by linking the venvs the tests
already use; `meltano install` then installs the copy's plugins afresh.

After the production page, a dev run in the same copy (with the prod secrets in its `.env`)
must still reach the dev sandbox with the sandbox's own key: the secrets step cannot break dev.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from loading import load_script, meltano_or_skip

from incidentio_sandbox import Sandbox

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
MELTANO_PAGE = ROOT / "docs" / "meltano.md"
PRODUCTION_PAGE = ROOT / "docs" / "production.md"
ONCALL_PAGE = ROOT / "docs" / "oncall.md"
BASH = shutil.which("bash") or "/bin/bash"
BASH_BLOCK = re.compile(r"^```bash\n(?P<body>.*?)^```", flags=re.MULTILINE | re.DOTALL)
# A fence whose commands would not run: these pages keep commands in `bash` blocks only.
OTHER_SHELL_FENCE = re.compile(r"^```(?:sh|shell|console|zsh)\s*$", flags=re.MULTILINE)
PLACEHOLDER = re.compile(r"\bYOUR_[A-Z_]+\b")
SANDBOX_PORT = "8765"
JOB = "incidentio-demo"
# The production account the sandbox plays: its key, alert source and heartbeat source.
PROD = {
    "YOUR_API_KEY": "prod-api-key-SECRET",
    "YOUR_ALERT_SOURCE_TOKEN": "prod-alert-token-SECRET",
    "YOUR_ALERT_SOURCE_ID": "01PRODALERTSOURCE000000000",
    "YOUR_HEARTBEAT_SOURCE_ID": "01PRODHEARTBEAT00000000000",
    "YOUR_HEARTBEAT_TOKEN": "prod-heartbeat-SECRET",
}


def bash_blocks(page: Path) -> list[str]:
    """The page's `bash` blocks, in its order."""
    return [m.group("body") for m in BASH_BLOCK.finditer(page.read_text(encoding="utf-8"))]


def test_the_pages_keep_their_commands_in_bash_blocks_with_known_placeholders() -> None:
    for page in (MELTANO_PAGE, PRODUCTION_PAGE, ONCALL_PAGE):
        text = page.read_text(encoding="utf-8")
        assert bash_blocks(page), page.name
        assert not OTHER_SHELL_FENCE.search(text), f"{page.name}: a command block this test skips"
    script = "\n".join(bash_blocks(PRODUCTION_PAGE))
    assert set(PLACEHOLDER.findall(script)) == set(PROD)
    assert not PLACEHOLDER.findall("\n".join(bash_blocks(MELTANO_PAGE)))
    assert not PLACEHOLDER.findall("\n".join(bash_blocks(ONCALL_PAGE)))
    # One way to call Meltano: `meltano` on the PATH, never a path into a venv.
    for page in (MELTANO_PAGE, PRODUCTION_PAGE, ONCALL_PAGE):
        assert ".venv-meltano/bin/meltano" not in page.read_text(encoding="utf-8"), page.name
    # The secrets step writes only variables prod alone reads.
    assert "config set target-incidentio api_key" not in script
    assert "TARGET_INCIDENTIO_API_KEY" not in script


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fresh_copy(destination: Path) -> None:
    """The project's files as a clone would have them: tracked and new, none ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def _run_script(script: str, cwd: Path, env: dict[str, str], log: Path) -> str:
    """Run a page's blocks in one bash, in its own process group (killed whatever happens)."""
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [BASH, "-euo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    output = log.read_text(encoding="utf-8")
    assert process.returncode == 0, f"exit {process.returncode}:\n{output[-8000:]}"
    return output


def _run_page(page: Path, cwd: Path, env: dict[str, str], log: Path) -> str:
    """A page that starts the dev sandbox: its blocks, with the sandbox on a free port."""
    port = str(_free_port())
    script = "\n".join(bash_blocks(page)).replace(SANDBOX_PORT, port)
    dev = {**env, "TARGET_INCIDENTIO_BASE_URL": f"http://127.0.0.1:{port}"}
    return _run_script(script, cwd, dev, log)


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                found.append(value)
    return found


def _demo_copy(tmp_path: Path) -> tuple[ModuleType, Path, dict[str, str]]:
    """A fresh copy of the project as `./scripts/demo.sh` leaves it, and a clean environment."""
    demo = load_script("demo")
    meltano = meltano_or_skip(demo)
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "incidentio-sandbox").exists():
        pytest.skip(f"no incidentio-sandbox command beside {sys.executable}")
    project = tmp_path / "project"
    _fresh_copy(project)
    # What ./scripts/demo.sh leaves behind: the two venvs (linked, never installed into).
    (project / ".venv-meltano").symlink_to(meltano.parent.parent, target_is_directory=True)
    (project / ".venv").symlink_to(venv_bin.parent, target_is_directory=True)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TARGET_INCIDENTIO_", "INCIDENTIO_PROD_", "MELTANO_"))
    }
    base |= {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    return demo, project, base


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_meltano_and_production_pages_run_as_written(tmp_path: Path) -> None:
    demo, project, base = _demo_copy(tmp_path)

    # docs/meltano.md, from `export PATH=...` to `kill %1`, against the sandbox it starts.
    output = _run_page(MELTANO_PAGE, project, base, tmp_path / "meltano.log")
    assert "check: all" in output, output[-4000:]
    assert "dev:tap-jsonl-tickets-to-target-incidentio" in output
    assert "job incidentio-every-15-minutes: incidentio-demo" in output
    responses = (project / "output" / "dev" / "incidentio-responses.jsonl").read_text()
    assert {json.loads(line)["status"] for line in responses.splitlines()} == {"delivered"}
    # --log-format=json: the target's lines arrive as JSON objects carrying its name.
    target_lines = [line for line in _json_lines(output) if line.get("name") == "target-incidentio"]
    assert any("Summary" in str(line.get("event")) for line in target_lines), output[-4000:]
    assert all({"event", "level", "timestamp"} <= set(line) for line in target_lines)

    # docs/production.md, against a sandbox that plays the production account.
    env = {**base, "PATH": f"{project / '.venv-meltano' / 'bin'}{os.pathsep}{base['PATH']}"}
    script = "\n".join(bash_blocks(PRODUCTION_PAGE))
    for placeholder, value in PROD.items():
        script = script.replace(placeholder, value)
    with Sandbox(
        port=0,
        api_key=PROD["YOUR_API_KEY"],
        alert_sources={PROD["YOUR_ALERT_SOURCE_ID"]: PROD["YOUR_ALERT_SOURCE_TOKEN"]},
        heartbeat_sources={PROD["YOUR_HEARTBEAT_SOURCE_ID"]: PROD["YOUR_HEARTBEAT_TOKEN"]},
        seed=demo.sandbox_seed(),
    ) as prod:
        output = _run_script(
            script, project, {**env, "TARGET_INCIDENTIO_BASE_URL": prod.url}, tmp_path / "prod.log"
        )
        state, journal = prod.state(), prod.journal()
    secrets = ("YOUR_API_KEY", "YOUR_ALERT_SOURCE_TOKEN", "YOUR_HEARTBEAT_TOKEN")
    assert not any(PROD[name] in output for name in secrets), "a secret reached the output"
    assert output.count("check: all") == 2, output[-4000:]
    (tickets,) = (ROOT / "examples" / "data" / "tickets").glob("*.jsonl")
    assert len(state["incidents"]) == len(tickets.read_text().splitlines())
    assert state["catalog_entries"], "the prod run wrote no catalog entry"
    assert {a["status"] for a in state["alerts"]} == {"firing"}
    pings = [e for e in journal if e["path"].startswith("/v2/heartbeat/")]
    # One ping per task of the real run; the dry run and the checks ping nothing.
    assert len(pings) == 3, [e["path"] for e in journal]
    assert {e["status"] for e in journal} <= {200, 201, 202, 204}
    prod_log = (project / "output" / "prod" / "incidentio-responses.jsonl").read_text()
    statuses = [json.loads(line)["status"] for line in prod_log.splitlines()]
    assert "dry_run" in statuses
    assert "delivered" in statuses

    # A dev run afterwards, with the prod secrets in `.env`: still the sandbox's own key.
    dotenv = (project / ".env").read_text(encoding="utf-8")
    assert PROD["YOUR_API_KEY"] in dotenv
    assert "TARGET_INCIDENTIO_" not in dotenv
    with Sandbox(port=0, seed=demo.sandbox_seed()) as dev:
        done = subprocess.run(
            [str(project / ".venv-meltano" / "bin" / "meltano"), "--environment=dev", "run", JOB],
            cwd=project,
            env={**env, "TARGET_INCIDENTIO_BASE_URL": dev.url},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-6000:]
        dev_state, dev_journal = dev.state(), dev.journal()
    assert dev_state["incidents"]
    assert not any(e["path"].startswith("/v2/heartbeat/") for e in dev_journal)
    assert {e["status"] for e in dev_journal} <= {200, 201, 202}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_oncall_page_runs_as_written(tmp_path: Path) -> None:
    """docs/oncall.md: the cover table and the findings through `meltano run`, each twice."""
    _demo, project, base = _demo_copy(tmp_path)
    output = _run_page(ONCALL_PAGE, project, base, tmp_path / "oncall.log")
    (state,) = [line for line in _json_lines(output) if "schedule_overrides" in line]
    # The two rows, as incident.io holds them (the second written at +01:00), once each.
    assert sorted(
        (o["user"]["id"], o["start_at"], o["end_at"]) for o in state["schedule_overrides"]
    ) == [
        ("01SANDBOXUSERANNALEE00000", "2031-03-10T09:00:00Z", "2031-03-14T17:00:00Z"),
        ("01SANDBOXUSERBENOKAFOR000", "2031-03-03T09:00:00Z", "2031-03-07T17:00:00Z"),
    ]
    # Two findings, each paged once though the table was read twice.
    escalations = state["escalations"]
    assert len(escalations) == 2
    assert {e.get("escalation_path_id") for e in escalations} >= {"01SANDBOXESCPATHPAYMENTS0"}
    log = project / "output" / "dev" / "incidentio-responses.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["status"] for r in records} == {"delivered", "unchanged"}
    cover = [r for r in records if r["stream"] == "cover" and r["action"]]
    assert sorted(r["action"] for r in cover) == ["created", "created", "unchanged", "unchanged"]
