"""The sandbox is its own distribution: the target's wheel neither ships nor needs it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the rules are the same on 3.10

ROOT = Path(__file__).parents[2]
SANDBOX = ROOT / "sandbox"
# Import name -> distribution name, for the sandbox's third-party imports.
DISTRIBUTIONS = {
    "werkzeug": "werkzeug",
    "openapi_core": "openapi-core",
    "openapi_schema_validator": "openapi-schema-validator",
}


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split("@")[0].split(";")[0]
        for stop in "<>=~![ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


def test_the_target_wheel_is_the_target_alone():
    target = _project(ROOT / "pyproject.toml")
    assert target["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["target_incidentio"]
    assert set(target["project"]["scripts"]) == {"target-incidentio"}
    assert "sandbox" not in target["project"]["optional-dependencies"]
    assert "incidentio-sandbox" not in _requirement_names(target["project"]["dependencies"])
    # The dev extra installs the sandbox from this checkout.
    assert (
        "incidentio-sandbox @ {root:uri}/sandbox"
        in target["project"]["optional-dependencies"]["dev"]
    )


def test_the_sandbox_distribution_declares_what_it_imports():
    sandbox = _project(SANDBOX / "pyproject.toml")
    project = sandbox["project"]
    assert project["name"] == "incidentio-sandbox"
    assert project["scripts"] == {"incidentio-sandbox": "incidentio_sandbox.__main__:main"}
    assert project["license"] == "Apache-2.0"
    assert (SANDBOX / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert sandbox["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "incidentio_sandbox"
    ]
    imported: set[str] = set()
    for file in (SANDBOX / "incidentio_sandbox").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = {
        name
        for name in imported
        if name not in sys.stdlib_module_names and name != "incidentio_sandbox"
    }
    third_party.discard("typing_extensions")  # only under TYPE_CHECKING
    assert third_party <= set(DISTRIBUTIONS), third_party
    declared = _requirement_names(project["dependencies"])
    assert {DISTRIBUTIONS[name] for name in third_party} <= declared
    assert (SANDBOX / "incidentio_sandbox" / "openapi-subset.json").is_file()
    assert (SANDBOX / "incidentio_sandbox" / "py.typed").is_file()
