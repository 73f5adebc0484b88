"""The response stream: one record per API call, written as JSON lines or Singer messages.

Response records are the user's audit trail (and the Nexla "response webhook" payload),
so they carry everything needed to tell what happened to each record, and no secret. Every
field has a JSON-schema type and `call_id` is the stream's key, so that a SQL target (which
drops an untyped column and upserts by key) loads the Singer form whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import typing as t
import uuid
from datetime import datetime, timezone
from pathlib import Path

from target_incidentio.core.errors import OutputFileError
from target_incidentio.core.secrets import mask

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from target_incidentio.core.errors import RecordError
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest

RESPONSE_STREAM = "incidentio_responses"
RESPONSE_KEY = "call_id"
# The fields a sync's call fills (`ApiRequest.outcome`); null in every other record.
NO_OUTCOME: dict[str, t.Any] = dict.fromkeys(
    ("action", "incident_id", "incident_reference", "fields_changed")
)

_STRING = {"type": ["string", "null"]}
_INTEGER = {"type": ["integer", "null"]}
RESPONSE_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        # Unique per response record: the stream's key property.
        RESPONSE_KEY: {"type": "string"},
        "stream": {"type": "string"},
        "operation": {"type": "string"},
        # Null for a record that never became a call (status `invalid`).
        "method": _STRING,
        "url": _STRING,
        "status": {"type": "string"},
        "status_code": _INTEGER,
        "ok": {"type": "boolean"},
        "attempts": {"type": "integer"},
        "throttled": {"type": "integer"},
        "duration_ms": {"type": "number"},
        "record_count": {"type": "integer"},
        "record_keys": {"type": "array", "items": {"type": "string"}},
        # A call carrying no record: `look-up` (a GET), or which write of the target's own
        # (`create catalog type`, `update catalog type schema`, `create custom field option`).
        "purpose": _STRING,
        "resource_id": _STRING,
        "reference": _STRING,
        # The JSON object incident.io answered with; null when there was no answer or it was
        # anything else (then see `response_text`).
        "response": {"type": ["object", "null"]},
        # Any other answer as text: not JSON, a JSON array or scalar, or a body that was too
        # long or held a secret (then cut, secrets masked).
        "response_text": _STRING,
        "error": {
            "type": ["object", "null"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "request_id": _STRING,
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"code": _STRING, "message": _STRING, "field": _STRING},
                    },
                },
            },
        },
        "sent_at": {"type": "string", "format": "date-time"},
        # The names the call's record gave and the ids sent for them (`severity` 'Critical').
        "resolved": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": _STRING, "name": _STRING, "id": _STRING},
            },
        },
        # What a sync did: `incident_mode: sync`, to the record's incident (`created`,
        # `edited`, `unchanged`: no call, `closed`: its row left the snapshot), and the fields
        # changed; `schedule_override`, to an override (`created`, `unchanged`: no call,
        # `deleted`: no row asks for it), whose id is `resource_id`.
        "action": _STRING,
        "incident_id": _STRING,
        "incident_reference": _STRING,
        "fields_changed": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}


def _resource(
    body: t.Any,  # noqa: ANN401 - any JSON value
    wrappers: Sequence[str],
) -> tuple[str | None, str | None]:
    """The id (and incident reference) of what the call created or changed."""
    if not isinstance(body, dict):
        return None, None
    for wrapper in wrappers:
        inner = body.get(wrapper)
        if isinstance(inner, dict) and inner.get("id"):
            reference = inner.get("reference")
            return str(inner["id"]), str(reference) if reference else None
    dedup = body.get("deduplication_key")
    return (str(dedup) if dedup else None), None


def _answer(body: t.Any) -> tuple[dict[str, t.Any] | None, str | None]:  # noqa: ANN401 - any JSON
    """The body as `response` (a JSON object) or as `response_text` (anything else)."""
    if body is None or isinstance(body, dict):
        return body, None
    if isinstance(body, str):
        return None, body
    return None, json.dumps(body, ensure_ascii=False, default=str)


def _finish(record: dict[str, t.Any], redact: Callable[[str], str]) -> dict[str, t.Any]:
    # A fresh id per response record, then every string inside it is scrubbed (the values,
    # not the serialised text, so that no mask can break the record).
    record = {RESPONSE_KEY: uuid.uuid4().hex, **record}
    return t.cast("dict[str, t.Any]", mask(record, redact))


def _purpose(request: ApiRequest) -> str | None:
    """What a call carrying no record was for; None for a record's call."""
    if request.purpose:
        return request.purpose
    return "look-up" if request.method == "GET" and not request.records else None


def response_record(
    result: DeliveryResult, *, redact: Callable[[str], str], status: str | None = None
) -> dict[str, t.Any]:
    """The response record of one call; every string passes through `redact`.

    `status` overrides the result's (`split`: a bulk call refused as a whole and re-sent in
    halves, whose records get their outcome from those halves).
    """
    request = result.request
    resource_id, reference = _resource(result.response_body, request.answer_keys)
    error = None
    if result.error is not None:
        error = {
            "type": result.error.type,
            "message": result.error.message,
            "request_id": result.error.request_id,
            "errors": [
                {"code": d.code, "message": d.message, "field": d.field}
                for d in result.error.details
            ],
        }
    response, response_text = _answer(result.response_body)
    record = {
        "stream": request.stream,
        "operation": request.operation,
        "method": request.method,
        "url": request.url,
        "status": status or result.status,
        "status_code": result.status_code,
        "ok": result.ok,
        "attempts": result.attempts,
        "throttled": result.throttled,
        "duration_ms": round(result.duration_ms, 1),
        "record_count": request.record_count,
        "record_keys": list(request.record_keys),
        "purpose": _purpose(request),
        "resource_id": resource_id or _acted_on(request),
        "reference": reference,
        "response": response,  # delivery already cut it to a bounded size
        "response_text": response_text,
        "error": error,
        "sent_at": result.sent_at.isoformat(),
        "resolved": [
            {"field": found.field, "name": found.name, "id": found.id} for found in request.resolved
        ],
        **_outcome(request, resource_id, reference),
    }
    return _finish(record, redact)


