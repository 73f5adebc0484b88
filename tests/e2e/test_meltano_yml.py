"""meltano.yml declares the target as it really is; fast, needs no Meltano."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import support
import yaml

from incidentio_sandbox.config import DEFAULT_ALERT_SOURCES, DEFAULT_API_KEY
from incidentio_sandbox.seed import Seed

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "number": "decimal",
    "object": "object",
    "array": "array",
}
SECRETS = {"api_key", "alert_source_token", "response_webhook_headers", "heartbeat_token"}


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(support.about("json"))
    return parsed


def plugins(project: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for kind in ("extractors", "loaders") for p in project["plugins"].get(kind, [])]


def loader(project: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        p for p in project["plugins"]["loaders"] if p["name"] == "target-incidentio"
    ]
    assert len(found) == 1
    return found[0]


def env_loader_config(project: dict[str, Any], name: str) -> dict[str, Any]:
    (environment,) = [e for e in project["environments"] if e["name"] == name]
    (plugin,) = environment["config"]["plugins"]["loaders"]
    assert plugin["name"] == "target-incidentio"
    config: dict[str, Any] = plugin["config"]
    return config


def test_every_plugin_is_declared_in_full(project: dict[str, Any]) -> None:
    """Without namespace, pinned pip_url and executable, `meltano install` asks Meltano Hub."""
    names = {p["name"] for p in plugins(project)}
    for plugin in plugins(project):
        assert "variant" not in plugin, plugin["name"]
        if "inherit_from" in plugin:
            assert plugin["inherit_from"] in names
            continue
        assert plugin["namespace"], plugin["name"]
        assert plugin["executable"], plugin["name"]
        assert plugin["pip_url"] == "-e ." or re.fullmatch(
            r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", plugin["pip_url"]
        ), f"{plugin['name']}: pip_url {plugin['pip_url']!r} is not pinned"
    target = loader(project)
    assert (target["namespace"], target["pip_url"], target["executable"]) == (
        "target_incidentio",
        "-e .",
        "target-incidentio",
    )


def test_every_setting_is_declared_with_its_kind(
    project: dict[str, Any], about: dict[str, Any]
) -> None:
    declared = {s["name"]: s for s in loader(project)["settings"]}
    properties = about["settings"]["properties"]
    assert sorted(set(properties) - set(declared)) == [], "settings missing from meltano.yml"
    assert sorted(set(declared) - set(properties)) == [], "meltano.yml declares unknown settings"
    for name, schema in properties.items():
        setting = declared[name]
        types = [t for t in schema["type"] if t != "null"]
        if "enum" in schema:
            assert setting["kind"] == "options", name
            assert [o["value"] for o in setting["options"]] == schema["enum"], name
        elif len(types) == 1:
            assert setting["kind"] == KINDS[types[0]], name
        else:
            # string-or-object/array settings: kind string lets YAML give either form
            assert setting["kind"] == "string", name
        assert setting.get("description") == schema.get("description"), f"{name}: stale description"
        # `meltano config list` shows `value` as the default: the target's own, or none.
        assert setting.get("value") == schema.get("default"), f"{name}: default"
    assert declared["operation"]["value"] == "alert_event"
    assert [o["value"] for o in declared["load_method"]["options"]] == ["append-only"]


def test_the_settings_groups_are_the_operation_tables(project: dict[str, Any]) -> None:
    """Meltano's `settings_group_validation`: what each operation cannot run without."""
    groups = loader(project)["settings_group_validation"]
    assert groups == [
        ["alert_source_token"],
        ["api_key", "operation"],
        ["api_key", "api_url", "operation"],
    ]
    hub = yaml.safe_load((ROOT / "hub" / "target-incidentio.yml").read_text(encoding="utf-8"))
    assert hub["settings_group_validation"] == groups


def test_secrets_are_sensitive(project: dict[str, Any], about: dict[str, Any]) -> None:
    secret = {n for n, s in about["settings"]["properties"].items() if s.get("secret")}
    assert secret == SECRETS
    declared = {s["name"]: s for s in loader(project)["settings"]}
    assert {n for n, s in declared.items() if s.get("sensitive")} == secret
    assert not any(s.get("kind") == "password" for s in declared.values())


