"""target-incidentio: the settings it takes and the sink each stream gets."""

from __future__ import annotations

import contextlib
import typing as t

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.target_base import Target
from typing_extensions import override

from target_incidentio.delivery.engine import Delivery
from target_incidentio.errors import DeliveryFailedError
from target_incidentio.ledger import Ledger
from target_incidentio.secrets import Redactor, redact_logs
from target_incidentio.settings import (
    CUSTOM_FIELD_KINDS,
    METHODS,
    OPERATIONS,
    parse_settings,
    secret_values,
)
from target_incidentio.signals import SignalGuard
from target_incidentio.sinks import SINKS, IncidentIOSink

if t.TYPE_CHECKING:
    from pathlib import PurePath
    from types import FrameType

    from singer_sdk.singerlib.encoding.base import GenericSingerReader


def _stream_properties(*, top_level: bool) -> tuple[th.Property[t.Any], ...]:
    """Settings a stream may override under `streams.<name or glob>`.

    Defaults are shown only at the top level: an override without a value inherits.
    """

    def default(value: t.Any) -> t.Any:  # noqa: ANN401 - any JSON default
        return value if top_level else None

    return (
        th.Property(
            "operation",
            th.StringType,
            default=default("alert_event"),
            allowed_values=list(OPERATIONS),
            title="Operation",
            description="Which kind of write each record becomes: `alert_event` (default), "
            "`incident`, `incident_edit`, `incident_update`, `catalog_entry`, or `http` "
            "(any endpoint, see `api_url`).",
        ),
        th.Property(
            "method",
            th.StringType,
            default=default("POST"),
            allowed_values=list(METHODS),
            title="HTTP method",
            description="HTTP method of the `http` operation: POST (default), PUT or PATCH.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API URL",
            description="Endpoint of the `http` operation: an absolute https:// URL or a path "
            "under `base_url`. `{field}` placeholders are filled from the record, URL-encoded, "
            "e.g. `/v2/incident_timeline_items/{id}`.",
            examples=["/v2/incident_timeline_items"],
        ),
        th.Property(
            "request_headers",
            th.CustomType({"type": ["string", "object", "null"]}),
            title="Request headers",
            description="Extra headers: `name:value,name2:value2` or an object. "
            "`Authorization` and `Content-Type` are the target's own and cannot be set.",
        ),
        th.Property(
            "exclude_attributes",
            th.CustomType({"type": ["string", "array", "null"], "items": {"type": "string"}}),
            title="Exclude attributes",
            description="Fields never sent: a comma-separated string or an array; dotted paths "
            "such as `owner.email` reach into nested objects.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=default(1),
            title="Records per call",
            description="Records per API call for `http` (default 1): above 1 the body is a JSON "
            "array of the records, or `{batch_wrapper_key: [...]}`. The other operations send "
            "one record per call, as incident.io's endpoints take one.",
        ),
        th.Property(
            "batch_wrapper_key",
            th.StringType,
            title="Batch wrapper key",
            description="With `http` and `batch_size_rows` > 1, wrap the array as "
            '`{"<key>": [...]}`.',
        ),
        th.Property(
            "alert_source_config_id",
            th.StringType,
            title="Alert source config id",
            description="`alert_event`: the HTTP alert source's id (from its URL in incident.io); "
            "else taken from the record's `alert_source_config_id`.",
        ),
        th.Property(
            "alert_source_token",
            th.StringType,
            secret=True,
            title="Alert source token",
            description="`alert_event`: the alert source's own secret token (alert events do "
            "not use the API key).",
        ),
        th.Property(
            "incident_visibility",
            th.StringType,
            default=default("public"),
            allowed_values=["public", "private"],
            title="Incident visibility",
            description="`incident`: visibility when the record has none (default `public`).",
        ),
        th.Property(
            "custom_fields",
            th.ArrayType(
                th.ObjectType(
                    th.Property("field", th.StringType, required=True),
                    th.Property("custom_field_id", th.StringType, required=True),
                    th.Property("kind", th.StringType, allowed_values=list(CUSTOM_FIELD_KINDS)),
                )
            ),
            title="Custom fields",
            description="`incident`/`incident_edit`: record fields that fill custom fields, e.g. "
            '`[{"field": "team", "custom_field_id": "01H…", "kind": "option"}]`; kinds: '
            f"{', '.join(CUSTOM_FIELD_KINDS)}.",
        ),
        th.Property(
            "notify_incident_channel",
            th.BooleanType,
            default=default(value=False),
            title="Notify incident channel",
            description="`incident_edit`: tell the incident's Slack channel about the edit "
            "(default false).",
        ),
        th.Property(
            "catalog_type_id",
            th.StringType,
            title="Catalog type id",
            description="`catalog_entry`: the catalog type; else taken from the record.",
        ),
        th.Property(
            "catalog_attributes",
            th.ObjectType(additional_properties=th.StringType),
            title="Catalog attributes",
            description="`catalog_entry`: record field → catalog attribute id. Scalars become "
            "`{value: {literal}}`, lists `array_value`.",
        ),
        th.Property(
            "rate_limit_per_minute",
            th.NumberType,
            default=default(1200),
            title="Rate limit per minute",
            description="Requests per minute per API key (default 1200, incident.io's limit); "
            "set lower to leave room for other users of the key.",
        ),
    )