def _outcome(
    request: ApiRequest, resource_id: str | None = None, reference: str | None = None
) -> dict[str, t.Any]:
    """A sync's action fields, null for other calls so every record has the schema's columns.

    A create's incident id and reference come from its answer.
    """
    if request.outcome is None:
        return dict(NO_OUTCOME)
    found = {**NO_OUTCOME, **{k: v for k, v in request.outcome.items() if k in NO_OUTCOME}}
    if found.get("action") == "created" and "incident_id" in request.outcome:
        found["incident_id"] = found.get("incident_id") or resource_id
        found["incident_reference"] = found.get("incident_reference") or reference
    return found


def _acted_on(request: ApiRequest) -> str | None:
    """The id a sync's outcome names for what it acted on, when no answer names it.

    A `DELETE` answers nothing, and a row that needed no call has no answer: the outcome's
    `resource_id` (a schedule override's id) says which one.
    """
    found = (request.outcome or {}).get("resource_id")
    return found if isinstance(found, str) else None


def skipped_record(
    request: ApiRequest, reason: str, *, redact: Callable[[str], str]
) -> dict[str, t.Any]:
    """The response record of a sync's record that needed no call: it says so, and why."""
    record = {
        "stream": request.stream,
        "operation": request.operation,
        "method": None,
        "url": None,
        "status": "unchanged",
        "status_code": None,
        "ok": True,
        "attempts": 0,
        "throttled": 0,
        "duration_ms": 0.0,
        "record_count": request.record_count,
        "record_keys": list(request.record_keys),
        "purpose": None,
        "resource_id": _acted_on(request) or (request.outcome or {}).get("incident_id"),
        "reference": (request.outcome or {}).get("incident_reference"),
        "response": None,
        "response_text": reason,
        "error": None,
        "sent_at": datetime.now(timezone.utc).isoformat(),
        "resolved": [],
        **_outcome(request),
    }
    return _finish(record, redact)


def invalid_record(
    error: RecordError, *, operation: str, redact: Callable[[str], str]
) -> dict[str, t.Any]:
    """The response record of a record that never became a call (nothing was sent)."""
    record = {
        "stream": error.stream,
        "operation": operation,
        "method": None,
        "url": None,
        "status": "invalid",
        "status_code": None,
        "ok": False,
        "attempts": 0,
        "throttled": 0,
        "duration_ms": 0.0,
        "record_count": 1,
        "record_keys": [error.record_key],
        "purpose": None,
        **NO_OUTCOME,
        "resource_id": None,
        "reference": None,
        "response": None,
        "response_text": None,
        "error": {
            "type": "invalid_record",
            "message": str(error),
            "request_id": None,
            "errors": [{"code": "invalid_record", "message": error.problem, "field": error.field}],
        },
        "sent_at": datetime.now(timezone.utc).isoformat(),
        "resolved": [],
    }
    return _finish(record, redact)


# Files holding records are the user's alone: new files 0600, new folders 0700. A file that
# already exists keeps its mode (the user chose it).
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def _private_folders(folder: Path) -> None:
    """Create `folder` and any missing parent, each 0700 (`mkdir(parents=True)` would not)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=FOLDER_MODE, exist_ok=True)


class JsonLinesFile:
    """Append-only JSON lines, flushed per line so a crash loses nothing already written.

    A failure to open or write raises `OutputFileError` naming `setting` and the path.
    """

    def __init__(self, path: str | Path, setting: str, redact: Callable[[str], str] = str) -> None:
        self.path = Path(path)
        self.setting = setting
        self._redact = redact
        try:
            _private_folders(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            # Text that is not Unicode (a record's lone surrogate) is kept as its JSON escape.
            self._file = os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
        except OSError as error:
            raise OutputFileError(setting, self.path, error) from None
        self._lock = threading.Lock()

    def write(self, message: dict[str, t.Any]) -> None:
        """Append one line; safe to call from delivery threads."""
        line = json.dumps(mask(message, self._redact), default=str, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self._file.write(line)
                self._file.flush()
            except OSError as error:
                raise OutputFileError(self.setting, self.path, error) from None

    def close(self) -> None:
        """Close the file."""
        with self._lock, contextlib.suppress(OSError):  # a full disk was already reported
            self._file.close()


class ResponseLog:
    """Response records to a file, as JSON lines or as a Singer stream another target can load."""

    def __init__(self, path: str | Path, fmt: str) -> None:
        self._file = JsonLinesFile(path, "response_log_path")
        self._singer = fmt == "singer"
        if self._singer:
            self._file.write(
                {
                    "type": "SCHEMA",
                    "stream": RESPONSE_STREAM,
                    "schema": RESPONSE_SCHEMA,
                    "key_properties": [RESPONSE_KEY],
                }
            )

    def write(self, record: dict[str, t.Any]) -> None:
        """Append one response record."""
        if self._singer:
            self._file.write({"type": "RECORD", "stream": RESPONSE_STREAM, "record": record})
        else:
            self._file.write(record)

    def close(self) -> None:
        """Close the file."""
        self._file.close()
