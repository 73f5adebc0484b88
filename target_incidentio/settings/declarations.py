"""Every setting of target-incidentio, declared once.

Each is a `setting(setting_type, title, description, default=...)` field of one of three
groups: a stream's settings (`streams.<pattern>` may override those `PerStreamSetting` names;
the first of them, how every call is made, are `call_settings.py`'s `CallSettings`, which
`StreamSettings` inherits), delivery, and what the run writes. The `--about` schema
(`schema.py`), the environment reader (`environment.py`), the parser (`parse.py`) and the
defaults of the typed objects all come from these declarations. The values the `operation`
setting takes come from the operation table (`operations.py`), which checks them.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_incidentio.settings.call_settings import CallSettings
from target_incidentio.settings.numbers import Integer, Number
from target_incidentio.settings.setting_types import (
    CUSTOM_FIELD_KINDS,
    AttributeMap,
    Boolean,
    Choice,
    Headers,
    Names,
    OutputFile,
    SecretText,
    Text,
    Url,
    custom_fields_type,
    role_assignments_type,
)
from target_incidentio.settings.spec import Spec, declared, setting
from target_incidentio.settings.values import CONTENT_TYPE

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from target_incidentio.core.secrets import Secret
    from target_incidentio.settings.field_maps import CustomFieldMap, RoleMap


@dataclass(frozen=True)
class StreamSettings(CallSettings):
    """Everything a payload builder needs for one stream, overrides applied.

    `CallSettings`' fields (how every call is made) come first, then what each operation
    does with the stream.
    """

    alert_source_config_id: str | None = setting(
        Text(),
        "Alert source config id",
        "`alert_event`: the HTTP alert source's id (from its URL in incident.io); else taken "
        "from the record's `alert_source_config_id`.",
    )
    alert_source_token: Secret | None = setting(
        SecretText(),
        "Alert source token",
        "`alert_event`: the alert source's own secret token (alert events do not use the API key).",
    )
    resolve_missing_alerts: bool = setting(
        Boolean(),
        "Resolve missing alerts",
        "`alert_event`: the stream is a complete snapshot of what is firing now. Once every "
        "event of the snapshot is confirmed (end of the stream, or an ACTIVATE_VERSION), each "
        "firing alert of the alert source whose deduplication key is not in the snapshot gets "
        "a `resolved` event. Lists alerts with the API key (default false).",
        default=False,
    )
    alert_max_resolve_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Most alerts resolved at once",
        "With `resolve_missing_alerts`: if a snapshot would resolve more than this fraction of "
        "the alert source's firing alerts, nothing is resolved and the run fails (default 0.5); "
        "a broken source query must not resolve everything.",
        default=0.5,
    )
    snapshot_complete: str = setting(
        Choice(("tap_signal", "end_of_input")),
        "Snapshot complete",
        "When a stream counts as a whole snapshot, so that the steps that remove what it no "
        "longer has may run (`catalog_mode: sync` deletion, `resolve_missing_alerts`, "
        "`close_missing_incidents`, `override_mode: sync` deletion): "
        "`tap_signal` (default) only once the tap said it finished the stream, by a STATE "
        "after its last record whose bookmark for the stream is a finished singer-sdk "
        "bookmark (a `replication_key_value`, no progress markers), or by an ACTIVATE_VERSION "
        "after the records of its version. `end_of_input` trusts the end of input: a tap that "
        "dies halfway under `meltano run` then deletes and resolves what it never sent, so use "
        "it only for taps that send no signal (singer-sdk FULL_TABLE streams) and when a "
        "failed tap cannot reach the target's end of input (see docs/promises.md).",
        default="tap_signal",
    )
    incident_visibility: str = setting(
        Choice(("public", "private")),
        "Incident visibility",
        "`incident`: visibility when the record has none (default `public`).",
        default="public",
    )
    custom_fields: tuple[CustomFieldMap, ...] = setting(
        custom_fields_type(),
        "Custom fields",
        "`incident`/`incident_edit`: record fields that fill custom fields, each named by "
        '`custom_field` (its name) or `custom_field_id`, e.g. `[{"field": "team", '
        '"custom_field": "Team"}]`. The values may be names too: an option\'s text, a catalog '
        "entry's external id, name or alias. `kind` is taken from the field's type unless set: "
        f"{', '.join(CUSTOM_FIELD_KINDS)}.",
    )
    create_missing_options: bool = setting(
        Boolean(),
        "Create missing options",
        "`incident`/`incident_edit`: an option of a select custom field that does not exist yet "
        "is created (`POST /v1/custom_field_options`, once per run; the key needs "
        "`manage_settings`) instead of failing the record (default false).",
        default=False,
    )
    role_assignments: tuple[RoleMap, ...] = setting(
        role_assignments_type(),
        "Role assignments",
        "`incident`/`incident_edit`: record fields holding the e-mail of the user to assign an "
        "incident role to, each role named by `role` (its name) or `incident_role_id`, e.g. "
        '`[{"field": "lead_email", "role": "Incident Lead"}]`.',
    )
    notify_incident_channel: bool = setting(
        Boolean(),
        "Notify incident channel",
        "`incident_edit`: tell the incident's Slack channel about the edit (default false).",
        default=False,
    )
    incident_mode: str = setting(
        Choice(("create", "sync")),
        "Incident mode",
        "`incident`: `create` (default) opens an incident per record, de-duplicated by its "
        "idempotency key. `sync` keeps one incident per source key in step across runs: once "
        "per run it lists the incidents, then creates those whose key no incident holds (the "
        "key in `incident_key_field`), edits only the owned fields that differ "
        "(`incident_sync_fields`), and fails a record whose key two incidents hold. The key is "
        "the stream's key properties, several joined in order with `/`.",
        default="create",
    )
    incident_key_field: str | None = setting(
        Text(examples=["Ticket key"]),
        "Incident key field",
        "`incident_mode: sync`: the text custom field (by name, any letter case, or id) that "
        "holds each incident's source key. An incident made in the dashboard whose field holds "
        "a key is adopted, not opened again.",
    )
    incident_sync_fields: tuple[str, ...] = setting(
        Names(),
        "Incident sync fields",
        "`incident_mode: sync`: the fields the pipeline keeps in step after creation: `name`, "
        "`summary`, `severity`, `incident_status`, a custom field's name or an incident role's "
        "name. Every other field the record gives is set when the incident is created and "
        "never edited again, so a responder's change stands (default `name`, `summary`).",
        default=["name", "summary"],
    )
    close_missing_incidents: str | None = setting(
        Text(examples=["Closed"]),
        "Close missing incidents",
        "`incident_mode: sync`: the stream is a complete snapshot. Once its calls are confirmed "
        "(end of the stream, or an ACTIVATE_VERSION), each open incident holding a key the "
        "snapshot did not carry is edited to this status, which must be in a closed category. "
        "Unset (default): nothing is closed.",
    )
    incident_max_close_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Most incidents closed at once",
        "With `close_missing_incidents`: if a snapshot would close more than this share (0 to "
        "1) of the open incidents holding a key, nothing is closed and the run fails "
        "(default 0.5).",
        default=0.5,
    )
    catalog_type_id: str | None = setting(
        Text(),
        "Catalog type id",
        "`catalog_entry`: the catalog type; else taken from the record.",
    )
    catalog_type: str | None = setting(
        Text(examples=["Service", 'Custom["Service"]']),
        "Catalog type",
        "`catalog_entry`: the catalog type by its name or its `type_name` (e.g. "
        '`Custom["Service"]`), instead of `catalog_type_id`. With `catalog_manage_type` it is '
        "the type to create; the stream's name when unset.",
    )
    catalog_manage_type: bool = setting(
        Boolean(),
        "Manage catalog type",
        "`catalog_entry`: the stream owns its catalog type. If none has its name, the target "
        "creates it, and it adds an attribute for each field of the stream's SCHEMA that has "
        "none (`update_schema`), before the first entry. It changes only types it created "
        '(default false); see docs/catalogs.md, "Catalog types from the stream".',
        default=False,
    )
    catalog_attributes: Mapping[str, str] = setting(
        AttributeMap(),
        "Catalog attributes",
        "`catalog_entry`: record field → catalog attribute, by id or name. Scalars become "
        "`{value: {literal}}`, lists `array_value`. With `catalog_manage_type`, the fields "
        "listed here are the type's attributes (default: every field of the stream).",
    )
    catalog_references: Mapping[str, str] = setting(
        AttributeMap(
            values="the `type_name` of the catalog type their values name",
            example='{"owner_team": "Custom[\\"Team\\"]"}',
        ),
        "Catalog references",
        "`catalog_entry` with `catalog_manage_type`: record field → the catalog type its "
        'values name (its `type_name`, e.g. `Custom["Team"]`). The attribute is created as a '
        "reference to that type; the values are its entries' external ids.",
    )
    catalog_mode: str = setting(
        Choice(("upsert", "merge", "sync")),
        "Catalog mode",
        "`catalog_entry`: `upsert` (default) posts every record; `merge` lists the type and "
        "sends only what changed (creates, bulk updates); `sync` also deletes, once the "
        "stream has ended, the entries with an external id the stream did not carry.",
        default="upsert",
    )
    catalog_max_delete_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Catalog max delete fraction",
        "`catalog_entry` with `catalog_mode: sync`: the largest share (0 to 1) of a type's "
        "entries one sync may delete; above it nothing is deleted and the run fails.",
        default=0.5,
    )
    override_mode: str = setting(
        Choice(("add", "sync")),
        "Override mode",
        "`schedule_override`: `add` (default) creates the rows no override matches and never "
        "deletes; `sync` also deletes, once the stream has ended, the overrides of the "
        "schedules in scope that have not ended yet and match no row (a changed row is a "
        "delete plus a create).",
        default="add",
    )
    override_schedules: tuple[str, ...] = setting(
        Names(),
        "Override schedules",
        "`schedule_override` with `override_mode: sync`: schedules (names or ids) in scope "
        "besides those the rows name, so a schedule whose rows all left has its future "
        "overrides deleted.",
    )
    override_max_delete_fraction: float = setting(
        Number(zero=True, at_most=1),
        "Override max delete fraction",
        "`schedule_override` with `override_mode: sync`: the largest share (0 to 1) of the "
        "scope's future overrides one sync may delete; above it nothing is written and the "
        "run fails.",
        default=0.5,
    )
    rate_limit_per_minute: float = setting(
        Number(at_least=0.01, at_most=1e9),
        "Rate limit per minute",
        "Requests per minute per API key (default 1200, incident.io's limit); set lower to "
        "leave room for other users of the key.",
        default=1200,
    )
    add_record_metadata: bool = setting(Boolean(), sdk=True)


@dataclass(frozen=True)
class DeliverySettings:
    """How requests are sent: timeouts, retries, limits, concurrency, error policy."""

    request_timeout: float = setting(
        Number(at_least=0.1, at_most=3600),
        "Request timeout",
        "Seconds to wait for one response before retrying.",
        default=30,
    )
    max_retries: int = setting(
        Integer(zero=True, at_most=100),
        "Max retries",
        "Retries after the first attempt, on 429, 408, 5xx, timeouts and connection errors. "
        "Other 4xx are never retried.",
        default=8,
    )
    max_retry_wait: float = setting(
        Number(at_least=0.01, at_most=3600),
        "Max retry wait",
        "Cap in seconds on one wait between retries.",
        default=60,
    )
    max_concurrency: int = setting(
        Integer(at_most=64),
        "Max concurrency",
        "Requests in flight at once. Records sharing a key (deduplication key, incident, "
        "idempotency key, catalog external id) keep their input order.",
        default=4,
    )
    alert_source_rate_limit_per_minute: float = setting(
        Number(at_least=0.01, at_most=1e9),
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
        Integer(zero=True, at_most=1_000_000_000),
        "Max failures",
        "With `on_error: continue`, fail the run at the end if more records than this failed "
        "(unset: never).",
    )
    dead_letter_path: str | None = setting(
        OutputFile(),
        "Dead-letter file",
        "JSON lines of failed records (stream, key, record, error).",
    )
    dry_run: bool = setting(
        Boolean(),
        "Dry run",
        "Build and log every request, send nothing; response records get status `dry_run`.",
        default=False,
    )
    # The SDK's setting, narrowed to what the target does: the SDK's `upsert` and `overwrite`
    # are table operations, and incident.io has no tables (--about must not offer them).
    load_method: str = setting(
        Choice(("append-only",)),
        "Load method",
        "Only `append-only` (the default): each record is one write. incident.io has no tables "
        "to upsert into or overwrite; reruns write nothing twice all the same, as creates "
        "carry idempotency keys and catalog entries their `external_id`, and `catalog_mode: "
        "sync` replaces a catalog type's entries.",
        default="append-only",
    )
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
        OutputFile(),
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
        Integer(at_most=10_000),
        "Response webhook batch size",
        "Response records per webhook post; above 1 the body is an array.",
        default=1,
    )
    response_webhook_timeout: float = setting(
        Number(zero=True, at_most=3600),
        "Response webhook time budget",
        "Seconds the webhook may still take after the last call to incident.io; what it has "
        "not posted by then is counted in the summary and stays in the response log. Neither "
        "delivery nor the exit code depends on the webhook.",
        default=30,
    )
    progress_interval: float = setting(
        Number(at_least=0.1, at_most=86_400),
        "Progress interval",
        "Seconds between progress lines on stderr.",
        default=10,
    )
    state_interval: float = setting(
        Number(zero=True, at_most=86_400),
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
# The SDK's own settings whose SDK text does not say how they work here; `--about` adds the
# note to their description.
SDK_NOTES: Mapping[str, str] = {
    "faker_config": "Faker is not installed with target-incidentio: to use `fake` in "
    "`stream_maps`, install it beside the target (Meltano: `pip_url: target-incidentio "
    "faker`). Without Faker the target refuses this setting.",
}
# The settings of `StreamSettings` a stream may override (`streams.<pattern>`), named once:
# as a type, so that the type checker refuses a misspelt name in the operation table, and
# `STREAM_OVERRIDABLE` (the schema's and the parser's list) comes from it. A name here that
# `StreamSettings` does not declare fails at import.
PerStreamSetting = t.Literal[
    "operation",
    "method",
    "api_url",
    "request_headers",
    "exclude_attributes",
    "batch_size_rows",
    "batch_wrapper_key",
    "alert_source_config_id",
    "alert_source_token",
    "resolve_missing_alerts",
    "alert_max_resolve_fraction",
    "snapshot_complete",
    "incident_visibility",
    "custom_fields",
    "create_missing_options",
    "role_assignments",
    "notify_incident_channel",
    "incident_mode",
    "incident_key_field",
    "incident_sync_fields",
    "close_missing_incidents",
    "incident_max_close_fraction",
    "catalog_type_id",
    "catalog_type",
    "catalog_manage_type",
    "catalog_attributes",
    "catalog_references",
    "catalog_mode",
    "catalog_max_delete_fraction",
    "override_mode",
    "override_schedules",
    "override_max_delete_fraction",
    "rate_limit_per_minute",
]


def overridable(group: type, names: tuple[str, ...]) -> tuple[str, ...]:
    """The settings of `group` that `names` names, in declaration order; refuses a typo."""
    declared_names = [name for name, _spec in declared(group)]
    unknown = [name for name in names if name not in declared_names]
    if unknown:
        msg = f"{group.__name__} declares no setting {', '.join(map(repr, unknown))}"
        raise ValueError(msg)
    return tuple(name for name in declared_names if name in names)


STREAM_OVERRIDABLE = overridable(StreamSettings, t.get_args(PerStreamSetting))


def all_settings() -> Iterator[tuple[str, Spec]]:
    """Every declared setting, in the order `--about` lists them."""
    for group in GROUPS:
        yield from declared(group)


def known_names() -> frozenset[str]:
    """Every top-level setting name the model declares."""
    return frozenset({*(name for name, _ in all_settings()), STREAMS})
