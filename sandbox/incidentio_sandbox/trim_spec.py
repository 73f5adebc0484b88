"""Cut incident.io's 7.8 MB OpenAPI spec down to what the sandbox serves (``ENDPOINTS``).

Usage: ``python -m incidentio_sandbox.trim_spec SRC DEST``.
The result ships as package data, so its bytes must be reproducible from the
reference spec: keys keep their source order and the output format is fixed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from incidentio_sandbox.endpoints import served

TOP_LEVEL_KEYS = ("openapi", "info", "servers", "security")
SCHEMA_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> set[str]:  # noqa: ANN401 - any JSON value
    """Schema names referenced anywhere below ``node``."""
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_PREFIX):
                found.add(value.removeprefix(SCHEMA_PREFIX))
            else:
                found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the served subset of ``spec`` with its transitive schema closure."""
    out: dict[str, Any] = {key: spec[key] for key in TOP_LEVEL_KEYS if key in spec}
    wanted_paths = served()
    missing = sorted(set(wanted_paths) - set(spec["paths"]))
    if missing:
        msg = f"the sandbox serves paths incident.io's spec does not have: {missing}"
        raise KeyError(msg)
    paths: dict[str, Any] = {
        path: {key: value for key, value in spec["paths"][path].items() if key in methods}
        for path, methods in wanted_paths.items()
    }
    out["paths"] = paths

    all_schemas: dict[str, Any] = spec["components"]["schemas"]
    wanted: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending |= _refs(all_schemas[name]) - wanted
    components: dict[str, Any] = {
        "schemas": {name: value for name, value in all_schemas.items() if name in wanted},
    }
    if "securitySchemes" in spec["components"]:
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    out["components"] = components
    return out


def dumps(subset: dict[str, Any]) -> str:
    """Serialise in the one format the shipped file uses."""
    return json.dumps(subset, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m incidentio_sandbox.trim_spec``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:  # noqa: PLR2004 - SRC and DEST
        sys.stderr.write("usage: python -m incidentio_sandbox.trim_spec SRC DEST\n")
        return 2
    src, dest = Path(args[0]), Path(args[1])
    spec = json.loads(src.read_text(encoding="utf-8"))
    dest.write_text(dumps(trim(spec)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
