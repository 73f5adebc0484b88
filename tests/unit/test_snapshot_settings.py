"""Settings of alert snapshots and the heartbeat: checked before any request, named in errors."""

from __future__ import annotations

import pytest

from target_incidentio.core.errors import SettingError
from target_incidentio.operations import OPERATIONS, parse_settings
from target_incidentio.strategies import Strategy
from target_incidentio.strategies.alerts import AlertSnapshot

ALERTS = {"operation": "alert_event", "alert_source_token": "tok", "alert_source_config_id": "01S"}


def test_defaults():
    settings = parse_settings(ALERTS)
    assert settings.defaults.resolve_missing_alerts is False
    assert settings.defaults.alert_max_resolve_fraction == 0.5
    assert settings.delivery.heartbeat_alert_source_config_id is None
    assert settings.delivery.heartbeat_token is None


def test_resolving_needs_the_api_key_and_says_why():
    parse_settings(ALERTS)  # events alone need only the alert source's token
    with pytest.raises(SettingError) as info:
        parse_settings({**ALERTS, "resolve_missing_alerts": True})
    message = str(info.value)
    assert message.startswith("Setting `api_key`:")
    assert "`resolve_missing_alerts` lists the alert source's firing alerts" in message
    parse_settings({**ALERTS, "resolve_missing_alerts": True, "api_key": "k"})


def test_the_credential_rule_follows_the_stream_that_turns_it_on():
    config = {**ALERTS, "streams": {"checks": {"resolve_missing_alerts": True}}}
    with pytest.raises(SettingError, match=r"`streams\.checks\.resolve_missing_alerts` lists"):
        parse_settings(config)
    settings = parse_settings({**config, "api_key": "k"})
    assert settings.for_stream("checks").resolve_missing_alerts is True
    assert settings.for_stream("other").resolve_missing_alerts is False


def test_a_dry_run_needs_no_api_key_to_resolve():
    settings = parse_settings({**ALERTS, "resolve_missing_alerts": True, "dry_run": True})
    assert settings.defaults.resolve_missing_alerts
    with pytest.raises(SettingError, match="api_key"):
        parse_settings({**ALERTS, "resolve_missing_alerts": True})


@pytest.mark.parametrize(("value", "message"), [(1.5, "from 0 to 1"), (-0.1, "from 0 to 1")])
def test_the_fraction_is_between_zero_and_one(value, message):
    with pytest.raises(SettingError, match="alert_max_resolve_fraction") as info:
        parse_settings({**ALERTS, "alert_max_resolve_fraction": value})
    assert message in str(info.value)
    for fine in (0, 0.25, 1):
        parse_settings({**ALERTS, "alert_max_resolve_fraction": fine})


def test_resolving_chooses_the_snapshot_strategy():
    settings = parse_settings(
        {**ALERTS, "api_key": "k", "streams": {"s": {"resolve_missing_alerts": True}}}
    )
    choose = OPERATIONS["alert_event"].strategy
    assert choose(settings.for_stream("s")) is AlertSnapshot
    assert choose(settings.for_stream("t")) is Strategy
    assert AlertSnapshot.uses_versions


def test_resolving_is_read_only_by_alert_events(caplog):
    with caplog.at_level("WARNING", logger="target-incidentio"):
        parse_settings({"operation": "incident", "api_key": "k", "resolve_missing_alerts": True})
    assert "`resolve_missing_alerts` does nothing for operation `incident`" in caplog.text


def test_the_heartbeat_needs_both_its_source_and_its_token():
    parse_settings({**ALERTS, "heartbeat_alert_source_config_id": "01H", "heartbeat_token": "t"})
    with pytest.raises(SettingError, match="Setting `heartbeat_token`"):
        parse_settings({**ALERTS, "heartbeat_alert_source_config_id": "01H"})
    with pytest.raises(SettingError, match="Setting `heartbeat_alert_source_config_id`"):
        parse_settings({**ALERTS, "heartbeat_token": "t"})
    # A dry run never pings, so it may leave the token out.
    parse_settings({**ALERTS, "heartbeat_alert_source_config_id": "01H", "dry_run": True})


def test_the_heartbeat_token_is_never_echoed():
    with pytest.raises(SettingError) as info:
        parse_settings({**ALERTS, "heartbeat_token": "hb-SENTINEL-token"})
    assert "hb-SENTINEL-token" not in str(info.value)
