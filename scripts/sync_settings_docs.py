"""Write the settings, as `target-incidentio --about` declares them, into the files that list them.

The declarations in `target_incidentio/settings/` are the one source; the settings reference's
table (docs/settings.md), the loader's `settings:` list in meltano.yml and the Meltano Hub plugin
definition (hub/target-incidentio.yml) are generated from them, and tests fail when one is stale.
The table of credentials and roles per operation (docs/production.md), and the settings groups of
meltano.yml and the Hub definition (`settings_group_validation`), come the same way from the
operation table (`target_incidentio/operations.py`). Run it after adding or changing a setting or
an operation:

    python scripts/sync_settings_docs.py          # rewrite the files
    python scripts/sync_settings_docs.py --check  # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import yaml

from target_incidentio.docs import roles_table
from target_incidentio.operations import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_PAGE = ROOT / "docs" / "settings.md"
PRODUCTION_PAGE = ROOT / "docs" / "production.md"
MELTANO = ROOT / "meltano.yml"
HUB = ROOT / "hub" / "target-incidentio.yml"
TABLE = re.compile(r"^\| Setting \|.*?(?=\n\n|\Z)", flags=re.MULTILINE | re.DOTALL)
ROLES_TABLE = re.compile(
    r"^\| Operation \| Credential \|.*?(?=\n\n|\Z)", flags=re.MULTILINE | re.DOTALL
)
# The loader's settings list: from its `settings:` line to the next key at the same depth.
SETTINGS_BLOCK = re.compile(
    r"(?P<head>    executable: target-incidentio\n(?:    (?!settings:).*\n)*    settings:\n)"
    r"(?P<body>(?:    [- ].*\n|    settings_group_validation:\n)*?)"
    r"(?=    (?!settings_group_validation:)[a-z_]+:)"
)
KINDS = {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean"}
KINDS |= {"object": "object", "array": "array"}


def about(fmt: str) -> str:
    """`target-incidentio --about --format <fmt>`, as a user would run it."""
    command = [sys.executable, "-m", "target_incidentio", "--about", "--format", fmt]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def settings_page_text(current: str) -> str:
    """docs/settings.md with its settings table replaced by the one `--about` prints."""
    match = TABLE.search(about("markdown"))
    if match is None:
        msg = "`--about --format markdown` printed no settings table"
        raise RuntimeError(msg)
    table = match.group(0).strip()
    updated, count = TABLE.subn(lambda _: table, current, count=1)
    if count != 1:
        msg = "docs/settings.md: the settings table (`| Setting | ...`) was not found"
        raise RuntimeError(msg)
    return updated


def production_page_text(current: str) -> str:
    """docs/production.md with its table of credentials and roles from the operation table."""
    updated, count = ROLES_TABLE.subn(lambda _: roles_table(), current, count=1)
    if count != 1:
        msg = "docs/production.md: the table of credentials and roles per operation was not found"
        raise RuntimeError(msg)
    return updated


def _setting(name: str, schema: dict[str, t.Any]) -> dict[str, t.Any]:
    types = [kind for kind in schema["type"] if kind != "null"]
    entry: dict[str, t.Any] = {"name": name}
    if "enum" in schema:
        entry["kind"] = "options"
    else:
        # string-or-object/array settings: kind string lets YAML give either form
        entry["kind"] = KINDS[types[0]] if len(types) == 1 else "string"
    if schema.get("default") is not None:
        # Shown by `meltano config list` as the default; the target's own, from `--about`.
        entry["value"] = schema["default"]
    if schema.get("title"):
        entry["label"] = schema["title"]
    if schema.get("description"):
        entry["description"] = schema["description"]
    if schema.get("secret"):
        entry["sensitive"] = True
    if "enum" in schema:
        entry["options"] = [{"label": value, "value": value} for value in schema["enum"]]
    return entry


def _yaml_entry(entry: dict[str, t.Any]) -> str:
    options = entry.pop("options", None)
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=10_000)
    if options:
        text += "  options:\n" + "".join(
            f"  - {{label: {o['label']}, value: {o['value']}}}\n" for o in options
        )
    return "".join(f"    {line}\n" for line in text.splitlines())


def meltano_text(current: str) -> str:
    """meltano.yml with the loader's settings list generated from `--about --format json`."""
    properties = json.loads(about("json"))["settings"]["properties"]
    body = "".join(_yaml_entry(_setting(name, schema)) for name, schema in properties.items())
    body += "    settings_group_validation:\n" + "".join(
        f"    - [{', '.join(group)}]\n"
        for group in settings_groups(properties["operation"]["default"])
    )
    updated, count = SETTINGS_BLOCK.subn(lambda m: m.group("head") + body, current, count=1)
    if count != 1:
        msg = "meltano.yml: the target-incidentio loader's `settings:` list was not found"
        raise RuntimeError(msg)
    return updated


