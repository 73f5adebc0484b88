"""The one-declaration redesign changed no setting: `--about` matches the copy made before it.

Any difference must be deliberate and listed here: settings added since, with their defaults.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import about

BEFORE = Path(__file__).parent / "data" / "about-before-redesign.json"
# Settings added after the redesign, each by an issue that asked for it.
ADDED = {
    "response_webhook_timeout": 30,  # issue 9: the webhook's time budget after the last call
    "state_interval": 5,  # issue 10: STATE as calls are confirmed
    "resolve_missing_alerts": False,  # issue 13: resolve alerts whose rows left a snapshot
    "alert_max_resolve_fraction": 0.5,  # issue 13: the guard against resolving everything
    "heartbeat_alert_source_config_id": None,  # issue 13: ping after a run that delivered all
    "heartbeat_token": None,  # issue 13: the heartbeat source's token
    "catalog_mode": "upsert",  # issue 12: catalog sync
    "catalog_max_delete_fraction": 0.5,  # issue 12: sync's deletion guard
}


def _settings(document: dict) -> dict:
    return document["settings"]["properties"]


def _overridable(settings: dict) -> dict:
    """The per-stream settings `streams.<name>` lists."""
    return settings["streams"]["additionalProperties"]["properties"]


@pytest.mark.slow
def test_same_settings_and_defaults_as_before_the_redesign():
    before, now = _settings(json.loads(BEFORE.read_text())), _settings(json.loads(about("json")))
    assert set(now) - set(before) == set(ADDED)
    assert set(before) - set(now) == set()
    # Added per-stream settings are listed under `streams` too, and nothing else changed there.
    added_per_stream = set(_overridable(now)) - set(_overridable(before))
    assert added_per_stream <= set(ADDED)
    for name in added_per_stream:
        assert _overridable(now)[name]["title"] == now[name]["title"], name
        del _overridable(now)[name]
    for name, schema in before.items():
        assert now[name] == schema, f"{name} changed"
    for name, default in ADDED.items():
        assert now[name].get("default") == default, name


def test_the_comparison_bites():
    before = json.loads(BEFORE.read_text())
    changed = json.loads(json.dumps(before))
    _settings(changed)["max_retries"]["default"] = 9
    assert _settings(changed)["max_retries"] != _settings(before)["max_retries"]
