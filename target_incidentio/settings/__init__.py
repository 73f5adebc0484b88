"""The settings model: every setting declared once, parsed and checked once, before any request.

A setting is a dataclass field made by `setting()`: its name, kind (how it is typed, parsed,
checked and read from the environment; `kinds.py`), default, title and description, and
whether `streams.<pattern>` may override it. Everything else is derived from those
declarations: the `--about` schema (`config_schema`), the per-stream override list
(`STREAM_OVERRIDABLE`), the parser (`parse_settings`), the environment reader
(`settings_from_env`) and the defaults of the typed objects.

The names of the operations are handed in by the caller (the operation table sits above this
module, next to the payload builders, which the config model never imports).
"""

from __future__ import annotations

import difflib
import fnmatch
import typing as t
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from urllib.parse import urlsplit

from singer_sdk import typing as th

from target_incidentio.errors import SettingError
from target_incidentio.settings.kinds import (
    CONTENT_TYPE,
    CUSTOM_FIELD_KINDS,
    AttributeMap,
    Boolean,
    Choice,
    CustomFieldMap,
    CustomFields,
    Headers,
    Integer,
    Kind,
    Names,
    Number,
    SecretText,
    Text,
    Url,
    check_url,
    parse_headers,
    parse_list,
)
from target_incidentio.urls import (
    is_absolute,
    origin,
    placeholder_outside_path,
    template_fields,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from target_incidentio.secrets import Secret

T = t.TypeVar("T")

DEFAULT_BASE_URL = "https://api.incident.io"
METHODS = ("POST", "PUT", "PATCH")
_SPEC = "target_incidentio.setting"


# -- declarations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What `setting()` records about a field, read back by the schema, parser and env reader."""

    kind: Kind[t.Any]
    title: str
    description: str
    default: object  # as JSON, shown by --about at the top level
    per_stream: bool
    sdk: bool  # the SDK declares it (schema and --about text are the SDK's)


def setting(  # noqa: PLR0913 - a declaration lists what it declares
    kind: Kind[t.Any],
    title: str = "",
    description: str = "",
    *,
    default: object = None,
    per_stream: bool = False,
    sdk: bool = False,
) -> t.Any:  # noqa: ANN401 - a dataclass field stands for a value of any type
    """Declare a setting as a dataclass field; its default is the parsed JSON default."""
    spec = Spec(kind, title, description, default, per_stream, sdk)
    return field(
        default_factory=lambda: kind.default(default),
        metadata={_SPEC: spec},
    )


def declared(cls: type) -> Iterator[tuple[str, Spec]]:
    """The settings a dataclass declares, in order."""
    for item in fields(cls):
        spec = item.metadata.get(_SPEC)
        if spec is not None:
            yield item.name, spec


@dataclass(frozen=True)
class StreamSettings:
    """Everything a payload builder needs for one stream, overrides applied."""

    api_key: Secret | None = setting(
        SecretText(),
        "API key",
        "incident.io API key, sent as `Authorization: Bearer …`. Needs the roles of the "
        "operations used (see README).",
    )
    base_url: str = setting(
        Url(),
        "Base URL",
        "incident.io API root. Plain http:// is accepted only for loopback addresses "
        "(the local sandbox).",
        default=DEFAULT_BASE_URL,
    )
    operation: str = setting(
        Choice(None),
        "Operation",
        "Which kind of write each record becomes: {operations}.",
        default="alert_event",
        per_stream=True,
    )
    method: str = setting(
        Choice(METHODS, normalise=str.upper),
        "HTTP method",
        "HTTP method of the `http` operation: POST (default), PUT or PATCH.",
        default="POST",
        per_stream=True,
    )
    api_url: str | None = setting(
        Text(examples=["/v2/incident_timeline_items"]),
        "API URL",
        "Endpoint of the `http` operation: an absolute https:// URL or a path under `base_url`. "
        "`{field}` placeholders are filled from the record, URL-encoded, e.g. "
        "`/v2/incident_timeline_items/{id}`.",
        per_stream=True,
    )
    request_headers: Mapping[str, str] = setting(
        Headers(),
        "Request headers",
        "Extra headers: `name:value,name2:value2` or an object. `Authorization` and "
        "`Content-Type` are the target's own and cannot be set.",
        per_stream=True,
    )
    exclude_attributes: tuple[str, ...] = setting(
        Names(),
        "Exclude attributes",
        "Fields never sent: a comma-separated string or an array; dotted paths such as "
        "`owner.email` reach into nested objects.",
        per_stream=True,
    )
    batch_size_rows: int = setting(
        Integer(),
        "Records per call",
        "Records per API call for `http` (default 1): above 1 the body is a JSON array of the "
        "records, or `{batch_wrapper_key: [...]}`. The other operations send one record per "
        "call, as incident.io's endpoints take one.",
        default=1,
        per_stream=True,
    )
    batch_wrapper_key: str | None = setting(
        Text(),
        "Batch wrapper key",
        'With `http` and `batch_size_rows` > 1, wrap the array as `{"<key>": [...]}`.',
        per_stream=True,
    )
    alert_source_config_id: str | None = setting(
        Text(),
        "Alert source config id",
        "`alert_event`: the HTTP alert source's id (from its URL in incident.io); else taken "
        "from the record's `alert_source_config_id`.",
        per_stream=True,
    )
    alert_source_token: Secret | None = setting(
        SecretText(),
        "Alert source token",
        "`alert_event`: the alert source's own secret token (alert events do not use the API key).",
        per_stream=True,
    )
    resolve_missing_alerts: bool = setting(
        Boolean(),
        "Resolve missing alerts",
        "`alert_event`: the stream is a complete snapshot of what is firing now. Once every "
        "event of the snapshot is confirmed (end of the stream, or an ACTIVATE_VERSION), each "
        "firing alert of the alert source whose deduplication key is not in the snapshot gets "
        "a `resolved` event. Lists alerts with the API key (default false).",
        default=False,
        per_stream=True,
    )
    alert_max_resolve_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Most alerts resolved at once",
        "With `resolve_missing_alerts`: if a snapshot would resolve more than this fraction of "
        "the alert source's firing alerts, nothing is resolved and the run fails (default 0.5); "
        "a broken source query must not resolve everything.",
        default=0.5,
        per_stream=True,
    )
    incident_visibility: str = setting(
        Choice(("public", "private")),
        "Incident visibility",
        "`incident`: visibility when the record has none (default `public`).",
        default="public",
        per_stream=True,
    )
    custom_fields: tuple[CustomFieldMap, ...] = setting(
        CustomFields(),
        "Custom fields",
        "`incident`/`incident_edit`: record fields that fill custom fields, e.g. "
        '`[{"field": "team", "custom_field_id": "01H…", "kind": "option"}]`; kinds: '
        f"{', '.join(CUSTOM_FIELD_KINDS)}.",
        per_stream=True,
    )
    notify_incident_channel: bool = setting(
        Boolean(),
        "Notify incident channel",
        "`incident_edit`: tell the incident's Slack channel about the edit (default false).",
        default=False,
        per_stream=True,
    )
    catalog_type_id: str | None = setting(
        Text(),
        "Catalog type id",
        "`catalog_entry`: the catalog type; else taken from the record.",
        per_stream=True,
    )
    catalog_attributes: Mapping[str, str] = setting(
        AttributeMap(),
        "Catalog attributes",
        "`catalog_entry`: record field → catalog attribute id. Scalars become "
        "`{value: {literal}}`, lists `array_value`.",
        per_stream=True,
    )
    catalog_mode: str = setting(
        Choice(("upsert", "merge", "sync")),
        "Catalog mode",
        "`catalog_entry`: `upsert` (default) posts every record; `merge` lists the type and "
        "sends only what changed (creates, bulk updates); `sync` also deletes, once the "
        "stream has ended, the entries with an external id the stream did not carry.",
        default="upsert",
        per_stream=True,
    )
    catalog_max_delete_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Catalog max delete fraction",
        "`catalog_entry` with `catalog_mode: sync`: the largest share (0 to 1) of a type's "
        "entries one sync may delete; above it nothing is deleted and the run fails.",
        default=0.5,
        per_stream=True,
    )
    rate_limit_per_minute: float = setting(
        Number(),
        "Rate limit per minute",
        "Requests per minute per API key (default 1200, incident.io's limit); set lower to "
        "leave room for other users of the key.",
        default=1200,
        per_stream=True,
    )
    add_record_metadata: bool = setting(Boolean(), sdk=True)


