"""What `--about` (and so meltano.yml, the Hub file and `meltano config list`) offers is true.

Every value it offers is one the target takes, every default it shows is the target's, every
environment variable it names is read, and an SDK setting that needs what is not installed
says so and is refused rather than skipped.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import typing as t

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_incidentio.operations import parse_settings
from target_incidentio.settings import StreamSettings
from target_incidentio.target import TargetIncidentIO

# Enough for every operation to start: each one's credential and what it requires (and
# what `incident_mode: sync` requires).
EVERY_OPERATION = {
    "api_key": "k",
    "alert_source_token": "t",
    "api_url": "/v2/x",
    "incident_key_field": "Ticket key",
}


def about_properties() -> dict[str, t.Any]:
    schema = copy.deepcopy(TargetIncidentIO.config_jsonschema)
    TargetIncidentIO.append_builtin_config(schema)
    return t.cast("dict[str, t.Any]", schema["properties"])


def test_every_value_offered_is_accepted() -> None:
    offered = [
        (name, value)
        for name, schema in about_properties().items()
        for value in schema.get("enum") or ()
    ]
    assert ("load_method", "append-only") in offered
    assert ("operation", "http") in offered
    for name, value in offered:
        config = {**EVERY_OPERATION, name: value}
        if name == "response_log_format":
            config["response_log_path"] = "responses.jsonl"
        TargetIncidentIO(config=config, validate_config=True)


def test_load_method_offers_only_what_the_target_does() -> None:
    load_method = about_properties()["load_method"]
    assert load_method["enum"] == ["append-only"]
    assert load_method["default"] == "append-only"
    assert "upsert" not in load_method["enum"]
    assert "incident.io has no tables" in load_method["description"]
    with pytest.raises(ConfigValidationError, match="'upsert' is not one of append-only"):
        TargetIncidentIO(config={**EVERY_OPERATION, "load_method": "upsert"}, validate_config=True)


@pytest.mark.skipif(importlib.util.find_spec("faker") is not None, reason="Faker is installed")
def test_faker_config_says_faker_is_missing_and_is_refused() -> None:
    assert "Faker is not installed" in about_properties()["faker_config"]["description"]
    config = {**EVERY_OPERATION, "faker_config": {"seed": 1}}
    with pytest.raises(ConfigValidationError, match=r"faker_config.*Faker is not installed"):
        TargetIncidentIO(config=config, validate_config=True)
    TargetIncidentIO(config=EVERY_OPERATION, validate_config=True)  # unset: nothing to refuse


def test_the_defaults_shown_are_the_ones_used() -> None:
    """`--about`'s default of each setting is what a config without it gets."""
    properties = about_properties()
    unset = StreamSettings()
    assert properties["operation"]["default"] == unset.operation == "alert_event"
    for name in ("batch_size_rows", "catalog_mode", "incident_visibility", "method"):
        assert properties[name]["default"] == getattr(unset, name), name


def test_a_default_given_explicitly_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Meltano passes every default it shows; a setting at its default is not "set"."""
    defaults = {
        name: schema["default"]
        for name, schema in about_properties().items()
        if schema.get("default") is not None
    }
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        parse_settings({**defaults, "alert_source_token": "t"})
    assert "does nothing" not in caplog.text
    # Away from its default it still warns: the warning is live.
    with caplog.at_level(logging.WARNING, logger="target-incidentio"):
        parse_settings({**defaults, "alert_source_token": "t", "catalog_mode": "merge"})
    assert "Setting `catalog_mode` does nothing for operation `alert_event`" in caplog.text


@pytest.mark.parametrize(
    ("variable", "value", "setting", "parsed"),
    [
        ("TARGET_INCIDENTIO_VALIDATE_RECORDS", "false", "validate_records", False),
        ("TARGET_INCIDENTIO_ADD_RECORD_METADATA", "true", "add_record_metadata", True),
        ("TARGET_INCIDENTIO_LOAD_METHOD", "append-only", "load_method", "append-only"),
    ],
)
def test_the_sdk_settings_we_declare_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, setting: str, parsed: object
) -> None:
    """`--about` names a variable for each; it was silently ignored for these."""
    monkeypatch.setenv(variable, value)
    target = TargetIncidentIO(config=EVERY_OPERATION, parse_env_config=True)
    assert target.config[setting] == parsed
