"""The settings model: parse and check the config once, before any request is sent.

`target.py` declares the settings (JSON schema, `--about`); this module turns the
validated config into typed objects and resolves per-stream overrides.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from urllib.parse import urlsplit

from target_incidentio.errors import SettingError
from target_incidentio.payloads import REQUIRED_CREDENTIAL
from target_incidentio.payloads.fields import template_fields
from target_incidentio.secrets import Secret

OPERATIONS = (
    "alert_event",
    "incident",
    "incident_edit",
    "incident_update",
    "catalog_entry",
    "http",
)
METHODS = ("POST", "PUT", "PATCH")
CUSTOM_FIELD_KINDS = ("text", "numeric", "link", "option", "catalog_entry")
RESERVED_HEADERS = ("authorization", "content-type")
DEFAULT_BASE_URL = "https://api.incident.io"

# Settings that `streams.<pattern>` may override, and the parser for each.
STREAM_OVERRIDABLE = (
    "operation",
    "method",
    "api_url",
    "exclude_attributes",
    "request_headers",
    "batch_size_rows",
    "batch_wrapper_key",
    "alert_source_config_id",
    "alert_source_token",
    "incident_visibility",
    "custom_fields",
    "notify_incident_channel",
    "catalog_type_id",
    "catalog_attributes",
    "rate_limit_per_minute",
)


@dataclass(frozen=True)
class CustomFieldMap:
    """One entry of `custom_fields`: a record field that fills an incident custom field."""

    field: str
    custom_field_id: str
    kind: str


@dataclass(frozen=True)
class StreamSettings:
    """Everything a payload builder needs for one stream, overrides applied."""

    operation: str = "alert_event"
    base_url: str = DEFAULT_BASE_URL
    api_key: Secret | None = None
    method: str = "POST"
    api_url: str | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)
    exclude_attributes: tuple[str, ...] = ()
    batch_size_rows: int = 1
    batch_wrapper_key: str | None = None
    add_record_metadata: bool = False
    alert_source_config_id: str | None = None
    alert_source_token: Secret | None = None
    incident_visibility: str = "public"
    custom_fields: tuple[CustomFieldMap, ...] = ()
    notify_incident_channel: bool = False
    catalog_type_id: str | None = None
    catalog_attributes: Mapping[str, str] = field(default_factory=dict)
    rate_limit_per_minute: float = 1200.0


@dataclass(frozen=True)
class DeliverySettings:
    """How requests are sent: timeouts, retries, limits, concurrency, error policy."""

    request_timeout: float = 30.0
    max_retries: int = 8
    max_retry_wait: float = 60.0
    max_concurrency: int = 4
    rate_limit_per_minute: float = 1200.0
    alert_source_rate_limit_per_minute: float = 120.0
    on_error: str = "fail"
    max_failures: int | None = None
    dead_letter_path: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ResponseSettings:
    """Where response records go."""

    response_log_path: str | None = None
    response_log_format: str = "jsonl"
    response_webhook_url: str | None = None
    response_webhook_headers: Mapping[str, str] = field(default_factory=dict)
    response_webhook_batch_size: int = 1
    progress_interval: float = 10.0


SECRET_SETTINGS = frozenset({"api_key", "alert_source_token", "response_webhook_headers"})


def secret_values(config: object, *, secret: bool = False) -> list[str]:
    """Every secret in a raw config, wherever it sits and whatever its type, for redaction.

    Read from the raw config, not the parsed settings, so that even a secret that fails
    parsing (a list where a string belongs) is scrubbed from the error that says so.
    """
    if isinstance(config, str):
        if not secret:
            return []
        # `name:value,...` headers: each value on its own too, as it travels on the wire.
        values = [part.partition(":")[2].strip() for part in config.split(",")]
        return [value for value in (config, *values) if value]
    if isinstance(config, Mapping):
        items = [(secret or key in SECRET_SETTINGS, value) for key, value in config.items()]
    elif isinstance(config, (list, tuple)):
        items = [(secret, value) for value in config]
    else:
        return []
    return [found for inner, value in items for found in secret_values(value, secret=inner)]


def parse_headers(setting: str, value: object) -> dict[str, str]:
    """Headers from Nexla's `h1:v1,h2:v2` string form or from an object."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        pairs = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for number, item in enumerate(value.split(","), start=1):
            if not item.strip():
                continue
            name, sep, header_value = item.partition(":")
            if not sep or not name.strip():
                # The item is not echoed: it may hold a token (webhook headers are secret).
                raise SettingError(
                    setting,
                    f"cannot read item {number} as a `name:value` header.",
                    "write `name:value` pairs separated by commas, e.g. "
                    "`X-Team:payments,X-Env:prod`, or give an object.",
                )
            pairs.append((name.strip(), header_value.strip()))
    else:
        raise SettingError(setting, "must be a `name:value,...` string or an object.")
    headers: dict[str, str] = {}
    for name, header_value in pairs:
        if any(c in name for c in " \t\r\n:") or any(c in header_value for c in "\r\n"):
            raise SettingError(setting, "a header has a name or value HTTP cannot carry.")
        if name.lower() in RESERVED_HEADERS:
            raise SettingError(
                setting,
                f"header {name!r} is set by the target itself and cannot be overridden.",
                "remove it; the API key or alert source token settings fill `Authorization`.",
            )
        headers[name] = header_value
    return headers