@dataclass(frozen=True)
class DeliverySettings:
    """How requests are sent: timeouts, retries, limits, concurrency, error policy."""

    request_timeout: float = setting(
        Number(),
        "Request timeout",
        "Seconds to wait for one response before retrying.",
        default=30,
    )
    max_retries: int = setting(
        Integer(zero=True),
        "Max retries",
        "Retries after the first attempt, on 429, 408, 5xx, timeouts and connection errors. "
        "Other 4xx are never retried.",
        default=8,
    )
    max_retry_wait: float = setting(
        Number(),
        "Max retry wait",
        "Cap in seconds on one wait between retries.",
        default=60,
    )
    max_concurrency: int = setting(
        Integer(),
        "Max concurrency",
        "Requests in flight at once. Records sharing a key (deduplication key, incident, "
        "idempotency key, catalog external id) keep their input order.",
        default=4,
    )
    alert_source_rate_limit_per_minute: float = setting(
        Number(),
        "Alert source rate limit",
        "Events per minute per alert source (incident.io allows 120).",
        default=120,
    )
    on_error: str = setting(
        Choice(("fail", "continue")),
        "On error",
        "`fail`: stop at the first record that fails for good, exit non-zero, emit no state "
        "past it. `continue`: write failures to `dead_letter_path` and go on.",
        default="fail",
    )
    max_failures: int | None = setting(
        Integer(zero=True),
        "Max failures",
        "With `on_error: continue`, fail the run at the end if more records than this failed "
        "(unset: never).",
    )
    dead_letter_path: str | None = setting(
        Text(),
        "Dead-letter file",
        "JSON lines of failed records (stream, key, record, error).",
    )
    dry_run: bool = setting(
        Boolean(),
        "Dry run",
        "Build and log every request, send nothing; response records get status `dry_run`.",
        default=False,
    )
    # Checked only: every write of the target is an idempotent create or upsert.
    load_method: str = setting(Choice(("append-only",)), sdk=True, default="append-only")
    validate_records: bool = setting(Boolean(), sdk=True, default=True)
    heartbeat_alert_source_config_id: str | None = setting(
        Text(),
        "Heartbeat alert source config id",
        "An incident.io heartbeat alert source, pinged once after each run that delivered every "
        "record (never after a failed run or a dry run), so incident.io alerts when the "
        "pipeline stops running.",
    )
    heartbeat_token: Secret | None = setting(
        SecretText(),
        "Heartbeat token",
        "The heartbeat alert source's own token, sent as `Authorization: Bearer …`.",
    )


