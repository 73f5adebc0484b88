"""hub/target-incidentio.yml, the Meltano Hub plugin definition: generated, and Meltano takes it.

`scripts/sync_settings_docs.py` writes it from `--about` (as it writes meltano.yml's settings
and docs/settings.md's table); these tests keep it so, and run the README's install in a fresh
Meltano project the way a user would: `meltano add --from-ref` with the `pip_url` the README
gives, `meltano install`, then a run of the target through it against the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from loading import load_script, meltano_or_skip

from incidentio_sandbox import Sandbox
from incidentio_sandbox.config import DEFAULT_API_KEY

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub" / "target-incidentio.yml"
BASH = shutil.which("bash") or "/bin/bash"
SECRETS = {"api_key", "alert_source_token", "response_webhook_headers", "heartbeat_token"}


@pytest.fixture
def meltano_cli() -> tuple[Path, dict[str, str]]:
    """The pinned Meltano, and an environment for it with none of the caller's target settings."""
    meltano = meltano_or_skip(load_script("demo"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
    env |= {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env["PATH"] = f"{meltano.parent}{os.pathsep}{env.get('PATH', '')}"
    return meltano, env


@pytest.fixture(scope="module")
def hub() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(HUB.read_text(encoding="utf-8"))
    return loaded


def _loader() -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = (p for p in project["plugins"]["loaders"] if p["name"] == "target-incidentio")
    return dict(loader)


def test_the_hub_definition_declares_what_meltano_yml_declares(hub: dict[str, Any]) -> None:
    """meltano.yml is kept equal to `--about` by test_meltano_yml.py; the Hub file to it."""
    loader = _loader()
    assert hub["name"] == loader["name"]
    assert hub["namespace"] == loader["namespace"]
    assert hub["executable"] == loader["executable"]
    assert hub["capabilities"] == loader["capabilities"]
    assert hub["pip_url"] == "target-incidentio"  # from PyPI, not this checkout
    assert hub["variant"]
    hub_settings = {s["name"]: s for s in hub["settings"]}
    for setting in loader["settings"]:
        assert setting.items() <= hub_settings[setting["name"]].items(), setting["name"]
    assert [s["name"] for s in hub["settings"]] == [s["name"] for s in loader["settings"]]
    assert all(s.get("label") for s in hub["settings"])
    assert {name for name, s in hub_settings.items() if s.get("sensitive")} == SECRETS
    # The defaults `meltano config list` shows are the target's own (meltano.yml's, --about's).
    assert hub_settings["operation"]["value"] == "alert_event"


def test_the_settings_groups_state_what_each_operation_needs(hub: dict[str, Any]) -> None:
    assert hub["settings_group_validation"] == [
        ["alert_source_token"],
        ["api_key", "operation"],
        ["api_key", "api_url", "operation"],
    ]


@pytest.mark.slow
def test_the_hub_definition_is_what_the_generator_writes() -> None:
    sync = load_script("sync_settings_docs")
    assert HUB.read_text(encoding="utf-8") == sync.hub_text(""), (
        "hub/target-incidentio.yml is stale: python scripts/sync_settings_docs.py"
    )


def readme_install_block() -> str:
    """The README's install commands for Meltano: the `bash` block after its test marker."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- test: tests/e2e/test_hub_definition.py[^>]*-->\n```bash\n(?P<body>.*?)```",
        readme,
        flags=re.DOTALL,
    )
    assert match, "README.md: no install block marked for tests/e2e/test_hub_definition.py"
    return match.group("body")


def test_the_readme_install_block_adds_the_loader_by_its_type() -> None:
    """Meltano 4 reads `add loader <name>` as two plugin names; the README gives the type."""
    block = readme_install_block()
    assert "meltano add --plugin-type loader target-incidentio --from-ref" in block
    assert "/path/to/target-incidentio/hub/target-incidentio.yml" in block
    assert "meltano add loader" not in block
    assert "meltano add loader" not in HUB.read_text(encoding="utf-8").replace(
        "`meltano add loader target-incidentio ...` as two", ""
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_readme_install_adds_installs_and_runs_the_loader_from_the_definition(
    tmp_path: Path, meltano_cli: tuple[Path, dict[str, str]]
) -> None:
    """README, Install: `meltano add` from the Hub file, pip_url at this checkout, a run."""
    meltano, env = meltano_cli

    def run(*args: str, cwd: Path, extra: dict[str, str] | None = None, stdin: str = "") -> str:
        result = subprocess.run(
            [str(meltano), *args],
            cwd=cwd,
            env={**env, **(extra or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-4000:]}"
        return result.stdout + result.stderr

    run("init", "project", "--no-usage-stats", cwd=tmp_path)
    project = tmp_path / "project"
    # The README's block as written, with this checkout for its placeholder path.
    script = readme_install_block().replace("/path/to/target-incidentio", str(ROOT))
    done = subprocess.run(
        [BASH, "-euo", "pipefail", "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (
        f"README install block:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    added = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    assert set(added["plugins"]) == {"loaders"}, "a stray plugin was added"
    (loader,) = added["plugins"]["loaders"]
    assert (loader["name"], loader["pip_url"]) == ("target-incidentio", str(ROOT))

    listed = run(
        "config",
        "list",
        "target-incidentio",
        cwd=project,
        extra={"TARGET_INCIDENTIO_API_KEY": "hub-SECRET-1"},
    )
    assert "Group 1: alert_source_token" in listed
    assert "Group 3: api_key, api_url, operation" in listed
    # The target's own defaults, not "None (default)".
    assert "current value: 'alert_event' (default)" in listed
    load_method = run("config", "list", "target-incidentio", "--filter", "load_method", cwd=project)
    assert "current value: 'append-only' (default)" in load_method
    assert "upsert" not in load_method.split("Load method:")[0]
    assert "hub-SECRET-1" not in listed
    assert "(redacted)" in listed
    about = _about_json(meltano, project, env)
    assert [s["name"] for s in loader["settings"]] == list(about["settings"]["properties"])

    # A run through the loader Meltano installed: two tickets become two incidents.
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    }
    messages = [
        {"type": "SCHEMA", "stream": "tickets", "schema": schema, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "tickets", "record": {"id": 1, "name": "Checkout down"}},
        {"type": "RECORD", "stream": "tickets", "record": {"id": 2, "name": "Search slow"}},
        {"type": "STATE", "value": {"bookmarks": {"tickets": {"id": 2}}}},
    ]
    with Sandbox(port=0) as sandbox:
        out = run(
            "invoke",
            "target-incidentio",
            cwd=project,
            stdin="".join(json.dumps(m) + "\n" for m in messages),
            extra={
                "TARGET_INCIDENTIO_BASE_URL": sandbox.url,
                "TARGET_INCIDENTIO_API_KEY": DEFAULT_API_KEY,
                "TARGET_INCIDENTIO_OPERATION": "incident",
            },
        )
        names = sorted(i["name"] for i in sandbox.state()["incidents"])
    assert names == ["Checkout down", "Search slow"], out[-3000:]


def _about_json(meltano: Path, project: Path, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [str(meltano), "invoke", "target-incidentio", "--about", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_meltano_4_reads_add_loader_name_as_two_plugins(
    tmp_path: Path, meltano_cli: tuple[Path, dict[str, str]]
) -> None:
    """Why the README writes `--plugin-type loader`: the short form adds a stray utility."""
    meltano, env = meltano_cli
    subprocess.run(
        [str(meltano), "init", "project", "--no-usage-stats"],
        cwd=tmp_path, env=env, capture_output=True, timeout=300, check=True,
    )  # fmt: skip
    project = tmp_path / "project"
    subprocess.run(
        [str(meltano), "add", "loader", "target-incidentio", "--from-ref", HUB, "--no-install"],
        cwd=project, env=env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    added = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    assert "utilities" in added.get("plugins", {}), added.get("plugins")
