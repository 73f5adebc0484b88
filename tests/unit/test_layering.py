"""No import runs back up the layers; the sandbox and the target never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

PACKAGE = "target_incidentio"
STRATEGIES_NEVER = (
    "target_incidentio.sinks",
    "target_incidentio.target",
    "target_incidentio.ledger",
    "target_incidentio.run",
    "target_incidentio.operations",
    "target_incidentio.checkpoints",
    "target_incidentio.settings",
)
# Module (or package) -> what it may never import at run time. From the bottom up: pure
# helpers (urls, secrets, errors), the config model, payload builders and delivery side by
# side, then the operation table, the ledger and checkpoints, the run, the sinks, the target.
FORBIDDEN = {
    "target_incidentio/payloads": (
        "target_incidentio.delivery",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.responses",
        "target_incidentio.webhook",
        "target_incidentio.operations",
        "target_incidentio.run",
        "target_incidentio.checkpoints",
        "target_incidentio.settings",
    ),
    "target_incidentio/delivery": (
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.responses",
        "target_incidentio.webhook",
        "target_incidentio.operations",
        "target_incidentio.run",
        "target_incidentio.checkpoints",
        "target_incidentio.settings",
    ),
    # The config model never imports the payload builders (operation names are handed in).
    "target_incidentio/settings": (
        "target_incidentio.payloads",
        "target_incidentio.operations",
        "target_incidentio.delivery",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.run",
    ),
    "target_incidentio/operations.py": (
        "target_incidentio.delivery",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.run",
    ),
    # Strategies reach the run only through the `Outlet` they are handed (delivery's pure
    # helpers, such as `describe`, sit below them).
    "target_incidentio/strategies": STRATEGIES_NEVER,
    # Catalog planning: pure, below the strategy that runs it.
    "target_incidentio/catalog": (
        *STRATEGIES_NEVER,
        "target_incidentio.strategies",
        "target_incidentio.delivery",
    ),
    "target_incidentio/checkpoints.py": ("target_incidentio",),
    # The per-run look-up cache is generic: its callers hand it the function that reads.
    "target_incidentio/lookups.py": ("target_incidentio",),
    # The account's lists: read through the `call` the run or `--check` hands in.
    "target_incidentio/directory.py": (
        "target_incidentio.run",
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.ledger",
        "target_incidentio.checkpoints",
        "target_incidentio.operations",
        "target_incidentio.check",
    ),
    "target_incidentio/ledger.py": (
        "target_incidentio.sinks",
        "target_incidentio.target",
        "target_incidentio.run",
        "target_incidentio.operations",
    ),
    "target_incidentio/run.py": ("target_incidentio.sinks", "target_incidentio.target"),
    # A check writes nothing: no run, no ledger, no checkpoints.
    "target_incidentio/check.py": (
        "target_incidentio.run",
        "target_incidentio.ledger",
        "target_incidentio.checkpoints",
        "target_incidentio.responses",
        "target_incidentio.webhook",
        "target_incidentio.sinks",
        "target_incidentio.target",
    ),
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
    assert "target_incidentio.payloads.base" in sinks
    assert "target_incidentio.target" not in sinks  # only under TYPE_CHECKING
    assert "incidentio_sandbox.app" in _imports(ROOT / "sandbox/incidentio_sandbox/server.py")


def test_the_check_refuses_a_target_module_importing_the_sandbox(tmp_path):
    # Live: the rule that keeps the sandbox out of the target sees both import forms.
    module = tmp_path / "m.py"
    module.write_text("import incidentio_sandbox\nfrom incidentio_sandbox.app import X\n")
    found = _imports(module)
    assert {"incidentio_sandbox", "incidentio_sandbox.app"} <= found


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A path that comes back to where it started, or []."""
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack, node, nxt]
            if nxt not in state and (found := visit(nxt, [*stack, node])):
                return found
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return []


def test_no_runtime_import_cycle():
    modules = {_module(path): path for path in (ROOT / PACKAGE).rglob("*.py")}
    graph = {
        name: {
            other
            for imported in _imports(path)
            for other in modules
            if other != name
            and (imported == other or imported.startswith(other + "."))
            and not name.startswith(other + ".")  # a module's own package is no cycle
        }
        for name, path in modules.items()
    }
    assert "target_incidentio.operations" in graph["target_incidentio.target"]
    assert _find_cycle(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_target_never_imports_its_docs_generator():
    """`docs.py` writes text of the guide for scripts and tests; the target needs none of it."""
    importers = [
        str(path.relative_to(ROOT))
        for path in _files(PACKAGE)
        if path.name != "docs.py" and "target_incidentio.docs" in _imports(path)
    ]
    assert importers == []