@dataclass(frozen=True)
class ResponseSettings:
    """What the run writes besides the calls: response records, progress lines, state."""

    response_log_path: str | None = setting(
        Text(),
        "Response log",
        "File to append one response record per API call to.",
    )
    response_log_format: str = setting(
        Choice(("jsonl", "singer")),
        "Response log format",
        "`jsonl`, or `singer` (SCHEMA + RECORD messages of stream `incidentio_responses`, to "
        "pipe into any Singer target).",
        default="jsonl",
    )
    response_webhook_url: str | None = setting(
        Url(),
        "Response webhook URL",
        "Every response record is POSTed here as JSON, with its own retries.",
    )
    response_webhook_headers: Mapping[str, str] = setting(
        Headers(secret=True, reserved=CONTENT_TYPE),
        "Response webhook headers",
        "Headers for the webhook (`name:value,...` or an object), e.g. its auth token.",
    )
    response_webhook_batch_size: int = setting(
        Integer(),
        "Response webhook batch size",
        "Response records per webhook post; above 1 the body is an array.",
        default=1,
    )
    response_webhook_timeout: float = setting(
        Number(zero=True),
        "Response webhook time budget",
        "Seconds the webhook may still take after the last call to incident.io; what it has "
        "not posted by then is counted in the summary and stays in the response log. Neither "
        "delivery nor the exit code depends on the webhook.",
        default=30,
    )
    progress_interval: float = setting(
        Number(),
        "Progress interval",
        "Seconds between progress lines on stderr.",
        default=10,
    )
    state_interval: float = setting(
        Number(zero=True),
        "State interval",
        "Most seconds between two STATE messages during the run. A state is emitted only once "
        "every record before it is confirmed, and always at the end; after a crash the next "
        "run resends at most about this many seconds of calls.",
        default=5,
    )