def parse_list(setting: str, value: object) -> tuple[str, ...]:
    """A comma-separated string or an array of strings."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    raise SettingError(setting, "must be a comma-separated string or an array of strings.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(setting: str, url: str) -> str:
    """Refuse URLs that would send a credential in clear or are not URLs at all."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingError(
            setting,
            f"{url!r} is not an absolute https:// URL.",
            "use e.g. `https://api.incident.io`.",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingError(
            setting,
            f"{url!r} uses plain http:// to a host other than this machine, "
            "which would send the API key in clear.",
            "use https://; plain http:// is allowed only for 127.0.0.1, ::1 or localhost.",
        )
    if parts.username or parts.password:
        raise SettingError(setting, "credentials in the URL are not allowed.", "use `api_key`.")
    return url.rstrip("/") if setting.endswith("base_url") else url


def _text(_setting: str, value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _secret(value: object) -> Secret | None:
    return Secret(str(value)) if value not in (None, "") else None


def _positive(setting: str, value: object, *, integer: bool = False, zero: bool = False) -> float:
    # Config files are read with Decimal for JSON numbers.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise SettingError(setting, f"must be a number, got {value!r}.")
    if value < 0 or (value == 0 and not zero) or (integer and int(value) != value):
        kind = "a whole number" if integer else "a number"
        bound = "zero or more" if zero else "greater than zero"
        raise SettingError(setting, f"must be {kind} {bound}, got {value!r}.")
    return float(value)


def _choice(setting: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingError(setting, f"{value!r} is not one of {', '.join(choices)}.")
    return str(value)


def _custom_fields(setting: str, value: object) -> tuple[CustomFieldMap, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise SettingError(setting, "must be an array of {field, custom_field_id, kind} objects.")
    maps = []
    for index, item in enumerate(value):
        where = f"{setting}[{index}]"
        if not isinstance(item, dict) or not item.get("field") or not item.get("custom_field_id"):
            raise SettingError(
                where,
                "needs `field` (the record field) and `custom_field_id`.",
                'e.g. {"field": "team", "custom_field_id": "01H…", "kind": "option"}.',
            )
        kind = _choice(f"{where}.kind", item.get("kind", "text"), CUSTOM_FIELD_KINDS)
        maps.append(CustomFieldMap(str(item["field"]), str(item["custom_field_id"]), kind))
    return tuple(maps)


def _catalog_attributes(setting: str, value: object) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise SettingError(
            setting,
            "must be an object mapping record fields to catalog attribute ids.",
            'e.g. {"tier": "01HATTRIBUTE…", "owner_team": "01HOTHER…"}.',
        )
    return {str(k): v for k, v in value.items()}


def _stream_values(raw: Mapping[str, t.Any], prefix: str, base: StreamSettings) -> StreamSettings:
    """Apply the overridable keys present in `raw` on top of `base`."""
    changes: dict[str, t.Any] = {}
    parsers: dict[str, t.Callable[[str, t.Any], t.Any]] = {
        "operation": lambda s, v: _choice(s, v, OPERATIONS),
        "method": lambda s, v: _choice(s, str(v).upper(), METHODS),
        "api_url": _text,
        "exclude_attributes": parse_list,
        "request_headers": parse_headers,
        "batch_size_rows": lambda s, v: int(_positive(s, v, integer=True)),
        "batch_wrapper_key": _text,
        "alert_source_config_id": _text,
        "alert_source_token": lambda _s, v: _secret(v),
        "incident_visibility": lambda s, v: _choice(s, v, ("public", "private")),
        "custom_fields": _custom_fields,
        "notify_incident_channel": lambda _s, v: bool(v),
        "catalog_type_id": _text,
        "catalog_attributes": _catalog_attributes,
        "rate_limit_per_minute": _positive,
    }
    for name in STREAM_OVERRIDABLE:
        if name in raw and raw[name] is not None:
            changes[name] = parsers[name](f"{prefix}{name}", raw[name])
    return replace(base, **changes)


def _check_stream(settings: StreamSettings, where: str) -> None:
    """Checks that need the whole resolved picture of a stream."""
    if settings.api_url is not None:
        if "://" in settings.api_url.split("{", 1)[0]:
            check_url(f"{where}api_url", settings.api_url.split("{", 1)[0] or settings.api_url)
        elif not settings.api_url.startswith("/"):
            raise SettingError(
                f"{where}api_url",
                f"{settings.api_url!r} is neither an absolute https:// URL nor a path "
                "starting with '/'.",
                "write e.g. `/v2/incident_timeline_items/{id}` or a full https:// URL.",
            )
        if any(not name.strip() for name in template_fields(settings.api_url)):
            raise SettingError(f"{where}api_url", "has an empty `{}` placeholder.")
    if settings.api_url and template_fields(settings.api_url) and settings.batch_size_rows > 1:
        raise SettingError(
            f"{where}batch_size_rows",
            "a batch shares one URL, so it cannot be combined with `{field}` placeholders "
            "in `api_url`.",
            "set batch_size_rows to 1, or use an api_url without placeholders.",
        )
    if settings.operation == "http" and not settings.api_url:
        raise SettingError(
            f"{where}api_url",
            "the `http` operation needs an endpoint.",
            "set `api_url`, e.g. `/v2/incident_timeline_items`.",
        )


def _check_credentials(settings: StreamSettings, where: str) -> None:
    """Each operation needs its own credential; refuse the run before any request."""
    if REQUIRED_CREDENTIAL[settings.operation] == "alert_source_token":
        if settings.alert_source_token is None:
            raise SettingError(
                f"{where}alert_source_token",
                "the `alert_event` operation authenticates with the alert source's own token, "
                "and none is set.",
                "copy the token from the HTTP alert source in incident.io (Alerts > Sources) "
                "into `alert_source_token`, or choose another `operation`.",
            )
    elif settings.api_key is None:
        raise SettingError(
            "api_key",
            f"the `{settings.operation}` operation{_for(where)} needs an incident.io API key.",
            "create one in incident.io (Settings > API keys) and set `api_key`, or "
            "TARGET_INCIDENTIO_API_KEY.",
        )


def _for(where: str) -> str:
    return f" (set by `{where.rstrip('.')}`)" if where else ""


@dataclass(frozen=True)
class Settings:
    """The whole config, typed and checked."""

    defaults: StreamSettings
    stream_overrides: Mapping[str, StreamSettings]
    delivery: DeliverySettings
    responses: ResponseSettings

    def for_stream(self, stream: str) -> StreamSettings:
        """Settings of one stream: the most specific matching `streams` pattern wins."""
        matches = [p for p in self.stream_overrides if fnmatch.fnmatchcase(stream, p)]
        if not matches:
            return self.defaults
        best = max(matches, key=_specificity)
        return self.stream_overrides[best]


def _specificity(pattern: str) -> tuple[int, int]:
    """Exact names beat globs; among globs, more literal characters win."""
    wild = sum(pattern.count(c) for c in "*?[")
    return (0 if wild else 1, len(pattern) - wild)


def parse_settings(config: Mapping[str, t.Any]) -> Settings:
    """Turn a config mapping into `Settings`, or raise `SettingError` naming the setting."""
    base_url = check_url("base_url", str(config.get("base_url") or DEFAULT_BASE_URL))
    defaults = _stream_values(
        config,
        "",
        StreamSettings(
            base_url=base_url,
            api_key=_secret(config.get("api_key")),
            add_record_metadata=bool(config.get("add_record_metadata", False)),
            batch_size_rows=1,
        ),
    )
    _check_stream(defaults, "")
    dry_run = bool(config.get("dry_run", False))
    overrides: dict[str, StreamSettings] = {}
    streams = config.get("streams") or {}
    if not isinstance(streams, dict):
        raise SettingError("streams", "must be an object keyed by stream name or glob.")
    for pattern, raw in streams.items():
        where = f"streams.{pattern}."
        if not isinstance(raw, dict):
            raise SettingError(f"streams.{pattern}", "must be an object of settings.")
        unknown = sorted(set(raw) - set(STREAM_OVERRIDABLE))
        if unknown:
            raise SettingError(
                f"streams.{pattern}",
                f"{', '.join(unknown)} cannot be set per stream.",
                f"per-stream settings are: {', '.join(STREAM_OVERRIDABLE)}.",
            )
        resolved = _stream_values(raw, where, defaults)
        _check_stream(resolved, where)
        overrides[pattern] = resolved
    if not dry_run:
        # The defaults serve every stream that no pattern matches; `*` matches them all.
        checked = overrides if "*" in overrides else {"": defaults, **overrides}
        for pattern, resolved in checked.items():
            _check_credentials(resolved, f"streams.{pattern}." if pattern else "")

    on_error = _choice("on_error", config.get("on_error", "fail"), ("fail", "continue"))
    max_failures = config.get("max_failures")
    delivery = DeliverySettings(
        request_timeout=_positive("request_timeout", config.get("request_timeout", 30)),
        max_retries=int(
            _positive("max_retries", config.get("max_retries", 8), integer=True, zero=True)
        ),
        max_retry_wait=_positive("max_retry_wait", config.get("max_retry_wait", 60)),
        max_concurrency=int(
            _positive("max_concurrency", config.get("max_concurrency", 4), integer=True)
        ),
        rate_limit_per_minute=defaults.rate_limit_per_minute,
        alert_source_rate_limit_per_minute=_positive(
            "alert_source_rate_limit_per_minute",
            config.get("alert_source_rate_limit_per_minute", 120),
        ),
        on_error=on_error,
        max_failures=(
            None
            if max_failures is None
            else int(_positive("max_failures", max_failures, integer=True, zero=True))
        ),
        dead_letter_path=config.get("dead_letter_path") or None,
        dry_run=dry_run,
    )
    webhook_url = config.get("response_webhook_url") or None
    responses = ResponseSettings(
        response_log_path=config.get("response_log_path") or None,
        response_log_format=_choice(
            "response_log_format", config.get("response_log_format", "jsonl"), ("jsonl", "singer")
        ),
        response_webhook_url=check_url("response_webhook_url", webhook_url)
        if webhook_url
        else None,
        response_webhook_headers=parse_headers(
            "response_webhook_headers", config.get("response_webhook_headers")
        ),
        response_webhook_batch_size=int(
            _positive(
                "response_webhook_batch_size",
                config.get("response_webhook_batch_size", 1),
                integer=True,
            )
        ),
        progress_interval=_positive("progress_interval", config.get("progress_interval", 10)),
    )
    return Settings(defaults, overrides, delivery, responses)
