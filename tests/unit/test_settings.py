"""Settings are checked before any request; every error names the setting."""

from __future__ import annotations

import os
from types import MappingProxyType

import pytest

from target_incidentio.core.errors import SettingError
from target_incidentio.operations import parse_settings
from target_incidentio.settings import (
    STREAM_OVERRIDABLE,
    parse_headers,
    parse_list,
    secret_values,
)
from target_incidentio.settings.setting_types import SecretText, Text
from target_incidentio.target import TargetIncidentIO

HTTP = {"operation": "http", "api_url": "/v2/things", "api_key": "key-1234"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("X-Team:payments,X-Env:prod", {"X-Team": "payments", "X-Env": "prod"}),
        (" X-A : 1 , , X-B:two:parts ", {"X-A": "1", "X-B": "two:parts"}),
        ({"X-Team": "payments", "X-N": 3}, {"X-Team": "payments", "X-N": "3"}),
        ("", {}),
        (None, {}),
    ],
)
def test_headers_both_forms(value, expected):
    assert parse_headers("request_headers", value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no-colon-here", "cannot read item 1 as a `name:value` header"),
        ("A:1,:value", "cannot read item 2"),
        ("Authorization:Bearer x", "'Authorization' is set by the target itself"),
        ({"content-type": "text/plain"}, "'content-type' is set by the target itself"),
        ({"X-Bad Name": "v"}, "not an HTTP token"),
        ({"X-Split": "a\r\nInjected: yes"}, "HTTP cannot carry"),
        (42, "must be a `name:value,...` string or an object"),
    ],
)
def test_headers_bad_input_names_the_setting(value, message):
    with pytest.raises(SettingError, match="Setting `request_headers`") as info:
        parse_headers("request_headers", value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (Text(), {"a": 1}, "must be text, got dict."),
        (Text(), True, "must be text, got bool."),
        (SecretText(), ["key-1234"], "must be text, got list."),
        (SecretText(), 12.5, "must be text, got float."),
    ],
)
def test_text_settings_refuse_other_values_by_their_type_alone(kind, value, message):
    with pytest.raises(SettingError, match="Setting `s`") as info:
        kind.parse("s", value)
    assert message in str(info.value)
    assert "1234" not in str(info.value)


def test_text_settings_read_numbers_and_treat_empty_as_unset():
    assert Text().parse("s", 7) == "7"
    assert Text().parse("s", 1.5) == "1.5"
    assert Text().parse("s", "") is None
    assert SecretText().parse("s", 1234).reveal() == "1234"  # type: ignore[union-attr]
    assert SecretText().parse("s", " \n") is None


def test_exclude_list_forms():
    assert parse_list("exclude_attributes", "a, b.c ,,d") == ("a", "b.c", "d")
    assert parse_list("exclude_attributes", ["a", " b "]) == ("a", "b")
    with pytest.raises(SettingError, match="exclude_attributes"):
        parse_list("exclude_attributes", [1, 2])