STREAMS = "streams"
STREAMS_TITLE = "Per-stream settings"
STREAMS_DESCRIPTION = (
    "Overrides keyed by stream name or shell-style glob (`alerts_*`); the most specific match "
    "wins and is layered on the top-level settings."
)
GROUPS: tuple[type, ...] = (StreamSettings, DeliverySettings, ResponseSettings)
STREAM_OVERRIDABLE = tuple(name for name, spec in declared(StreamSettings) if spec.per_stream)


def all_settings() -> Iterator[tuple[str, Spec]]:
    """Every declared setting, in the order `--about` lists them."""
    for group in GROUPS:
        yield from declared(group)


SECRET_SETTINGS = frozenset(name for name, spec in all_settings() if spec.kind.secret)


# -- the --about schema ----------------------------------------------------------------------------


def _describe(spec: Spec, operations: Sequence[str], notes: Mapping[str, str]) -> str:
    if "{operations}" not in spec.description:
        return spec.description
    names = [f"`{name}`{notes.get(name, '')}" for name in operations]
    listed = f"{', '.join(names[:-1])}, or {names[-1]}" if len(names) > 1 else "".join(names)
    return spec.description.format(operations=listed)


def _property(
    name: str,
    spec: Spec,
    operations: Sequence[str],
    notes: Mapping[str, str],
    *,
    top_level: bool,
) -> th.Property[t.Any]:
    examples = spec.kind.examples if isinstance(spec.kind, Text) and spec.kind.examples else None
    return th.Property(
        name,
        spec.kind.schema(operations),
        default=spec.default if top_level else None,
        secret=spec.kind.secret,
        allowed_values=spec.kind.allowed_values(operations),
        title=spec.title,
        description=_describe(spec, operations, notes),
        examples=examples,
    )


def config_schema(
    operations: Sequence[str], notes: Mapping[str, str] | None = None
) -> dict[str, t.Any]:
    """The JSON schema `--about` shows; `notes` adds a word after an operation's name."""
    notes = {**(notes or {})}
    default_operation = next(s.default for n, s in declared(StreamSettings) if n == "operation")
    notes[str(default_operation)] = " (default)" + notes.get(str(default_operation), "")
    properties: list[th.Property[t.Any]] = []
    per_stream = [
        _property(name, spec, operations, notes, top_level=False)
        for name, spec in declared(StreamSettings)
        if spec.per_stream
    ]
    for group in GROUPS:
        for name, spec in declared(group):
            if not spec.sdk:
                properties.append(_property(name, spec, operations, notes, top_level=True))
        if group is StreamSettings:
            properties.append(
                th.Property(
                    STREAMS,
                    th.ObjectType(additional_properties=th.ObjectType(*per_stream)),
                    title=STREAMS_TITLE,
                    description=STREAMS_DESCRIPTION,
                )
            )
    return th.PropertiesList(*properties).to_dict()


# -- the environment -------------------------------------------------------------------------------


def settings_from_env(environ: Mapping[str, str], prefix: str) -> dict[str, object]:
    """Our settings from `<PREFIX><NAME>` variables, read as a config file would hold them.

    A value that cannot be read raises `SettingError` naming the setting and the variable.
    """
    config: dict[str, object] = {}
    names = [(name, spec.kind) for name, spec in all_settings() if not spec.sdk]
    names.append((STREAMS, AttributeMap()))  # any JSON object; checked when parsed
    for name, kind in names:
        variable = f"{prefix}{name.upper()}"
        if variable in environ:
            try:
                config[name] = kind.from_env(name, environ[variable])
            except SettingError as error:
                raise SettingError(
                    name, f"{error.problem} (read from {variable})", error.fix
                ) from None
    return config


