"""target-incidentio: the settings it takes and the sink each stream gets.

The settings are declared in `settings/` and the operations in `operations.py`; this
module wires them into the SDK. Where it overrides a private SDK method, `docs/sdk.md` says
why, and `tests/target/test_sdk_contract.py` fails if that method changes.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import os
import signal
import sys
import traceback
import typing as t

import click
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._batch import (
    BaseBatchFileEncoding,
    BatchConfig,
    BatchFileFormat,
    StorageTarget,
)
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json
from singer_sdk.target_base import Target
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR
from typing_extensions import Self, override

from target_incidentio.check.runner import report_unparsed, run_check
from target_incidentio.core.errors import RecordError, SettingError
from target_incidentio.core.secrets import Redactor, install_redaction, remove_redaction
from target_incidentio.operations import config_schema, parse_settings
from target_incidentio.payloads.fields import record_key
from target_incidentio.run.lifecycle import Run
from target_incidentio.settings import (
    explain_sdk_settings,
    known_names,
    refuse_unknown,
    secret_values,
    settings_from_env,
)
from target_incidentio.singer_input import SingerInput
from target_incidentio.sinks import sink_class
from target_incidentio.stream_writer import StreamWriter

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import PurePath
    from types import FrameType, TracebackType

    from singer_sdk.mapper import StreamMap
    from singer_sdk.plugin_base import _ConfigInput
    from singer_sdk.singerlib.encoding.base import GenericSingerReader
    from singer_sdk.sinks import Sink

    from target_incidentio.settings import Settings


class TargetIncidentIO(Target):
    """Delivers the records of any Singer tap to incident.io."""

    name = "target-incidentio"
    config_jsonschema = config_schema()
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        *Target.capabilities,
        # A snapshot's end: catalog sync deletes what left it, an alert snapshot resolves.
        PluginCapabilities.ACTIVATE_VERSION,
        # BATCH messages: each file's records take the path of RECORD messages.
        PluginCapabilities.BATCH,
    ]

    def __init__(
        self,
        *,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: GenericSingerReader[t.Any] | None = None,
    ) -> None:
        self._settings: Settings | None = None
        # The reader of stdin, and the one gate of every record, BATCH files' records too.
        self._input = SingerInput(self._bad_record, self._stream_maps)
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            message_reader=message_reader or self._input,
        )
        self.settings = self._settings or parse_settings(self.config)
        self.redact = Redactor(secret_values(self.config))
        self._run: Run | None = None
        # Draining a sink only hands calls to delivery, so parallel drains gain nothing; on
        # the main thread a SIGTERM drain cannot wait on a lock the main thread holds.
        self.max_parallelism = 1

    # -- settings ------------------------------------------------------------------------------

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The settings model is the one checker of our settings (see docs/sdk.md); the SDK's
        # own settings keep the SDK's JSON-schema check. Neither message echoes a secret.
        redact = Redactor(secret_values(self._config))
        errors: list[str] = []
        try:
            refuse_unknown(self._config, BUILTIN_SCHEMA["properties"])
            self._settings = parse_settings(self._config)
        except SettingError as error:
            errors.extend(error.errors)
        builtins = {k: v for k, v in self._config.items() if k in BUILTIN_SCHEMA["properties"]}
        validator = DEFAULT_JSONSCHEMA_VALIDATOR(BUILTIN_SCHEMA)
        errors.extend(
            redact(f"Setting `{'.'.join(map(str, e.absolute_path))}`: {e.message}")
            for e in validator.iter_errors(builtins)
        )
        if builtins.get("faker_config") is not None and importlib.util.find_spec("faker") is None:
            # The SDK would skip it silently, and every `fake` expression fail per record.
            errors.append(
                "Setting `faker_config`: Faker is not installed beside target-incidentio. "
                "Fix: install it (Meltano: `pip_url: target-incidentio faker`), or remove "
                "`faker_config`."
            )
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors, schema=self.config_jsonschema)
        return errors

    @classproperty
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805 - a class property
        # The SDK reads a variable by the schema's type, which cannot tell `name:value` text
        # from a JSON object; each of our settings reads its own (see docs/sdk.md).
        config = parse_environment_config(BUILTIN_SCHEMA, cls._env_var_prefix)
        config.update(settings_from_env(os.environ, cls._env_var_prefix))
        return config

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        # The SDK's settings, with a note where the SDK's text does not hold here.
        super().append_builtin_config(config_jsonschema)
        explain_sdk_settings(config_jsonschema["properties"])

    # -- the run ---------------------------------------------------------------------------------

    @property
    def run(self) -> Run:
        """The run, started by the first message that needs it."""
        if self._run is None:
            self._run = Run(self.settings, self.redact, self._write_state)
        self._run.start()
        return self._run

    @staticmethod
    def _write_state(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def __enter__(self) -> Self:
        """Secrets are masked in every log line from here on, the first input line included."""
        install_redaction(self.redact)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Whatever ended the run: a signal's graceful exit finishes it, anything else aborts."""
        try:
            if self._run is None:
                return
            graceful = exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None))
            if graceful:
                self._run.finish()
            else:
                self._run.abort()
        finally:
            remove_redaction(self.redact)

    def stream_writer(
        self, stream_name: str, schema: dict[str, t.Any], key_properties: Sequence[str]
    ) -> StreamWriter:
        """What a sink hands its records to, given what it needs rather than the Target."""
        return StreamWriter(
            self.run,
            self.settings,
            stream_name,
            schema,
            key_properties,
            stream_maps=self.config.get("stream_maps"),
            logger=self.logger,
        )

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        settings = self.settings.for_stream(stream_name)
        return sink_class(settings.operation, settings.batch_size_rows)

    # -- messages ----------------------------------------------------------------------------

    def _stream_maps(self, stream: str) -> list[StreamMap] | None:
        """The stream's maps, or None before its SCHEMA."""
        return self.mapper.stream_maps.get(stream)

    def _bad_record(self, message: dict[str, t.Any], problem: str) -> None:
        """A RECORD the target cannot use: that record's failure, named and counted."""
        stream = str(message["stream"])
        record = message["record"]
        maps = self._stream_maps(stream) or []
        keys = (maps[0].raw_key_properties or ()) if maps else ()
        try:
            key = record_key(record, keys) if isinstance(record, dict) else "(no data)"
        except (ValueError, RecursionError):  # text that is not Unicode, nested too deep
            key = "(unreadable)"
        error = RecordError(
            stream=stream,
            record_key=key,
            field=None,
            problem=f"cannot be sent: {problem}",
            hint="fix the record at the tap, or the `stream_maps` expression (handle a null, or "
            "drop such records with `__filter__`); under `on_error: continue` the rest is sent "
            "and this one kept in `dead_letter_path`.",
        )
        run = self.run
        (sequence,) = run.admit()
        operation = self.settings.for_stream(stream).operation
        run.report_invalid(error, operation, iter([(sequence, t.cast("dict[str, t.Any]", record))]))

    @override
    def _process_record_message(self, message_dict: dict[str, t.Any]) -> None:
        # Each stream's completion (run/completion.py) hears of the record first: one that
        # follows an ACTIVATE_VERSION of another version ends the snapshot before it.
        stream, version = str(message_dict.get("stream")), message_dict.get("version")
        for stream_map in self._stream_maps(stream) or ():
            self.run.record_arrives(stream_map.stream_alias, version, source=stream)
        super()._process_record_message(message_dict)

    @override
    def _process_state_message(self, message_dict: dict[str, t.Any]) -> None:
        # The state goes out once the records before it are confirmed (run/checkpoints.py),
        # not when the SDK drains.
        self._assert_line_requires(message_dict, requires={"value"})
        self.run.completion.state(message_dict["value"])
        self.run.offer_state(message_dict["value"])
        if self.run.checkpoints.overdue():
            # Records held for a batch keep the state back: send them now, not at the end.
            self.drain_all()
            self.run.flush_held()

    @override
    def _process_batch_message(self, message_dict: dict[str, t.Any]) -> None:
        # Each record of a batch file takes the path of a RECORD message: stream maps,
        # validation, keys, one call per record, a sequence number for the checkpoints.
        self._assert_line_requires(message_dict, requires={"stream", "encoding", "manifest"})
        stream = message_dict["stream"]
        manifest, encoding_dict = message_dict["manifest"], message_dict["encoding"]
        if not isinstance(manifest, list) or not all(isinstance(f, str) for f in manifest):
            msg = (
                f"stream '{stream}': a BATCH message's `manifest` must be a list of file URLs, "
                f"got {type(manifest).__name__}. Fix the tap's batch output."
            )
            raise InvalidInputLine(msg)
        if not isinstance(encoding_dict, dict):
            msg = (
                f"stream '{stream}': a BATCH message's `encoding` must be an object such as "
                f'{{"format": "jsonl", "compression": "gzip"}}, got {type(encoding_dict).__name__}.'
            )
            raise InvalidInputLine(msg)
        encoding = BaseBatchFileEncoding.from_dict(encoding_dict)
        raw = self.config.get("batch_config")
        storage = BatchConfig.from_dict(raw).storage if raw else None
        for record in batch_records(stream, encoding, manifest, storage):
            message = {"type": "RECORD", "stream": stream, "record": record}
            self._input.record(message, self._process_record_message)

    @override
    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        stream = message_dict["stream"]
        if stream not in self.mapper.stream_maps:
            self.logger.info("ACTIVATE_VERSION for stream '%s' before its SCHEMA; ignored.", stream)
            return
        for stream_map in self.mapper.stream_maps[stream]:
            sink = self.get_sink(stream_map.stream_alias)
            if not sink.process_activate_version_messages:
                self.logger.info(
                    "ACTIVATE_VERSION for stream '%s' ignored: process_activate_version_messages "
                    "is false.",
                    stream_map.stream_alias,
                )
                continue
            sink.activate_version(message_dict["version"])

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()  # drain_all: partial batches go out
        # With no input at all the run starts here if a heartbeat must say the pipeline ran.
        if self._run is not None or self.settings.delivery.heartbeat_alert_source_config_id:
            run = self.run
            with run.signals.deferred():
                run.end_streams()
                run.finish()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover
        # First, at once and off this thread: the run must end within `request_timeout`,
        # however a server answers (`Run.interrupt`). Then the SDK drains (queued calls go out
        # if there is time) and exits 0, and `__exit__` waits for the calls and writes the
        # final state; if the signal came while the main thread held a lock of the run, that
        # waits until it has let go (see run/signals.py).
        def work() -> None:
            super(TargetIncidentIO, self)._handle_termination(signum, frame)

        if self._run is None:
            work()
        else:
            self._run.interrupt(signal.Signals(signum).name)
            self._run.signals.run_when_safe(work)

    # -- the command line ----------------------------------------------------------------------

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command line (with `--input`), plus `--check`."""
        command = super().get_singer_command()
        command.params.append(
            click.Option(
                ["--check"],
                is_flag=True,
                help="Check the configuration against incident.io (GET requests only, no data "
                "sent, nothing written), then exit: 0 only if every check passed.",
            )
        )
        return command

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        file_input: t.IO[str] | None = None,
        check: bool = False,
    ) -> None:
        """Run the target, or `--check` its configuration; a failure is one clear message, exit 1.

        The traceback is logged at DEBUG.
        """
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        raw = dict(config.config) if config is not None else {}
        target: TargetIncidentIO | None = None
        try:
            target = cls(
                config=raw,
                validate_config=True,
                parse_env_config=bool(config is not None and config.parse_env),
            )
            if check:
                sys.exit(run_check(target.settings, target.redact))
            with target:
                target.listen(file_input)
        except Exception as error:  # noqa: BLE001 - every failure ends in one message
            redact = target.redact if target is not None else Redactor(secret_values(raw))
            lines = [redact(line) for line in _messages(error)]
            if check and target is None:  # the settings a run would stop at
                sys.exit(report_unparsed(lines))
            for line in lines:
                cls.logger.error("%s", line)  # noqa: TRY400 - traceback only at DEBUG
            cls.logger.debug("%s", redact("".join(traceback.format_exception(error))))
            sys.exit(1)


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ConfigValidationError) and error.errors:
        return list(error.errors)
    text = str(error).strip()
    return [text or type(error).__name__]


def batch_records(
    stream: str,
    encoding: BaseBatchFileEncoding,
    files: list[str],
    storage: StorageTarget | None = None,
) -> Iterator[dict[str, t.Any]]:
    """The records of a BATCH message's files, one at a time (memory stays flat).

    `storage` (the SDK's `batch_config.storage`) is where the files are, as the SDK's own
    sinks read it; without it each file's URL says.
    """
    if encoding.format != BatchFileFormat.JSONL:
        msg = (
            f"stream '{stream}': BATCH files in {encoding.format!r} format are not supported. "
            'Fix: set the tap\'s batch_config encoding to {"format": "jsonl"} (gzip is fine).'
        )
        raise ValueError(msg)
    for url in files:
        head, tail = StorageTarget.split_url(url)
        where = storage or StorageTarget.from_url(head)
        with contextlib.ExitStack() as stack:
            try:
                lines: t.IO[bytes] = stack.enter_context(where.open(tail, mode="rb"))
            except FileNotFoundError as error:
                msg = (
                    f"stream '{stream}': the BATCH manifest names {url}, which does not exist "
                    f"({error.strerror or error}). Fix: keep the tap's batch files until the "
                    "target has read them, or point `batch_config.storage.root` where they are."
                )
                raise FileNotFoundError(msg) from error
            if encoding.compression == "gzip":
                lines = t.cast("t.IO[bytes]", stack.enter_context(gzip.open(lines)))
            for line in lines:
                if line.strip():
                    yield deserialize_json(line)


def _builtin_schema(target: type[Target]) -> dict[str, t.Any]:
    """The settings the SDK itself adds for the target's capabilities, minus ours."""
    schema: dict[str, t.Any] = {"properties": {}}
    target.append_builtin_config(schema)
    ours = known_names()
    return {"properties": {k: v for k, v in schema["properties"].items() if k not in ours}}


# Read-only; built once rather than three times for every config validated.
BUILTIN_SCHEMA = _builtin_schema(TargetIncidentIO)


if __name__ == "__main__":
    TargetIncidentIO.cli()
