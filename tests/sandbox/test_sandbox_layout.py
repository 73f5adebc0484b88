"""The sandbox's own layout: no import cycle, not even through a type-only import; short modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "sandbox" / "incidentio_sandbox"
MAX_LINES = 500


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _every_import(path: Path) -> set[str]:
    """Modules imported anywhere, `if TYPE_CHECKING:` blocks included (a type-only cycle counts)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {
            other
            for other in _every_import(path)
            if other in modules
            and other != name
            # a module's own package is no cycle: importing a submodule runs its package first
            and not name.startswith(other + ".")
        }
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str]:
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


def test_no_import_cycle_in_the_sandbox_not_even_for_types():
    graph = _graph()
    # Live: the graph sees imports, type-only ones too (exchange names the Store for types only).
    assert "incidentio_sandbox.store" in graph["incidentio_sandbox.exchange"]
    assert "incidentio_sandbox.control" in graph["incidentio_sandbox.app"]
    assert _cycle(graph) == []


def test_the_cycle_check_finds_one():
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


@pytest.mark.parametrize("name", ["incidentio_sandbox.gate", "incidentio_sandbox.control"])
def test_the_gate_and_the_control_routes_never_import_the_app(name):
    assert "incidentio_sandbox.app" not in _graph()[name]


def test_no_sandbox_module_is_over_500_lines():
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