def test_capabilities_are_real_and_allowed(project: dict[str, Any], about: dict[str, Any]) -> None:
    capabilities = set(loader(project)["capabilities"])
    assert capabilities <= set(about["capabilities"])
    assert "validate-records" not in capabilities  # Meltano's schema refuses it
    # Everything the target declares that Meltano's schema accepts is listed.
    assert capabilities == set(about["capabilities"]) - {"validate-records"}


def test_no_secret_in_prod_and_dev_uses_the_sandbox(project: dict[str, Any]) -> None:
    prod = env_loader_config(project, "prod")
    assert prod["base_url"] == "https://api.incident.io"
    # A secret of prod's only is named by a variable no other environment reads.
    # (docs/production.md: TARGET_INCIDENTIO_* in `.env` would reach dev, and fail there.)
    assert {name: prod[name] for name in SECRETS & set(prod)} == {
        "api_key": "$INCIDENTIO_PROD_API_KEY",
        "alert_source_token": "$INCIDENTIO_PROD_ALERT_SOURCE_TOKEN",
        "heartbeat_token": "$INCIDENTIO_PROD_HEARTBEAT_TOKEN",
    }
    assert not SECRETS & set(loader(project).get("config", {}))
    dev = env_loader_config(project, "dev")
    assert dev["base_url"].startswith("http://127.0.0.1:")
    # The dev values are the sandbox's own fixed demo credentials.
    assert dev["api_key"] == DEFAULT_API_KEY
    assert dev["alert_source_token"] == DEFAULT_ALERT_SOURCES[dev["alert_source_config_id"]]


def test_every_extracted_stream_has_an_operation_and_a_map(project: dict[str, Any]) -> None:
    config = loader(project)["config"]
    extractors = [p for p in project["plugins"]["extractors"] if "inherit_from" in p]
    assert extractors
    for extractor in extractors:
        stream = extractor["config"]["stream_name"]
        assert stream in config["streams"], stream
        assert stream in config["stream_maps"], stream
        pattern = extractor["config"]["path"].replace("$MELTANO_PROJECT_ROOT/", "")
        assert list(ROOT.glob(pattern)), f"no sample data for {extractor['name']}: {pattern}"


def test_job_and_schedule(project: dict[str, Any]) -> None:
    (job,) = project["jobs"]
    extractors = {p["name"] for p in project["plugins"]["extractors"]}
    for task in job["tasks"]:
        tap, target = task.split()
        assert tap in extractors
        assert target == "target-incidentio"
    assert [s["job"] for s in project["schedules"]] == [job["name"]]


def test_dev_names_no_catalog_type_the_services_stream_creates_it(project: dict[str, Any]) -> None:
    """The dev account lacks the Service type: the stream makes it (`catalog_manage_type`)."""
    seed = Seed.from_json(json.loads((ROOT / "examples" / "sandbox-seed.json").read_text()))
    assert [kind for kind in seed.catalog_types if kind.name == "Service"] == []
    for environment in ("dev", "prod"):
        config = env_loader_config(project, environment)
        assert not {"catalog_type_id", "catalog_attributes"} & set(config), environment
    loader = next(p for p in plugins(project) if p["name"] == "target-incidentio")
    services = loader["config"]["streams"]["services"]
    assert services["catalog_manage_type"] is True
    assert services["catalog_type"] == "Service"
    page = (ROOT / "docs" / "meltano.md").read_text(encoding="utf-8")
    assert "incidentio-sandbox --port 8765 --seed-file examples/sandbox-seed.json" in page


def test_the_readme_pipeline_is_the_one_in_meltano_yml(project: dict[str, Any]) -> None:
    """README, "One pipeline, end to end", quotes meltano.yml's tickets pipeline: kept equal."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## One pipeline, end to end", 1)[1].split("\n## ", 1)[0]
    blocks = [
        yaml.safe_load(textwrap.dedent(block))
        for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    ]
    assert len(blocks) == 2, "the section quotes the extractors and the loader"
    declared = {p["name"]: p for p in plugins(project)}
    for quoted in blocks[0]["plugins"]["extractors"]:
        assert quoted.items() <= declared[quoted["name"]].items(), quoted["name"]
    (quoted_loader,) = blocks[1]["loaders"]
    config = loader(project)["config"]
    assert quoted_loader["config"]["streams"] == {"tickets": config["streams"]["tickets"]}
    assert quoted_loader["config"]["stream_maps"] == {"tickets": config["stream_maps"]["tickets"]}
