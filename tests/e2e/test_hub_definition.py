"""hub/target-incidentio.yml, the Meltano Hub plugin definition: generated, and Meltano takes it.

`scripts/sync_settings_docs.py` writes it from `--about` (as it writes meltano.yml's settings
and the README's table); these tests keep it so, and add it to a fresh Meltano project with
`meltano add --from-ref` the way a user would, then install and invoke the target through it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub" / "target-incidentio.yml"
SECRETS = {"api_key", "alert_source_token", "response_webhook_headers", "heartbeat_token"}


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    sync = _module("sync_settings_docs", ROOT / "scripts" / "sync_settings_docs.py")
    assert HUB.read_text(encoding="utf-8") == sync.hub_text(""), (
        "hub/target-incidentio.yml is stale: python scripts/sync_settings_docs.py"
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_meltano_adds_installs_and_invokes_the_loader_from_the_definition(tmp_path: Path) -> None:
    demo = _module("demo", ROOT / "scripts" / "demo.py")
    try:
        meltano = demo.ensure_meltano()
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"meltano=={demo.MELTANO_VERSION} cannot be installed here: {error}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
    env |= {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    project = tmp_path / "project"

    def run(*args: str, extra: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [str(meltano), *args],
            cwd=project if project.exists() else tmp_path,
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-4000:]}"
        return result.stdout + result.stderr

    run("init", "project", "--no-usage-stats")
    # Meltano 4 reads every argument of `add` as a plugin name: the type goes in an option.
    run(
        "add",
        "--plugin-type",
        "loader",
        "target-incidentio",
        "--from-ref",
        str(HUB),
        "--no-install",
    )
    added = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    assert set(added["plugins"]) == {"loaders"}
    (loader,) = added["plugins"]["loaders"]
    assert (loader["name"], loader["pip_url"]) == ("target-incidentio", "target-incidentio")

    listed = run(
        "config", "list", "target-incidentio", extra={"TARGET_INCIDENTIO_API_KEY": "hub-SECRET-1"}
    )
    assert "Group 1: alert_source_token" in listed
    assert "Group 3: api_key, api_url, operation" in listed
    # The target's own defaults, not "None (default)".
    assert "current value: 'alert_event' (default)" in listed
    load_method = run("config", "list", "target-incidentio", "--filter", "load_method")
    assert "current value: 'append-only' (default)" in load_method
    assert "upsert" not in load_method.split("Load method:")[0]
    assert "hub-SECRET-1" not in listed
    assert "(redacted)" in listed

    # Not on PyPI yet: install the target from this checkout, as the definition's pip_url will.
    loader["pip_url"] = str(ROOT)
    (project / "meltano.yml").write_text(yaml.safe_dump(added, sort_keys=False))
    run("install")
    about = json.loads(
        subprocess.run(
            [str(meltano), "invoke", "target-incidentio", "--about", "--format", "json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
    )
    assert [s["name"] for s in loader["settings"]] == list(about["settings"]["properties"])
