"""The sandbox's own layout: no import cycle, not even through a type-only import; short modules."""

from __future__ import annotations

from pathlib import Path

import imports
import pytest

PACKAGE = Path(__file__).parents[2] / "sandbox" / "incidentio_sandbox"
MAX_LINES = 500


def _graph() -> dict[str, set[str]]:
    return imports.graph(imports.modules(PACKAGE))


def test_no_import_cycle_in_the_sandbox_not_even_for_types():
    graph = _graph()
    # Live: the graph sees imports, type-only ones too (exchange names the Store for types only).
    assert "incidentio_sandbox.store" in graph["incidentio_sandbox.exchange"]
    assert "incidentio_sandbox.control" in graph["incidentio_sandbox.app"]
    assert imports.find_cycle(graph) == []


def test_the_cycle_check_finds_one():
    assert imports.find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


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
