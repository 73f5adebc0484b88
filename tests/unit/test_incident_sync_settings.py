"""Incident sync's settings: declared once, per stream, checked before any request."""

from __future__ import annotations

import pytest

from target_incidentio.core.errors import SettingError
from target_incidentio.operations import parse_settings
from target_incidentio.settings import STREAM_OVERRIDABLE, settings_from_env

INCIDENTS = {"operation": "incident", "api_key": "k"}
SYNC = {**INCIDENTS, "incident_mode": "sync", "incident_key_field": "Ticket key"}


def test_defaults_keep_todays_create_mode():
    defaults = parse_settings(INCIDENTS).defaults
    assert defaults.incident_mode == "create"
    assert defaults.incident_key_field is None
    assert defaults.incident_sync_fields == ("name", "summary")
    assert defaults.close_missing_incidents is None
    assert defaults.incident_max_close_fraction == 0.5
    names = {"incident_mode", "incident_key_field", "incident_sync_fields",
             "close_missing_incidents", "incident_max_close_fraction"}  # fmt: skip
    assert names <= set(STREAM_OVERRIDABLE)


def test_a_sync_stream_is_set_per_stream():
    config = {
        **INCIDENTS,
        "streams": {
            "tickets": {
                "incident_mode": "sync",
                "incident_key_field": "Ticket key",
                "incident_sync_fields": "name, severity, Team",
                "close_missing_incidents": "Closed",
                "incident_max_close_fraction": 0.2,
            }
        },
    }
    settings = parse_settings(config)
    tickets = settings.for_stream("tickets")
    assert tickets.incident_mode == "sync"
    assert tickets.incident_sync_fields == ("name", "severity", "Team")
    assert tickets.close_missing_incidents == "Closed"
    assert tickets.incident_max_close_fraction == 0.2
    assert settings.for_stream("other").incident_mode == "create"


def test_sync_needs_the_key_field():
    parse_settings(SYNC)
    with pytest.raises(SettingError) as refused:
        parse_settings({**INCIDENTS, "streams": {"tickets": {"incident_mode": "sync"}}})
    text = str(refused.value)
    assert "streams.tickets.incident_key_field" in text
    assert "required with `incident_mode: sync`" in text


def test_closing_is_a_syncs_alone():
    parse_settings({**SYNC, "close_missing_incidents": "Closed"})
    with pytest.raises(
        SettingError, match=r"`close_missing_incidents`.*only `incident_mode: sync`"
    ):
        parse_settings({**INCIDENTS, "close_missing_incidents": "Closed"})


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("incident_mode", "mirror"),
        ("incident_max_close_fraction", 1.5),
        ("incident_max_close_fraction", -0.1),
        ("incident_sync_fields", 7),
    ],
)
def test_bad_values_are_refused_naming_the_setting(setting, value):
    with pytest.raises(SettingError, match=setting):
        parse_settings({**SYNC, setting: value})


def test_the_environment_sets_them_too():
    env = {
        "TARGET_INCIDENTIO_INCIDENT_MODE": "sync",
        "TARGET_INCIDENTIO_INCIDENT_SYNC_FIELDS": '["name", "Incident Lead"]',
        "TARGET_INCIDENTIO_INCIDENT_MAX_CLOSE_FRACTION": "0.25",
    }
    found = settings_from_env(env, "TARGET_INCIDENTIO_")
    assert found["incident_mode"] == "sync"
    assert found["incident_sync_fields"] == ["name", "Incident Lead"]
    assert found["incident_max_close_fraction"] == 0.25


CLOSING = {"incident_mode": "sync", "incident_key_field": "Ticket key",
           "close_missing_incidents": "Closed"}  # fmt: skip


def two_streams(first: dict, second: dict, **extra: object) -> dict:
    return {**INCIDENTS, "streams": {"tickets": first, "bugs": second}, **extra}


def test_two_streams_closing_on_one_key_field_are_refused_naming_both_and_the_field():
    other_case = {**CLOSING, "incident_key_field": "TICKET KEY"}
    with pytest.raises(SettingError) as refused:
        parse_settings(two_streams(CLOSING, other_case))
    text = str(refused.value)
    assert "streams.bugs.close_missing_incidents" in text
    assert "streams 'tickets' and 'bugs'" in text
    assert "'TICKET KEY'" in text
    assert "close the other's incidents" in text


@pytest.mark.parametrize(
    "second",
    [
        {**CLOSING, "incident_key_field": "Bug key"},  # another key field
        {k: v for k, v in CLOSING.items() if k != "close_missing_incidents"},  # closes nothing
        {"operation": "incident_edit"},  # not a sync
    ],
)
def test_streams_that_cannot_close_each_others_incidents_are_allowed(second):
    parse_settings(two_streams(CLOSING, second))


def test_different_fixed_incident_types_keep_them_apart_and_the_same_one_does_not():
    def fixed(bugs_type: str) -> dict:
        maps = {"tickets": {"incident_type_id": "'01TYPETICKET'"},
                "bugs": {"incident_type_id": f"'{bugs_type}'"}}  # fmt: skip
        return two_streams(CLOSING, CLOSING, stream_maps=maps)

    parse_settings(fixed("01TYPEBUG"))
    with pytest.raises(SettingError, match="streams 'tickets' and 'bugs'"):
        parse_settings(fixed("01TYPETICKET"))
    # A type computed per record is not fixed: refused.
    computed = {"tickets": {"incident_type_id": "'01TYPETICKET'"},
                "bugs": {"incident_type_id": "record['type']"}}  # fmt: skip
    with pytest.raises(SettingError, match="incident_type_id"):
        parse_settings(two_streams(CLOSING, CLOSING, stream_maps=computed))
