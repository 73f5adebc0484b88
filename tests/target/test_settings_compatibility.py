"""Users' configs keep working: no released setting disappears, narrows or loses a value.

`data/released-settings.json` records each released setting's JSON types and allowed values,
and which settings a stream may override. New settings are free to add; removing or renaming
one breaks every config that sets it, so it must first be declared in `DEPRECATED` (old
name -> what replaces it) with the target still accepting it. Refresh the file when a release
ships: `python tests/target/test_settings_compatibility.py`.
"""

from __future__ import annotations

import copy
import json
import typing as t
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_incidentio.target import TargetIncidentIO

RELEASED = Path(__file__).parent / "data" / "released-settings.json"
# Released settings on their way out: old name -> the setting that replaces it.
DEPRECATED: dict[str, str] = {}
# Values a released `--about` offered that the target never accepted (a config setting one
# failed at start), so no working config loses them: setting -> value -> why it is gone.
NEVER_ACCEPTED: dict[str, dict[str, str]] = {
    "load_method": {
        "upsert": "the SDK's table upsert; incident.io has no tables (always refused)",
        "overwrite": "the SDK's table overwrite; incident.io has no tables (always refused)",
    },
}


def declared() -> dict[str, t.Any]:
    """Every setting `--about` lists (ours and the SDK's), in the shape of the released file."""
    schema = copy.deepcopy(TargetIncidentIO.config_jsonschema)
    TargetIncidentIO.append_builtin_config(schema)
    properties = schema["properties"]
    settings = {}
    for name, spec in sorted(properties.items()):
        types = spec.get("type", [])
        entry: dict[str, t.Any] = {"type": sorted([types] if isinstance(types, str) else types)}
        if "enum" in spec:
            entry["enum"] = sorted(v for v in spec["enum"] if v is not None)
        settings[name] = entry
    per_stream = sorted(properties["streams"]["additionalProperties"]["properties"])
    return {"settings": settings, "per_stream": per_stream}


def broken_promises(released: dict[str, t.Any], now: dict[str, t.Any]) -> list[str]:
    """What a config that was valid against `released` would now lose."""
    problems = []
    for name, was in released["settings"].items():
        if name in DEPRECATED:
            if DEPRECATED[name] not in now["settings"]:
                problems.append(f"{name}: deprecated for {DEPRECATED[name]!r}, which is missing")
            continue
        found = now["settings"].get(name)
        if found is None:
            problems.append(f"{name}: removed or renamed without a deprecation")
            continue
        if narrowed := set(was["type"]) - set(found["type"]):
            problems.append(f"{name}: no longer accepts {sorted(narrowed)}")
        never = set(NEVER_ACCEPTED.get(name, ()))
        if "enum" in found and (lost := set(was.get("enum", ())) - set(found["enum"]) - never):
            problems.append(f"{name}: no longer accepts the values {sorted(lost)}")
        if "enum" in found and "enum" not in was:
            problems.append(f"{name}: now restricted to {found['enum']}")
    problems.extend(
        f"{name}: no longer settable per stream"
        for name in released["per_stream"]
        if name not in now["per_stream"] and name not in DEPRECATED
    )
    return problems


def test_no_released_setting_is_removed_narrowed_or_loses_a_value():
    released = json.loads(RELEASED.read_text(encoding="utf-8"))
    assert broken_promises(released, declared()) == []


def test_a_value_declared_never_accepted_is_refused_at_start():
    """A declaration may not hide a narrowing: each such value fails a config, as it always did."""
    base = {"api_key": "k", "operation": "http", "api_url": "/v2/x"}
    for name, values in NEVER_ACCEPTED.items():
        for value in values:
            with pytest.raises(ConfigValidationError, match=f"{value!r} is not one of"):
                TargetIncidentIO(config={**base, name: value}, validate_config=True)
        offered = declared()["settings"][name].get("enum", ())
        assert not set(values) & set(offered), f"{name}: --about still offers {values}"


def test_the_guard_sees_each_kind_of_break():
    released = declared()
    now = copy.deepcopy(released)
    del now["settings"]["max_retries"]
    now["settings"]["operation"]["enum"].remove("incident")
    now["settings"]["request_timeout"]["type"] = ["integer"]
    now["per_stream"].remove("catalog_mode")
    now["settings"]["new_setting"] = {"type": ["string"]}  # adding is free
    assert broken_promises(released, now) == [
        "max_retries: removed or renamed without a deprecation",
        "operation: no longer accepts the values ['incident']",
        "request_timeout: no longer accepts ['null', 'number']",
        "catalog_mode: no longer settable per stream",
    ]


if __name__ == "__main__":
    RELEASED.write_text(json.dumps(declared(), indent=1) + "\n", encoding="utf-8")
