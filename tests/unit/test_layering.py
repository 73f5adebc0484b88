"""No import runs back up the layers, no cycle even for types; sandbox and target stay apart."""

from __future__ import annotations

from pathlib import Path

import imports
import pytest

ROOT = Path(__file__).parents[2]
PACKAGE = "target_incidentio"

# The layers, from the bottom up: a folder (or top-level module) may import only its own
# layer and those below, at run time or for types. Two on one line sit side by side and may
# not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("reconcile",),  # the generic, pure reconcile engine: imports nothing of the target
    ("core", "singer_input"),  # urls, secrets, errors, headers, custom_fields, the cache
    ("settings",),  # the config model: never the payload builders
    ("payloads",),  # pure builders: record in, request out
    ("delivery",),  # order, pace, retry, send
    ("strategies",),  # reach the run only through the `Outlet` they are handed
    ("operation_entry",),  # what an entry of the operation table declares
    ("catalog", "incidents"),  # planning (pure), and the syncs and type setup that run it
    ("operations", "run"),  # the operation table; the run's lifecycle, ledger, checkpoints
    ("check",),  # beside the run, never writing anything
    ("stream_writer",),
    ("sinks",),  # the SDK adapters
    ("target", "docs"),
    ("__main__",),
)
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}
SIDE_BY_SIDE = {room: set(rooms) - {room} for rooms in LAYERS for room in rooms}

# Further rules, for imports at run time.
RUNTIME_NEVER: dict[str, tuple[str, ...]] = {
    # Builders and delivery read the settings model's types only.
    "payloads": ("settings",),
    "delivery": ("settings",),
    # A check writes nothing: of the run it uses only the way lists are read.
    "check": (
        "run.lifecycle",
        "run.ledger",
        "run.checkpoints",
        "run.response_records",
        "run.webhook",
    ),
    # Catalog planning is pure: no strategies, no delivery (its sync does the HTTP).
    **{
        f"catalog.{name}": ("strategies", "delivery")
        for name in ("listing", "compare", "bulk", "feature", "types", "entries")
    },
    # Incident sync's planning is pure too.
    **{
        f"incidents.{name}": ("strategies", "delivery", "run")
        for name in ("keys", "owned", "values", "listing", "compare", "feature")
    },
    # The generic pieces: their callers hand them what they need.
    "reconcile": ("",),
    "core.lookups": ("",),
    "run.checkpoints": ("",),
}


def _ours(name: str) -> str | None:
    """`target_incidentio.run.ledger` -> `run.ledger`; None for another package."""
    if name == PACKAGE:
        return ""
    return name.removeprefix(PACKAGE + ".") if name.startswith(PACKAGE + ".") else None


def _room(inner: str) -> str:
    return inner.split(".", 1)[0]


def _within(name: str, prefix: str) -> bool:
    return prefix in ("", name) or name.startswith(prefix + ".")


MODULES = imports.modules(ROOT / PACKAGE)


def test_every_room_has_a_layer():
    rooms = {_room(_ours(name) or "") for name in MODULES} - {""}
    assert rooms - set(RANK) == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up(module):
    inner = _ours(module) or ""
    if not inner:
        return
    room = _room(inner)
    offending = []
    for name in imports.imports(MODULES[module]):
        other = _ours(name)
        if other is None or _room(other) == room:
            continue
        if other == "" or RANK[_room(other)] > RANK[room] or _room(other) in SIDE_BY_SIDE[room]:
            offending.append(f"{module} imports {name}")
    runtime = {_ours(name) for name in imports.imports(MODULES[module], types=False)} - {None}
    for where, never in RUNTIME_NEVER.items():
        if _within(inner, where):
            offending += [
                f"{module} imports {PACKAGE}.{other} at run time"
                for other in runtime
                for bad in never
                if other is not None and _within(other, bad) and not _within(other, where)
            ]
    assert offending == []


def test_the_check_sees_imports():
    # The tests above would pass vacuously if _imports found nothing.
    writer = imports.imports(ROOT / "target_incidentio/stream_writer.py")
    assert "target_incidentio.operations" in writer
    assert "target_incidentio.run.lifecycle" in writer  # a type
    assert "target_incidentio.run.lifecycle" not in imports.imports(
        ROOT / "target_incidentio/stream_writer.py", types=False
    )
    assert "incidentio_sandbox.app" in imports.imports(
        ROOT / "sandbox/incidentio_sandbox/server.py"
    )


def test_the_check_refuses_a_module_importing_upward(tmp_path):
    # Live: a builder importing the run, even only for a type, is refused.
    module = tmp_path / "m.py"
    module.write_text(
        "import typing as t\nif t.TYPE_CHECKING:\n    from target_incidentio.run.ledger import L\n"
    )
    found = {_ours(name) for name in imports.imports(module)} - {None, "typing"}
    assert found == {"run.ledger", "run.ledger.L"}
    assert all(RANK[_room(name or "")] > RANK["payloads"] for name in found)


@pytest.mark.parametrize(
    ("where", "never"),
    [
        # Two distributions: the sandbox knows only incident.io's contract, and the target's
        # wheel must work without the sandbox installed.
        ("sandbox/incidentio_sandbox", "target_incidentio"),
        (PACKAGE, "incidentio_sandbox"),
    ],
)
def test_the_sandbox_and_the_target_never_import_each_other(where, never):
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / where).rglob("*.py"))
        for name in imports.imports(path)
        if name == never or name.startswith(never + ".")
    ]
    assert offending == []


def test_the_check_refuses_a_target_module_importing_the_sandbox(tmp_path):
    # Live: the rule that keeps the sandbox out of the target sees both import forms.
    module = tmp_path / "m.py"
    module.write_text("import incidentio_sandbox\nfrom incidentio_sandbox.app import X\n")
    found = imports.imports(module)
    assert {"incidentio_sandbox", "incidentio_sandbox.app"} <= found


@pytest.mark.parametrize("types", [False, True], ids=["run time", "with types"])
def test_no_import_cycle(types):
    # `if TYPE_CHECKING:` imports count too: a cycle for types is a cycle of ideas.
    graph = imports.graph(MODULES, types=types)
    assert "target_incidentio.operations" in graph["target_incidentio.target"]
    assert imports.find_cycle(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert imports.find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert imports.find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_target_never_imports_its_docs_generator():
    """`docs.py` writes text of the guide for scripts and tests; the target needs none of it."""
    importers = [
        name
        for name, path in MODULES.items()
        if name != "target_incidentio.docs" and "target_incidentio.docs" in imports.imports(path)
    ]
    assert importers == []