@pytest.mark.parametrize(
    ("config", "setting", "message"),
    [
        ({"operation": "bogus"}, "operation", "'bogus' is not one of"),
        ({**HTTP, "method": "DELETE"}, "method", "'DELETE' is not one of"),
        ({**HTTP, "api_url": "ftp://example.com/x"}, "api_url", "not an absolute https:// URL"),
        ({**HTTP, "api_url": "v2/no-slash"}, "api_url", "neither an absolute"),
        ({**HTTP, "base_url": "http://api.example.com"}, "base_url", "in clear"),
        ({**HTTP, "base_url": "https://u:p@api.example.com"}, "base_url", "credentials"),
        ({**HTTP, "base_url": "not a url"}, "base_url", "not an absolute"),
        ({**HTTP, "api_url": "http://10.1.2.3/x"}, "api_url", "in clear"),
        (
            {**HTTP, "response_webhook_url": "http://hooks.example.com"},
            "response_webhook_url",
            "in clear",
        ),
        ({**HTTP, "max_concurrency": 0}, "max_concurrency", "from 1 to 64"),
        ({**HTTP, "request_timeout": -1}, "request_timeout", "from 0.1 to 3600"),
        ({**HTTP, "max_retries": 1.5}, "max_retries", "whole number"),
        ({**HTTP, "batch_size_rows": 0}, "batch_size_rows", "from 1 to 10000"),
        (
            {**HTTP, "api_url": "/v2/x/{id}", "batch_size_rows": 5},
            "batch_size_rows",
            "placeholders",
        ),
        ({"operation": "http", "api_key": "k"}, "api_url", "needs an endpoint"),
        ({"operation": "incident"}, "api_key", "needs an incident.io API key"),
        ({"operation": "alert_event", "api_key": "k"}, "alert_source_token", "own token"),
        (
            {**HTTP, "streams": {"a*": {"operation": "incident", "api_key": "x"}}},
            "streams.a*",
            "cannot be set per stream",
        ),
        ({**HTTP, "streams": {"t": {"operation": "nope"}}}, "streams.t.operation", "not one of"),
        ({**HTTP, "custom_fields": [{"field": "team"}]}, "custom_fields[0]", "custom_field_id"),
        (
            {**HTTP, "custom_fields": [{"field": "t", "custom_field_id": "c", "kind": "x"}]},
            "custom_fields[0].kind",
            "not one of",
        ),
        ({**HTTP, "on_error": "ignore"}, "on_error", "not one of"),
        # A record value in the host or port would carry the key to another origin.
        ({**HTTP, "api_url": "https://api.incident.io{p}/v2/x"}, "api_url", "outside the URL"),
        (
            {**HTTP, "base_url": "http://127.0.0.1:1", "api_url": "http://127.0.0.1:1{p}/v2/x"},
            "api_url",
            "outside the URL",
        ),
        ({**HTTP, "api_url": "/v2/x?team={team}"}, "api_url", "outside the URL"),
        ({**HTTP, "api_url": "/v2/x#{frag}"}, "api_url", "outside the URL"),
    ],
)
def test_bad_settings_name_the_setting(config, setting, message):
    with pytest.raises(SettingError) as info:
        parse_settings(config)
    assert f"Setting `{setting}`" in str(info.value)
    assert message in str(info.value)


def test_an_api_root_loses_its_trailing_slash_and_other_urls_keep_theirs():
    # Declared on the setting (`Url(root=True)`), not guessed from its name.
    settings = parse_settings(
        {**HTTP, "base_url": "https://api.example.test/", "response_webhook_url": "https://h.test/"}
    )
    assert settings.defaults.base_url == "https://api.example.test"
    assert settings.responses.response_webhook_url == "https://h.test/"


def test_plain_http_allowed_for_loopback_only():
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000", "127.9.9.9"):
        settings = parse_settings({**HTTP, "base_url": f"http://{host}"})
        assert settings.defaults.base_url == f"http://{host}"
    with pytest.raises(SettingError, match="base_url"):
        parse_settings({**HTTP, "base_url": "http://128.0.0.1"})


def test_dry_run_needs_no_credentials():
    settings = parse_settings({"dry_run": True, "operation": "incident"})
    assert settings.delivery.dry_run
    assert settings.defaults.api_key is None
    with pytest.raises(SettingError, match="api_key"):
        parse_settings({"operation": "incident"})


def test_streams_most_specific_pattern_wins():
    settings = parse_settings(
        {
            **HTTP,
            "streams": {
                "*": {"method": "PUT"},
                "alerts_*": {"method": "PATCH"},
                "alerts_db*": {"api_url": "/v2/db"},
                "alerts_db_main": {"exclude_attributes": "secret"},
            },
        }
    )
    assert settings.for_stream("other").method == "PUT"
    assert settings.for_stream("alerts_web").method == "PATCH"
    assert settings.for_stream("alerts_db_replica").api_url == "/v2/db"
    main = settings.for_stream("alerts_db_main")
    assert main.exclude_attributes == ("secret",)
    # Each override is layered on the top-level settings.
    assert main.api_url == "/v2/things"
    assert main.method == "POST"