# -- parsing a whole config ----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The whole config, typed and checked."""

    defaults: StreamSettings
    stream_overrides: Mapping[str, StreamSettings]
    delivery: DeliverySettings
    responses: ResponseSettings
    # Which per-stream settings each level set itself: `""` is the top level.
    explicit: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def for_stream(self, stream: str) -> StreamSettings:
        """Settings of one stream: the most specific matching `streams` pattern wins."""
        pattern = self.pattern_for(stream)
        return self.defaults if pattern is None else self.stream_overrides[pattern]

    def pattern_for(self, stream: str) -> str | None:
        """The `streams` key that applies to `stream`, if any."""
        matches = [p for p in self.stream_overrides if fnmatch.fnmatchcase(stream, p)]
        return max(matches, key=_specificity) if matches else None

    def levels(self) -> Iterator[tuple[str, StreamSettings]]:
        """Every resolved level, as `(where, settings)`: where is `""` or `streams.<pattern>.`."""
        yield "", self.defaults
        for pattern, resolved in self.stream_overrides.items():
            yield f"{STREAMS}.{pattern}.", resolved


def _specificity(pattern: str) -> tuple[int, int]:
    """Exact names beat globs; among globs, more literal characters win."""
    wild = sum(pattern.count(c) for c in "*?[")
    return (0 if wild else 1, len(pattern) - wild)


def _values(  # noqa: PLR0913 - the keyword arguments say which layer is parsed
    group: type[T],
    raw: Mapping[str, t.Any],
    prefix: str,
    operations: Collection[str],
    base: T | None = None,
    *,
    only_per_stream: bool = False,
) -> T:
    """Parse the declared settings of `group` present in `raw`, on top of `base` or defaults."""
    changes: dict[str, t.Any] = {}
    for name, spec in declared(group):
        if only_per_stream and not spec.per_stream:
            continue
        value = raw.get(name)
        if value is not None:
            parsed = spec.kind.parse(f"{prefix}{name}", value, operations)
            if parsed is not None:
                changes[name] = parsed
    if base is None:
        return group(**changes)
    return replace(base, **changes)  # type: ignore[type-var]


def known_names() -> frozenset[str]:
    """Every top-level setting name the model declares."""
    return frozenset({*(name for name, _ in all_settings()), STREAMS})


def refuse_unknown(config: Mapping[str, t.Any], extra: Collection[str]) -> None:
    """An unknown name is a typo that would silently do nothing: refuse it, say the closest."""
    known = known_names() | set(extra)
    for name in config:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            fix = f"did you mean `{close[0]}`?" if close else "remove it."
            raise SettingError(name, "is not a setting of target-incidentio.", fix)


def parse_settings(config: Mapping[str, t.Any], operations: Collection[str]) -> Settings:
    """Turn a config mapping into `Settings`, or raise `SettingError` naming the setting."""
    defaults = _values(StreamSettings, config, "", operations)
    delivery = _values(DeliverySettings, config, "", operations)
    responses = _values(ResponseSettings, config, "", operations)
    explicit = {"": frozenset(n for n in STREAM_OVERRIDABLE if config.get(n) is not None)}
    overrides: dict[str, StreamSettings] = {}
    streams = config.get(STREAMS) or {}
    if not isinstance(streams, dict):
        raise SettingError(STREAMS, "must be an object keyed by stream name or glob.")
    for pattern, raw in streams.items():
        where = f"{STREAMS}.{pattern}."
        if not isinstance(raw, dict):
            raise SettingError(f"{STREAMS}.{pattern}", "must be an object of settings.")
        unknown = sorted(set(raw) - set(STREAM_OVERRIDABLE))
        if unknown:
            raise SettingError(
                f"{STREAMS}.{pattern}",
                f"{', '.join(unknown)} cannot be set per stream.",
                f"per-stream settings are: {', '.join(STREAM_OVERRIDABLE)}.",
            )
        overrides[pattern] = _values(
            StreamSettings, raw, where, operations, defaults, only_per_stream=True
        )
        explicit[where] = frozenset(n for n, v in raw.items() if v is not None)
    settings = Settings(defaults, overrides, delivery, responses, explicit)
    for where, resolved in settings.levels():
        _check_stream(resolved, where)
    _check_outputs(settings)
    _check_heartbeat(settings.delivery)
    return settings