class TargetIncidentIO(Target):
    """Delivers the records of any Singer tap to incident.io."""

    name = "target-incidentio"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            title="API key",
            description="incident.io API key, sent as `Authorization: Bearer …`. Needs the "
            "roles of the operations used (see README).",
        ),
        th.Property(
            "base_url",
            th.StringType,
            default="https://api.incident.io",
            title="Base URL",
            description="incident.io API root. Plain http:// is accepted only for loopback "
            "addresses (the local sandbox).",
        ),
        *_stream_properties(top_level=True),
        th.Property(
            "streams",
            th.ObjectType(
                additional_properties=th.ObjectType(*_stream_properties(top_level=False))
            ),
            title="Per-stream settings",
            description="Overrides keyed by stream name or shell-style glob (`alerts_*`); the "
            "most specific match wins and is layered on the top-level settings.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=30,
            title="Request timeout",
            description="Seconds to wait for one response before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=8,
            title="Max retries",
            description="Retries after the first attempt, on 429, 408, 5xx, timeouts and "
            "connection errors. Other 4xx are never retried.",
        ),
        th.Property(
            "max_retry_wait",
            th.NumberType,
            default=60,
            title="Max retry wait",
            description="Cap in seconds on one wait between retries.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=4,
            title="Max concurrency",
            description="Requests in flight at once. Records sharing a key (deduplication key, "
            "incident, idempotency key, catalog external id) keep their input order.",
        ),
        th.Property(
            "alert_source_rate_limit_per_minute",
            th.NumberType,
            default=120,
            title="Alert source rate limit",
            description="Events per minute per alert source (incident.io allows 120).",
        ),
        th.Property(
            "on_error",
            th.StringType,
            default="fail",
            allowed_values=["fail", "continue"],
            title="On error",
            description="`fail`: stop at the first record that fails for good, exit non-zero, "
            "emit no state past it. `continue`: write failures to `dead_letter_path` and go on.",
        ),
        th.Property(
            "max_failures",
            th.IntegerType,
            title="Max failures",
            description="With `on_error: continue`, fail the run at the end if more records "
            "than this failed (unset: never).",
        ),
        th.Property(
            "dead_letter_path",
            th.StringType,
            title="Dead-letter file",
            description="JSON lines of failed records (stream, key, record, error).",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description="Build and log every request, send nothing; response records get "
            "status `dry_run`.",
        ),
        th.Property(
            "response_log_path",
            th.StringType,
            title="Response log",
            description="File to append one response record per API call to.",
        ),
        th.Property(
            "response_log_format",
            th.StringType,
            default="jsonl",
            allowed_values=["jsonl", "singer"],
            title="Response log format",
            description="`jsonl`, or `singer` (SCHEMA + RECORD messages of stream "
            "`incidentio_responses`, to pipe into any Singer target).",
        ),
        th.Property(
            "response_webhook_url",
            th.StringType,
            title="Response webhook URL",
            description="Every response record is POSTed here as JSON, with its own retries.",
        ),
        th.Property(
            "response_webhook_headers",
            th.CustomType({"type": ["string", "object", "null"]}),
            secret=True,
            title="Response webhook headers",
            description="Headers for the webhook (`name:value,...` or an object), e.g. its "
            "auth token.",
        ),
        th.Property(
            "response_webhook_batch_size",
            th.IntegerType,
            default=1,
            title="Response webhook batch size",
            description="Response records per webhook post; above 1 the body is an array.",
        ),
        th.Property(
            "progress_interval",
            th.NumberType,
            default=10,
            title="Progress interval",
            description="Seconds between progress lines on stderr.",
        ),
    ).to_dict()

    def __init__(
        self,
        *,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: GenericSingerReader[t.Any] | None = None,
    ) -> None:
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            message_reader=message_reader,
        )
        self.settings = parse_settings(self.config)
        self.redact = Redactor(secret_values(self.config))
        redact_logs(self.redact)
        self.ledger = Ledger(self.settings, self.redact)
        self.delivery = Delivery(
            self.settings.delivery, on_result=self.ledger.on_result, redact=self.redact
        )
        self.ledger.delivery = self.delivery
        self.signals = SignalGuard()
        # Draining a sink only hands calls to delivery, so draining sinks on parallel threads
        # gains nothing; on the main thread, a SIGTERM drain cannot wait on a lock (logging,
        # delivery) that the interrupted main thread holds.
        self.max_parallelism = 1

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK's schema errors quote the offending value, which may be a secret.
        redact = Redactor(secret_values(self._config))
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as error:
            raise ConfigValidationError(
                redact(str(error)),
                errors=[redact(message) for message in error.errors],
                schema=error.schema,
            ) from None
        return [redact(message) for message in errors]

    @override
    def get_sink_class(self, stream_name: str) -> type[IncidentIOSink]:
        return SINKS[self.settings.for_stream(stream_name).operation]

    @override
    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        # STATE means "everything before this is in incident.io": confirm it first. A signal
        # drain must not start inside the write either (stdout is not re-entrant).
        with self.signals.deferred():
            self.ledger.confirm_all()
            super()._write_state_message(state)

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()  # drain_all: confirm, then STATE
        # Without a STATE message drain_all confirms nothing: the run ends only when
        # every call has.
        self._close(raise_errors=True)

    @override  # type: ignore[misc]
    def listen(self, file_input: t.IO[str] | None = None) -> None:
        # The SDK marks `listen` final, but only here does every way a run can end pass
        # (a bad record, a failed delivery, a signal), and each of them must let the calls
        # under way finish, log them and close the files.
        try:
            super().listen(file_input)
        except SystemExit as exit_:
            graceful = exit_.code in (0, None)  # SIGTERM/SIGINT after the SDK's drain
            self._close(raise_errors=graceful, stop=not graceful)
            raise
        except BaseException:
            self._close(raise_errors=False, stop=True)
            raise

    def _close(self, *, raise_errors: bool, stop: bool = False) -> None:
        """Let calls under way finish and be logged, summarise, close files (once)."""
        if stop:
            self.delivery.stop()  # queued calls are not sent
        try:
            if raise_errors:
                self.ledger.finish()
            else:
                # The error already on its way out is the story; don't mask it.
                with contextlib.suppress(DeliveryFailedError):
                    self.ledger.finish()
        finally:
            self.delivery.close()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover
        # The SDK drains (every queued call is sent and confirmed), emits state and exits;
        # if the signal came while the main thread held delivery locks, that waits until
        # it has let go of them.
        self.signals.run_when_safe(
            lambda: super(TargetIncidentIO, self)._handle_termination(signum, frame)
        )


if __name__ == "__main__":
    TargetIncidentIO.cli()
