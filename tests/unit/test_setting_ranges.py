"""Every numeric setting has one declared range, checked at start and shown by --about (#28.4)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from target_incidentio.core.errors import SettingError
from target_incidentio.operations import parse_settings
from target_incidentio.settings import settings_from_env
from target_incidentio.settings.declarations import all_settings
from target_incidentio.settings.numbers import Bounded
from target_incidentio.target import TargetIncidentIO

HTTP = {"operation": "http", "api_url": "/v2/things", "api_key": "key-1234"}
NUMERIC = {
    name: spec.setting_type
    for name, spec in all_settings()
    if isinstance(spec.setting_type, Bounded)
}


def test_every_numeric_setting_is_bounded():
    kinds = {type(spec.setting_type).__name__ for _, spec in all_settings()}
    assert {"Number", "Integer"} <= kinds
    assert len(NUMERIC) >= 14
    numeric = [
        n for n, s in all_settings() if type(s.setting_type).__name__ in {"Number", "Integer"}
    ]
    assert sorted(numeric) == sorted(NUMERIC)


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_about_shows_the_range(name):
    properties = TargetIncidentIO.config_jsonschema["properties"]
    prop = properties[name]
    kind = NUMERIC[name]
    assert prop["maximum"] == kind.at_most
    assert "minimum" in prop or prop.get("exclusiveMinimum") == 0
    assert f"Range: {kind.range_text()}." in prop["description"]


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_just_outside_the_range_fails_naming_setting_and_range(name):
    kind = NUMERIC[name]
    above = kind.at_most + 1
    with pytest.raises(SettingError) as info:
        parse_settings({**HTTP, name: above})
    assert f"`{name}`" in str(info.value)
    assert kind.range_text() in str(info.value)
    below = (kind.at_least / 2) if kind.at_least else (-1 if kind.zero else 0)
    with pytest.raises(SettingError, match=name):
        parse_settings({**HTTP, name: below})
    low = kind.at_least if kind.at_least is not None else (0 if kind.zero else 1)
    parse_settings({**HTTP, name: low})
    parse_settings({**HTTP, name: kind.at_most})


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")]
)
def test_nan_and_infinity_are_no_numbers(value):
    with pytest.raises(
        SettingError, match=r"request_timeout`: must be a finite number from 0\.1 to 3600"
    ):
        parse_settings({**HTTP, "request_timeout": value})


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e999"])
def test_from_the_environment_too(text):
    environ = {"TARGET_INCIDENTIO_REQUEST_TIMEOUT": text}
    expected = r"request_timeout`: must be a (finite )?number from 0\.1"
    with pytest.raises(SettingError, match=expected):
        parse_settings({**HTTP, **settings_from_env(environ, "TARGET_INCIDENTIO_")})


def test_a_bound_as_a_config_file_writes_it_is_inside():
    """JSON numbers are read as Decimal: 0.01 is the bound, not the float just above it."""
    parse_settings({**HTTP, "max_retry_wait": Decimal("0.01"), "request_timeout": Decimal("0.1")})
    with pytest.raises(SettingError, match="max_retry_wait"):
        parse_settings({**HTTP, "max_retry_wait": Decimal("0.0099")})
