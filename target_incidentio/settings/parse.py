"""A config turned into typed, checked `Settings`, or a `SettingError` naming the setting.

`parse_values` is the settings model's half of the parse; `operations.parse_settings` adds the
checks only the operation table can make (the operation's name, credentials, what it requires)
and is the one way the target parses a config.
"""

from __future__ import annotations

import difflib
import fnmatch
import typing as t
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from target_incidentio.core.errors import SettingError
from target_incidentio.core.urls import (
    is_absolute,
    origin,
    placeholder_outside_path,
    template_fields,
)
from target_incidentio.settings.declarations import (
    STREAM_OVERRIDABLE,
    STREAMS,
    DeliverySettings,
    ResponseSettings,
    StreamSettings,
    known_names,
)
from target_incidentio.settings.spec import declared
from target_incidentio.settings.values import check_url

if t.TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping

T = t.TypeVar("T")


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


def _values(
    group: type[T],
    raw: Mapping[str, t.Any],
    prefix: str,
    base: T | None = None,
    *,
    only_per_stream: bool = False,
) -> T:
    """Parse the declared settings of `group` present in `raw`, on top of `base` or defaults."""
    changes: dict[str, t.Any] = {}
    for name, spec in declared(group):
        if only_per_stream and name not in STREAM_OVERRIDABLE:
            continue
        value = raw.get(name)
        if value is not None:
            parsed = spec.setting_type.parse(f"{prefix}{name}", value)
            if parsed is not None:
                changes[name] = parsed
    if base is None:
        return group(**changes)
    return replace(base, **changes)  # type: ignore[type-var]


def refuse_unknown(config: Mapping[str, t.Any], extra: Collection[str]) -> None:
    """An unknown name is a typo that would silently do nothing: refuse it, say the closest."""
    known = known_names() | set(extra)
    for name in config:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            fix = f"did you mean `{close[0]}`?" if close else "remove it."
            raise SettingError(name, "is not a setting of target-incidentio.", fix)


def parse_values(config: Mapping[str, t.Any]) -> Settings:
    """The declared settings of `config`, typed and checked; not the operations' checks.

    Only `operations.parse_settings` calls it: a config parsed here alone has not had its
    operation, credentials or required settings checked.
    """
    defaults = _values(StreamSettings, config, "")
    delivery = _values(DeliverySettings, config, "")
    responses = _values(ResponseSettings, config, "")
    # A top-level setting at its default says nothing: Meltano passes every default it shows.
    unset = StreamSettings()
    explicit = {
        "": frozenset(
            n
            for n in STREAM_OVERRIDABLE
            if config.get(n) is not None and getattr(defaults, n) != getattr(unset, n)
        )
    }
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
        overrides[pattern] = _values(StreamSettings, raw, where, defaults, only_per_stream=True)
        explicit[where] = frozenset(n for n, v in raw.items() if v is not None)
    settings = Settings(defaults, overrides, delivery, responses, explicit)
    for where, resolved in settings.levels():
        _check_stream(resolved, where)
    _check_outputs(settings)
    check_heartbeat(settings.delivery, require_token=not settings.delivery.dry_run)
    return settings


def _check_stream(settings: StreamSettings, where: str) -> None:
    """Checks that need the whole resolved picture of a stream."""
    _check_catalog_type(settings, where)
    _check_incident_sync(settings, where)
    if settings.api_url is not None:
        _check_api_url(settings, f"{where}api_url")
    if settings.api_url and template_fields(settings.api_url) and settings.batch_size_rows > 1:
        raise SettingError(
            f"{where}batch_size_rows",
            "a batch shares one URL, so it cannot be combined with `{field}` placeholders "
            "in `api_url`.",
            "set batch_size_rows to 1, or use an api_url without placeholders.",
        )


def _check_catalog_type(settings: StreamSettings, where: str) -> None:
    """One way to name the type; a managed type is found by name, so it cannot be an id."""
    if settings.catalog_type_id is None:
        return
    if settings.catalog_type is not None:
        raise SettingError(
            f"{where}catalog_type",
            f"names a catalog type ({settings.catalog_type!r}) where `catalog_type_id` "
            f"({settings.catalog_type_id}) names one too.",
            "keep one of them.",
        )
    if settings.catalog_manage_type:
        raise SettingError(
            f"{where}catalog_manage_type",
            "a managed catalog type is found, or created, by its name, not by an id.",
            "replace `catalog_type_id` with `catalog_type` (the type's name), or leave it "
            "unset to use the stream's name.",
        )


def _check_incident_sync(settings: StreamSettings, where: str) -> None:
    """Sync needs the field its keys live in; closing is a sync's, never a create's.

    What needs the account (the field is a text field, the sync fields and the close status
    exist) is checked at the start of the run and by `--check`; the key properties when the
    stream's SCHEMA arrives.
    """
    if settings.incident_mode == "sync" and settings.incident_key_field is None:
        raise SettingError(
            f"{where}incident_key_field",
            "is required with `incident_mode: sync`: it names the text custom field that holds "
            "each incident's source key.",
            "create a text custom field in incident.io (e.g. 'Ticket key') and name it here.",
        )
    if settings.close_missing_incidents is not None and settings.incident_mode != "sync":
        raise SettingError(
            f"{where}close_missing_incidents",
            "closes the incidents whose rows left the source, which only `incident_mode: sync` "
            "knows.",
            "set `incident_mode: sync` for the stream, or remove `close_missing_incidents`.",
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


def check_heartbeat(delivery: DeliverySettings, *, require_token: bool) -> None:
    """The heartbeat needs its source and its token; one without the other does nothing.

    A dry run pings nothing, so it starts without the token; `--check` asks for it anyway.
    """
    config_id, token = delivery.heartbeat_alert_source_config_id, delivery.heartbeat_token
    if token is not None and config_id is None:
        raise SettingError(
            "heartbeat_alert_source_config_id",
            "`heartbeat_token` is set but there is no heartbeat source to ping.",
            "copy the id from the heartbeat alert source's ping URL in incident.io "
            "(`/v2/heartbeat/<id>/ping`), or remove `heartbeat_token`.",
        )
    if config_id is not None and token is None and require_token:
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