def _check_stream(settings: StreamSettings, where: str) -> None:
    """Checks that need the whole resolved picture of a stream."""
    if settings.api_url is not None:
        _check_api_url(settings, f"{where}api_url")
    if settings.api_url and template_fields(settings.api_url) and settings.batch_size_rows > 1:
        raise SettingError(
            f"{where}batch_size_rows",
            "a batch shares one URL, so it cannot be combined with `{field}` placeholders "
            "in `api_url`.",
            "set batch_size_rows to 1, or use an api_url without placeholders.",
        )


def _check_api_url(settings: StreamSettings, where: str) -> None:
    api_url = settings.api_url or ""
    if placeholder_outside_path(api_url):
        raise SettingError(
            where,
            f"{api_url!r} has a `{{field}}` placeholder outside the URL's path: a record value "
            "there could send the request, and the API key, to another host.",
            "put placeholders in the path only, e.g. `/v2/incidents/{id}/actions/edit`.",
        )
    if is_absolute(api_url):
        head = api_url.split("{", 1)[0]
        check_url(where, head)
        if origin(head) != origin(settings.base_url) or not urlsplit(head).hostname:
            raise SettingError(
                where,
                f"{api_url!r} is on another host than `base_url` ({settings.base_url}); the "
                "API key goes only to `base_url`.",
                "use a path under `base_url` (e.g. `/v2/...`), or point `base_url` at that host.",
            )
    elif not api_url.startswith("/"):
        raise SettingError(
            where,
            f"{api_url!r} is neither an absolute https:// URL nor a path starting with '/'.",
            "write e.g. `/v2/incident_timeline_items/{id}` or a full https:// URL.",
        )
    if any(not name.strip() for name in template_fields(api_url)):
        raise SettingError(where, "has an empty `{}` placeholder.")


def _check_heartbeat(delivery: DeliverySettings) -> None:
    """The heartbeat needs its source and its token; one without the other does nothing."""
    config_id, token = delivery.heartbeat_alert_source_config_id, delivery.heartbeat_token
    if token is not None and config_id is None:
        raise SettingError(
            "heartbeat_alert_source_config_id",
            "`heartbeat_token` is set but there is no heartbeat source to ping.",
            "copy the id from the heartbeat alert source's ping URL in incident.io "
            "(`/v2/heartbeat/<id>/ping`), or remove `heartbeat_token`.",
        )
    if config_id is not None and token is None and not delivery.dry_run:
        raise SettingError(
            "heartbeat_token",
            "the heartbeat source is set but its token is not.",
            "copy the token of the heartbeat alert source in incident.io (Alerts > Sources) "
            "into `heartbeat_token`, or TARGET_INCIDENTIO_HEARTBEAT_TOKEN.",
        )


def _check_outputs(settings: Settings) -> None:
    responses = settings.responses
    if responses.response_log_format == "singer" and not responses.response_log_path:
        raise SettingError(
            "response_log_format",
            "`singer` writes a Singer stream to `response_log_path`, which is not set.",
            "set `response_log_path`, or leave `response_log_format` at `jsonl`.",
        )


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
    if isinstance(config, (int, float, Decimal)) and not isinstance(config, bool):
        return secret_values(str(config), secret=secret)
    if isinstance(config, Mapping):
        items = [(secret or key in SECRET_SETTINGS, value) for key, value in config.items()]
    elif isinstance(config, (list, tuple)):
        items = [(secret, value) for value in config]
    else:
        return []
    return [found for inner, value in items for found in secret_values(value, secret=inner)]


__all__ = [
    "CUSTOM_FIELD_KINDS",
    "DEFAULT_BASE_URL",
    "METHODS",
    "STREAM_OVERRIDABLE",
    "CustomFieldMap",
    "DeliverySettings",
    "ResponseSettings",
    "Settings",
    "StreamSettings",
    "check_url",
    "config_schema",
    "parse_headers",
    "parse_list",
    "parse_settings",
    "secret_values",
    "setting",
    "settings_from_env",
]