def test_secrets_listed_for_redaction():
    config = {
        **HTTP,
        "alert_source_token": "tok-abcdef",
        "response_webhook_headers": "X-Hook-Token:hook-secret,X-Other: two ",
        "request_headers": {"X-Api-Key": "req-key-1", "X-Team": "incident"},
        "streams": {
            "a": {
                "alert_source_token": "tok-other",
                "operation": "alert_event",
                "request_headers": "Authorization-Proxy:per-stream-1,X-Debug:true",
            }
        },
        "title": "not a secret",
    }
    found = set(secret_values(config))
    secrets = {"key-1234", "tok-abcdef", "hook-secret", "tok-other", "req-key-1", "per-stream-1"}
    assert secrets <= found
    # Only secret headers' values (issue 28 item 2): plain values are no secrets.
    assert not {"not a secret", "two", "incident", "true"} & found
    # Secrets of the wrong type are found too, so the error about them can be scrubbed.
    assert set(secret_values({"api_key": {"value": ["deep-1"]}})) == {"deep-1"}
    # The SDK hands the config over as a read-only mapping.
    assert secret_values(MappingProxyType({"api_key": "k-5678"})) == ["k-5678"]
    assert "key-1234" not in repr(parse_settings(config))


def test_per_stream_schema_and_parser_know_the_same_settings():
    streams = TargetIncidentIO.config_jsonschema["properties"]["streams"]
    declared = set(streams["additionalProperties"]["properties"])
    assert declared == set(STREAM_OVERRIDABLE)


SECRET_VALUE = "hdr-SENTINEL-value-77"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-A\x0bB": "v"}, "not an HTTP token"),
        ({"": "v"}, "not an HTTP token"),
        ({"X-Nul\x00": "v"}, "not an HTTP token"),
        ({"X-A": SECRET_VALUE + "\x00x"}, "cannot carry"),
        ({"X-A": SECRET_VALUE + "\x0bx"}, "cannot carry"),
        ({"X-A": SECRET_VALUE + "\x0cx"}, "cannot carry"),
        ({"X-A": SECRET_VALUE + "\x7fx"}, "cannot carry"),
        ({"X-A": SECRET_VALUE + "\x85x"}, "cannot carry"),
        ({"X-A": SECRET_VALUE + "éx"}, "cannot carry"),
        ({"Transfer-Encoding": "chunked"}, "framing or connection"),
        ({"content-length": "0"}, "framing or connection"),
        ({"Host": "evil.example"}, "framing or connection"),
        ({"Connection": "close"}, "framing or connection"),
        ("Upgrade:websocket", "framing or connection"),
    ],
)
@pytest.mark.parametrize("setting", ["request_headers", "response_webhook_headers"])
def test_headers_http_cannot_carry_are_refused_at_start(headers, message, setting):
    config = {**HTTP, setting: headers}
    with pytest.raises(SettingError) as info:
        parse_settings(config)
    assert f"Setting `{setting}`" in str(info.value)
    assert message in str(info.value)
    assert SECRET_VALUE not in str(info.value)


def test_headers_from_the_environment_are_checked_the_same(monkeypatch):
    monkeypatch.setenv("TARGET_INCIDENTIO_REQUEST_HEADERS", "X-A:ok,Host:evil.example")
    from target_incidentio.settings import settings_from_env  # noqa: PLC0415

    config = {**HTTP, **settings_from_env(dict(os.environ), "TARGET_INCIDENTIO_")}
    with pytest.raises(SettingError, match="framing or connection"):
        parse_settings(config)


def test_the_webhook_may_set_authorization_the_api_may_not():
    # The webhook has no credential of its own: its Authorization is the user's to set.
    settings = parse_settings({**HTTP, "response_webhook_headers": "Authorization:Bearer hook"})
    assert settings.responses.response_webhook_headers == {"Authorization": "Bearer hook"}
    with pytest.raises(SettingError, match="api_key"):
        parse_settings({**HTTP, "request_headers": "Authorization:Bearer other"})
