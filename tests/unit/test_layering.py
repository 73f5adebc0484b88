"""No import runs back up the layers; the sandbox and the target never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

# Module (or package) -> what it may never import.
FORBIDDEN = {
    "target_incidentio/payloads": (
        "target_incidentio.delivery",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.responses",
        "target_incidentio.webhook",
    ),
    "target_incidentio/delivery": (
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.responses",
        "target_incidentio.webhook",
    ),
    "target_incidentio/settings.py": (
        "target_incidentio.delivery",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
    ),
    "target_incidentio/ledger.py": ("target_incidentio.sinks", "target_incidentio.target"),
    "target_incidentio/sinks.py": ("target_incidentio.target",),
    # Two distributions: the sandbox knows only incident.io's contract, and the target's
    # wheel must work without the sandbox installed.
    "sandbox/incidentio_sandbox": ("target_incidentio",),
    "target_incidentio": ("incidentio_sandbox",),
}


def _imports(path: Path) -> set[str]:
    """Modules imported at run time (imports under `if TYPE_CHECKING:` are types only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(where: str) -> list[Path]:
    path = ROOT / where
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_no_import_runs_back_up(where):
    files = _files(where)
    assert files
    offending = [
        f"{file.relative_to(ROOT)} imports {name}"
        for file in files
        for name in _imports(file)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[where])
    ]
    assert offending == []


def test_the_check_sees_imports():
    # The test above would pass vacuously if _imports found nothing.
    sinks = _imports(ROOT / "target_incidentio/sinks.py")
    assert "target_incidentio.payloads" in sinks
    assert "target_incidentio.target" not in sinks  # only under TYPE_CHECKING
    assert "incidentio_sandbox.app" in _imports(ROOT / "sandbox/incidentio_sandbox/server.py")


def test_the_check_refuses_a_target_module_importing_the_sandbox(tmp_path):
    # Live: the rule that keeps the sandbox out of the target sees both import forms.
    module = tmp_path / "m.py"
    module.write_text("import incidentio_sandbox\nfrom incidentio_sandbox.app import X\n")
    found = _imports(module)
    assert {"incidentio_sandbox", "incidentio_sandbox.app"} <= found