def _loader(project: dict[str, t.Any]) -> dict[str, t.Any]:
    (loader,) = (p for p in project["plugins"]["loaders"] if p["name"] == "target-incidentio")
    return t.cast("dict[str, t.Any]", loader)


def settings_groups(default_operation: str) -> list[list[str]]:
    """What each operation cannot run without: its credential, and `operation` unless default.

    From the operation table, as the target's own start-up checks read it; one group per
    distinct set, so Meltano Hub shows which settings make a working configuration.
    """
    groups: list[list[str]] = []
    for operation in OPERATIONS.values():
        names = {operation.credential, *(name for name, _ in operation.requires)}
        if operation.name != default_operation:
            names.add("operation")
        if sorted(names) not in groups:
            groups.append(sorted(names))
    return groups


def hub_definition() -> dict[str, t.Any]:
    """The loader as Meltano Hub lists it (`_data/meltano/loaders/<name>/<variant>.yml`).

    Settings as meltano.yml declares them (from `--about`, defaults included), installed from
    PyPI rather than this checkout.
    """
    about_json = json.loads(about("json"))
    properties = about_json["settings"]["properties"]
    project = yaml.safe_load(MELTANO.read_text(encoding="utf-8"))
    loader = _loader(project)
    return {
        "name": about_json["name"],
        "namespace": loader["namespace"],
        "variant": "target-incidentio",
        "label": "incident.io",
        "description": about_json["description"],
        "domain_url": "https://incident.io",
        "keywords": ["meltano_sdk", "incident.io", "alerting", "incident management"],
        "maintenance_status": "active",
        "pip_url": about_json["name"],
        "executable": loader["executable"],
        "capabilities": loader["capabilities"],
        "settings": [
            {"label": name.replace("_", " ").title(), **_setting(name, schema)}
            for name, schema in properties.items()
        ],
        "settings_group_validation": settings_groups(properties["operation"]["default"]),
    }


def hub_text(_current: str) -> str:
    """hub/target-incidentio.yml: the Hub's own layout (keys sorted, as its files are)."""
    header = (
        "# Meltano Hub plugin definition, generated from `target-incidentio --about`:\n"
        "#   python scripts/sync_settings_docs.py\n"
        "# target-incidentio is not on PyPI or Meltano Hub yet: `pip_url: target-incidentio`\n"
        "# cannot be installed today. Add the loader from this file with its pip_url pointed at\n"
        "# a checkout, a wheel or a git URL (README, Install; tests/e2e/test_hub_definition.py):\n"
        "#   PIP_URL=/path/to/target-incidentio\n"
        '#   sed "s|^pip_url: target-incidentio\\$|pip_url: $PIP_URL|" \\\n'
        "#     /path/to/target-incidentio/hub/target-incidentio.yml > loader.yml\n"
        "#   meltano add --plugin-type loader target-incidentio --from-ref loader.yml\n"
        "# (Meltano 4 reads `meltano add loader target-incidentio ...` as two plugin names and\n"
        "# adds a stray utility `loader`: give the type with --plugin-type.)\n"
    )
    body = yaml.safe_dump(hub_definition(), sort_keys=True, allow_unicode=True, width=100)
    return header + body


def main() -> int:
    """Rewrite the files, or with --check say which is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    stale = []
    renders = (
        (SETTINGS_PAGE, settings_page_text),
        (PRODUCTION_PAGE, production_page_text),
        (MELTANO, meltano_text),
        (HUB, hub_text),
    )
    for path, render in renders:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        wanted = render(current)
        if wanted != current:
            stale.append(path.name)
            if not args.check:
                path.parent.mkdir(exist_ok=True)
                path.write_text(wanted, encoding="utf-8")
    if stale:
        verb = "is stale" if args.check else "was rewritten"
        print(f"{', '.join(stale)} {verb} (python scripts/sync_settings_docs.py)")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
