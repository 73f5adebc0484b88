"""A package's imports read from its source, as a graph, and a cycle found in it.

The one reader behind the layering tests of the target (tests/unit/test_layering.py) and of the
sandbox (tests/sandbox/test_sandbox_layout.py), so that both see imports the same way.
"""

from __future__ import annotations

import ast
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


def imports(path: Path, *, types: bool = True) -> set[str]:
    """Modules a file imports; with `types=False`, not those under `if TYPE_CHECKING:`.

    `from a.b import c` names `a.b` and `a.b.c`: `c` may be a submodule (a name that is not
    one matches no module, so it does no harm).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if not types and id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package folder `package`, by its dotted name."""

    def name(path: Path) -> str:
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    return {name(path): path for path in sorted(package.rglob("*.py"))}


def graph(known: Mapping[str, Path], *, types: bool = True) -> dict[str, set[str]]:
    """Which of the `known` modules each one imports (a submodule's import runs its package)."""
    return {
        name: {
            other
            for imported in imports(path, types=types)
            for other in known
            if other != name
            and (imported == other or imported.startswith(other + "."))
            and not name.startswith(other + ".")  # a module's own package is no cycle
        }
        for name, path in known.items()
    }


def find_cycle(edges: Mapping[str, t.Collection[str]]) -> list[str]:
    """A path that comes back to where it started, or []."""
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack, node, nxt]
            if nxt not in state and (found := visit(nxt, [*stack, node])):
                return found
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node, [])):
            return found
    return []
