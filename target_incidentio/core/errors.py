"""Errors that tell the user what to fix: they name the setting, stream, record and field."""

from __future__ import annotations

from singer_sdk.exceptions import ConfigValidationError


class SettingError(ConfigValidationError):
    """A setting is invalid; raised before any request is sent."""

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        self.setting = setting
        self.problem = problem
        self.fix = fix
        message = f"Setting `{setting}`: {problem}"
        if fix:
            message += f" Fix: {fix}"
        # The SDK's CLI logs `errors` one per line and exits 1.
        super().__init__(message, errors=[message])


class RecordError(ValueError):
    """A record cannot become a request; nothing is sent for it."""

    def __init__(
        self,
        *,
        stream: str,
        record_key: str,
        field: str | None,
        problem: str,
        hint: str = "",
    ) -> None:
        self.stream = stream
        self.record_key = record_key
        self.field = field
        self.problem = problem
        self.hint = hint
        where = f"stream '{stream}', record {record_key}"
        if field:
            where += f", field '{field}'"
        message = f"{where}: {problem}"
        if hint:
            message += f" Hint: {hint}"
        super().__init__(message)


class OutputFileError(RuntimeError):
    """A file the run writes records to cannot be opened or written (a full disk, say)."""

    def __init__(self, setting: str, path: object, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        super().__init__(
            f"Setting `{setting}`: cannot write {path}: {reason}. Fix: free space or point "
            f"`{setting}` at a writable place; the run stopped so that no record goes unrecorded."
        )


class DeliveryFailedError(RuntimeError):
    """A record failed for good and `on_error` says the run must stop."""


class RunStoppedError(RuntimeError):
    """SIGTERM or SIGINT stopped the run before the end of its input: it did not succeed."""
