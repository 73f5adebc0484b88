"""The sandbox as a WSGI application: incident.io's behaviour plus knobs to break it.

Order of events for each request, mirroring where real failures happen:
latency -> body-size limit -> injected fault -> routing -> auth -> rate limit
-> JSON + OpenAPI validation -> the change itself -> after-the-fact faults.
"""

from __future__ import annotations

import collections
import copy
import email.utils
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from incidentio_sandbox.faults import Fault, FaultConfig, FaultInjector
from incidentio_sandbox.ratelimit import Decision, TokenBucket
from incidentio_sandbox.store import NotFoundError, Store, now_rfc3339
from incidentio_sandbox.validation import request_errors

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
JSONObject = dict[str, Any]

DEFAULT_API_KEY = "sandbox-api-key"
DEFAULT_ALERT_SOURCES: Mapping[str, str] = {"01SANDBOXALERTSOURCE000000": "sandbox-alert-token"}
# environ key holding a dict the server reads after the app returns; a dict, not a string,
# because WSGI helpers may copy the environ (shallowly).
CONNECTION_DIRECTIVE = "incidentio_sandbox.connection"
REQUEST_ID_KEY = "incidentio_sandbox.request_id"
TOO_MANY_MESSAGE = (
    "Too many requests hit the API too quickly. We recommend an exponential backoff of your "
    "requests."
)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "resource_forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
}
MALFORMED_BODY = b"<html><body><h1>upstream said something odd</h1>"
# Endpoints checked against the OpenAPI subset before they run.
VALIDATED = frozenset(
    {
        "alert_event",
        "create_incident",
        "edit_incident",
        "create_incident_update",
        "upsert_catalog_entry",
        "bulk_update_catalog_entries",
    },
)
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

URL_MAP = Map(
    [
        Rule("/v2/alert_events/http/<config_id>", methods=["POST"], endpoint="alert_event"),
        Rule("/v2/incidents", methods=["GET"], endpoint="list_incidents"),
        Rule("/v2/incidents", methods=["POST"], endpoint="create_incident"),
        Rule("/v2/incidents/<incident_id>", methods=["GET"], endpoint="show_incident"),
        Rule(
            "/v2/incidents/<incident_id>/actions/edit", methods=["POST"], endpoint="edit_incident"
        ),
        Rule("/v2/incident_updates", methods=["POST"], endpoint="create_incident_update"),
        Rule("/v3/catalog_entries", methods=["GET"], endpoint="list_catalog_entries"),
        Rule("/v3/catalog_entries", methods=["POST"], endpoint="upsert_catalog_entry"),
        Rule(
            "/v3/catalog_entries/actions/bulk_update",
            methods=["POST"],
            endpoint="bulk_update_catalog_entries",
        ),
        Rule("/_sandbox/echo", endpoint="echo", defaults={"rest": ""}),
        Rule("/_sandbox/echo/<path:rest>", endpoint="echo"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
CONTROL_PATHS = frozenset(
    {"/_sandbox/journal", "/_sandbox/state", "/_sandbox/reset", "/_sandbox/faults"},
)


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the CLI and ``Sandbox`` both build one of these."""

    api_keys: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: "api_key_name"})
    alert_sources: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALERT_SOURCES))
    rate_limit: bool = False
    bucket_capacity: float = 1200
    refill_per_second: float = 20
    alert_bucket_capacity: float = 120
    alert_refill_per_second: float = 2
    retry_after_header: bool = True
    retry_after_format: Literal["rfc3339", "http-date"] = "rfc3339"
    faults: FaultConfig = field(default_factory=FaultConfig)
    # Long benchmarks may cap the journal; the oldest entries go first.
    journal_max_entries: int | None = None


class _Answer(Exception):  # noqa: N818 - control flow, not a failure
    """Raised inside the pipeline to answer early (auth, 404, 422, 429)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, body: object, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer; 204 carries no body."""
    data = b"" if status == 204 else json.dumps(body).encode()  # noqa: PLR2004
    response = Response(data, status=status, headers=dict(headers or {}))
    if status != 204:  # noqa: PLR2004
        response.content_type = "application/json; charset=utf-8"
    return response


def error_response(
    status: int,
    request_id: str,
    errors: list[JSONObject],
    headers: Mapping[str, str] | None = None,
    extra: JSONObject | None = None,
) -> Response:
    """incident.io's error body: ``{type, status, request_id, errors: [...]}``."""
    body: JSONObject = {
        "type": ERROR_TYPES.get(status, "api_error"),
        "status": status,
        "request_id": request_id,
        **(extra or {}),
        "errors": errors,
    }
    return json_response(status, body, headers)


def _error(code: str, message: str, field_name: str | None = None) -> JSONObject:
    item: JSONObject = {"code": code, "message": message}
    if field_name is not None:
        item["source"] = {"field": field_name}
    return item


def _direct(environ: WSGIEnviron, action: Literal["reset", "close"]) -> None:
    """Ask the server to drop or close the connection once the app returns."""
    environ.setdefault(CONNECTION_DIRECTIVE, {})["action"] = action


def _directive(environ: WSGIEnviron) -> str | None:
    holder: dict[str, str] = environ.get(CONNECTION_DIRECTIVE, {})
    return holder.get("action")


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _redact_header(name: str, value: str) -> str:
    if name.lower() not in REDACTED_HEADERS:
        return value
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} ***" if sep else "***"


def _flat(pairs: Iterable[tuple[str, str]], redact: Callable[[str, str], str]) -> JSONObject:
    out: JSONObject = {}
    for name, value in pairs:
        shown = redact(name, value)
        out[name] = f"{out[name]}, {shown}" if name in out else shown
    return out


class SandboxApp:
    """WSGI app holding all sandbox state; safe to call from many threads."""

    def __init__(self, config: SandboxConfig) -> None:
        if not config.api_keys:
            msg = "the sandbox needs at least one API key"
            raise ValueError(msg)
        self.config = config
        self.store = Store()
        self.stopping = threading.Event()
        self._initial_faults = config.faults.to_json()
        self.faults = FaultInjector(FaultConfig(**copy.deepcopy(self._initial_faults)))
        self._journal: collections.deque[JSONObject] = collections.deque(
            maxlen=config.journal_max_entries,
        )
        self._seq = 0
        self._journal_lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self._buckets_lock = threading.Lock()
        self._key_ids = {key: f"01SANDBOXAPIKEY{i:011d}" for i, key in enumerate(config.api_keys)}

    # -- public helpers used by Sandbox and control endpoints -----------------

    def journal(self, since: int = 0, path: str | None = None) -> list[JSONObject]:
        """Copies of journal entries after sequence number ``since``, optionally for one path."""
        with self._journal_lock:
            chosen = [
                e for e in self._journal if e["seq"] > since and (path is None or e["path"] == path)
            ]
            return copy.deepcopy(chosen)

    def reset(self) -> None:
        """Back to a fresh start: state, journal, buckets and faults as configured at start."""
        with self.store.lock:
            self.store.clear()
        with self._journal_lock:
            self._journal.clear()
            self._seq = 0
        with self._buckets_lock:
            self._buckets.clear()
        self.faults.configure(FaultConfig(**copy.deepcopy(self._initial_faults)))

    def set_faults(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Replace the named fault settings, keeping the rest."""
        config = self.faults.config.updated(dict(changes))
        self.faults.configure(config)
        return config

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        """Control endpoints bypass the journal and faults; everything else goes through both."""
        request = Request(environ)
        if request.path in CONTROL_PATHS:
            response = self._control(request)
        else:
            response = self._traced(request, environ)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _traced(self, request: Request, environ: WSGIEnviron) -> Response:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        environ[REQUEST_ID_KEY] = request_id
        body = request.get_data(cache=True)
        entry = self._open_entry(request, request_id, body)
        outcome: JSONObject = {"applied": False, "fault": None}
        try:
            response = self._pipeline(
                request,
                environ=environ,
                request_id=request_id,
                body=body,
                entry=entry,
                outcome=outcome,
            )
        except Exception:
            with self._journal_lock:
                entry.update(outcome, status=500, outcome="crashed")
            raise
        dropped = _directive(environ) == "reset"
        with self._journal_lock:
            entry.update(
                outcome,
                status=None if dropped else response.status_code,
                outcome="dropped" if dropped else "answered",
                duration_ms=round((time.monotonic() - started) * 1000, 3),
            )
        return response

    def _open_entry(self, request: Request, request_id: str, body: bytes) -> JSONObject:
        parsed: object = None
        text: str | None = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                text = body.decode("utf-8", errors="replace")
        entry: JSONObject = {
            "seq": 0,
            "request_id": request_id,
            "received_at": now_rfc3339(),
            "client_port": int(request.environ.get("REMOTE_PORT") or 0),
            "method": request.method,
            "path": request.path,
            "query": _flat(
                request.args.items(multi=True),
                lambda name, value: "***" if name == "token" else value,
            ),
            "headers": _flat(request.headers.items(), _redact_header),
            "body": parsed,
            "body_text": text,
            "endpoint": None,
            "status": None,
            "applied": False,
            "fault": None,
            "outcome": "pending",
            "duration_ms": None,
        }
        with self._journal_lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._journal.append(entry)
        return entry

    # -- the pipeline ------------------------------------------------------------

    def _pipeline(  # noqa: PLR0913 - one request's whole context
        self,
        request: Request,
        *,
        environ: WSGIEnviron,
        request_id: str,
        body: bytes,
        entry: JSONObject,
        outcome: JSONObject,
    ) -> Response:
        faults = self.faults.config
        if faults.latency_ms > 0:
            self.stopping.wait(faults.latency_ms / 1000)
        if faults.max_body_bytes is not None and len(body) > faults.max_body_bytes:
            message = f"Request body of {len(body)} bytes exceeds {faults.max_body_bytes} bytes"
            return error_response(413, request_id, [_error("payload_too_large", message)])

        fault = self.faults.pick(request.method, request.path)
        if fault is not None:
            outcome["fault"] = fault.name
            early = self._fault_before(fault, environ, request_id)
            if early is not None:
                return early
            if fault.kind == "slow":
                self.stopping.wait(faults.slow_seconds)

        try:
            response = self._handle(request, request_id, entry)
            outcome["applied"] = True
        except _Answer as answer:
            response = answer.response

        if fault is not None:
            response = self._fault_after(fault, environ, request_id, response)
        return response

    def _fault_before(self, fault: Fault, environ: WSGIEnviron, request_id: str) -> Response | None:
        """Faults that strike before the request does anything."""
        if fault.kind == "reset":
            _direct(environ, "reset")
            return Response(b"", status=500)
        if fault.kind == "malformed" and not fault.applies_request:
            return Response(MALFORMED_BODY, status=fault.status, content_type="text/html")
        if fault.kind != "status" or fault.status is None:
            return None
        if fault.status == 429:  # noqa: PLR2004
            return self._too_many(
                request_id,
                "api_key_name",
                int(self.config.bucket_capacity),
                0,
                1.0,
                retry_after_header=fault.retry_after_header,
            )
        message = f"Injected fault {fault.name}"
        return error_response(fault.status, request_id, [_error("injected_fault", message)])

    def _fault_after(
        self, fault: Fault, environ: WSGIEnviron, request_id: str, response: Response
    ) -> Response:
        """Faults that strike once the work is done."""
        if fault.kind == "close":
            _direct(environ, "close")
        elif fault.kind == "malformed":
            return Response(MALFORMED_BODY, status=fault.status, content_type="text/html")
        elif fault.kind == "apply_then":
            if fault.then_reset or fault.status is None:
                _direct(environ, "reset")
            else:
                message = f"Injected fault {fault.name} (the request was applied)"
                return error_response(fault.status, request_id, [_error("injected_fault", message)])
        return response

    def _too_many(  # noqa: PLR0913 - every part of the 429 is a parameter
        self,
        request_id: str,
        name: str,
        limit: int,
        remaining: int,
        retry_after: float,
        *,
        retry_after_header: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        wait = max(1, math.ceil(retry_after))
        when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=wait)
        if self.config.retry_after_format == "http-date":
            stamp = email.utils.format_datetime(when, usegmt=True)
        else:
            stamp = when.isoformat().replace("+00:00", "Z")
        out = dict(headers or {})
        if retry_after_header and self.config.retry_after_header:
            out["Retry-After"] = str(wait)
        rate_limit = {"name": name, "limit": limit, "remaining": remaining, "retry_after": stamp}
        return error_response(
            429,
            request_id,
            [_error("too_many_requests", TOO_MANY_MESSAGE)],
            headers=out,
            extra={"rate_limit": rate_limit},
        )

    def _bucket(self, name: str, capacity: float, refill: float) -> TokenBucket:
        with self._buckets_lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = TokenBucket(capacity, refill)
            return bucket

    def _authenticate(
        self, request: Request, request_id: str, endpoint: str, args: Mapping[str, str]
    ) -> tuple[JSONObject, dict[str, str]]:
        """Who is calling, and the rate-limit headers their answer must carry."""
        token = _bearer(request)
        if endpoint == "alert_event":
            config_id = args["config_id"]
            expected = self.config.alert_sources.get(config_id)
            if expected is None:
                message = f"No alert source config with id {config_id!r}"
                raise _Answer(
                    error_response(
                        404,
                        request_id,
                        [_error("not_found", message, "alert_source_config_id")],
                    ),
                )
            token = token or request.args.get("token")
            self._check_token(request_id, token, valid=token == expected)
            actor: JSONObject = {"alert": {"id": config_id, "title": "alert source"}}
            bucket_name = f"alert_source:{config_id}"
            capacity = self.config.alert_bucket_capacity
            refill = self.config.alert_refill_per_second
            limit_name = f"alert_source_{config_id}"
        else:
            self._check_token(request_id, token, valid=token in self.config.api_keys)
            assert token is not None  # noqa: S101 - _check_token guarantees it
            name = self.config.api_keys[token]
            actor = {"api_key": {"id": self._key_ids[token], "name": name}}
            bucket_name = f"api_key:{token}"
            capacity = self.config.bucket_capacity
            refill = self.config.refill_per_second
            limit_name = name
        if not self.config.rate_limit:
            return actor, {}
        decision: Decision = self._bucket(bucket_name, capacity, refill).take()
        headers = decision.headers()
        if not decision.allowed:
            raise _Answer(
                self._too_many(
                    request_id,
                    limit_name,
                    decision.limit,
                    decision.remaining,
                    decision.retry_after,
                    headers=headers,
                ),
            )
        return actor, headers

    @staticmethod
    def _check_token(request_id: str, token: str | None, *, valid: bool) -> None:
        if token is None:
            item = _error(
                "missing_authorization_material",
                "No authorization material provided in request",
            )
        elif not valid:
            item = _error("invalid_authorization_material", "The API key provided is not valid")
        else:
            return
        raise _Answer(error_response(401, request_id, [item]))

    def _handle(self, request: Request, request_id: str, entry: JSONObject) -> Response:
        """Route, authenticate, validate and run; raises ``_Answer`` for every refusal."""
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException:
            message = f"No route for {request.method} {request.path}"
            raise _Answer(
                error_response(404, request_id, [_error("not_found", message)]),
            ) from None
        with self._journal_lock:
            entry["endpoint"] = endpoint
        if endpoint == "echo":
            return self._echo(request, request_id, args["rest"])

        actor, headers = self._authenticate(request, request_id, endpoint, args)
        payload: JSONObject = {}
        if request.method == "POST":
            try:
                payload = json.loads(request.get_data(cache=True) or b"null")
            except ValueError:
                raise _Answer(
                    error_response(
                        400,
                        request_id,
                        [_error("invalid_json", "Request body is not valid JSON", "body")],
                        headers,
                    ),
                ) from None
        if endpoint in VALIDATED:
            errors = request_errors(request)
            if errors:
                raise _Answer(error_response(422, request_id, errors, headers))

        handler = getattr(self, f"_ep_{endpoint}")
        try:
            with self.store.lock:
                status, body = handler(payload, args, actor, request)
                body = copy.deepcopy(body)
        except NotFoundError as missing:
            raise _Answer(
                error_response(
                    404,
                    request_id,
                    [_error("not_found", str(missing), missing.field)],
                    headers,
                ),
            ) from None
        return json_response(status, body, headers)

    # -- endpoints (called with the store lock held) -----------------------------

    def _ep_alert_event(
        self, payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        alert = self.store.record_alert_event(args["config_id"], payload)
        return 202, {
            "deduplication_key": alert["deduplication_key"],
            "message": "Event accepted for processing",
            "status": "success",
        }

    def _ep_create_incident(
        self, payload: JSONObject, _args: Mapping[str, str], actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        incident, _created = self.store.create_incident(payload, actor)
        return 200, {"incident": incident}

    def _ep_edit_incident(
        self, payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        incident = self.store.edit_incident(args["incident_id"], payload["incident"])
        return 200, {"incident": incident}

    def _ep_show_incident(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        return 200, {"incident": self.store.get_incident(args["incident_id"])}

    def _ep_list_incidents(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        incidents = list(self.store.incidents.values())
        meta = {"page_size": len(incidents), "total_record_count": len(incidents)}
        return 200, {"incidents": incidents, "pagination_meta": meta}

    def _ep_create_incident_update(
        self, payload: JSONObject, _args: Mapping[str, str], actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        update, _created = self.store.create_incident_update(payload, actor)
        return 201, {"incident_update": update}

    def _ep_upsert_catalog_entry(
        self, payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        entry, _created = self.store.upsert_catalog_entry(payload)
        return 201, {"catalog_entry": entry}

    def _ep_bulk_update_catalog_entries(
        self, payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        self.store.bulk_update_catalog_entries(payload)
        return 204, {}

    def _ep_list_catalog_entries(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        type_id = request.args.get("catalog_type_id")
        if not type_id:
            message = "catalog_type_id is required"
            raise _Answer(
                error_response(
                    422,
                    request.environ[REQUEST_ID_KEY],
                    [_error("is_required", message, "catalog_type_id")],
                ),
            )
        identifier = request.args.get("identifier")
        entries = [
            e
            for e in self.store.catalog_entries.values()
            if e["catalog_type_id"] == type_id
            and (
                identifier is None
                or identifier in (e["id"], e.get("external_id"))
                or identifier in e["aliases"]
            )
        ]
        stamp = now_rfc3339()
        catalog_type = {
            "id": type_id,
            "name": type_id,
            "description": "",
            "created_at": stamp,
            "updated_at": stamp,
        }
        meta = {"page_size": len(entries), "total_record_count": len(entries)}
        return 200, {
            "catalog_entries": entries,
            "catalog_type": catalog_type,
            "pagination_meta": meta,
        }

    def _echo(self, request: Request, request_id: str, rest: str) -> Response:
        """Answer anything with a description of what arrived; ``?_status=`` picks the code."""
        body = request.get_data(cache=True)
        try:
            parsed: object = json.loads(body) if body else None
            text = None
        except ValueError:
            parsed, text = None, body.decode("utf-8", errors="replace")
        status_arg = request.args.get("_status", "200")
        status = int(status_arg) if status_arg.isdigit() else 200
        return json_response(
            status,
            {
                "request_id": request_id,
                "method": request.method,
                "path": "/" + rest,
                "query": _flat(request.args.items(multi=True), lambda _n, v: v),
                "headers": _flat(request.headers.items(), _redact_header),
                "json": parsed,
                "body_text": text,
            },
        )

    # -- control endpoints ---------------------------------------------------------

    def _control(self, request: Request) -> Response:
        """Introspection and knobs; not journaled, not authenticated, never faulted."""
        handlers: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/_sandbox/journal"): self._control_journal,
            ("GET", "/_sandbox/state"): lambda _r: json_response(200, self.store.snapshot()),
            ("POST", "/_sandbox/reset"): self._control_reset,
            ("GET", "/_sandbox/faults"): lambda _r: json_response(
                200, self.faults.config.to_json()
            ),
            ("DELETE", "/_sandbox/faults"): self._control_clear_faults,
            ("POST", "/_sandbox/faults"): self._control_set_faults,
        }
        handler = handlers.get((request.method, request.path))
        if handler is None:
            message = f"No route for {request.method} {request.path}"
            return error_response(404, str(uuid.uuid4()), [_error("not_found", message)])
        return handler(request)

    def _control_journal(self, request: Request) -> Response:
        since = request.args.get("since", "0")
        entries = self.journal(
            since=int(since) if since.isdigit() else 0,
            path=request.args.get("path"),
        )
        return json_response(200, {"entries": entries})

    def _control_reset(self, _request: Request) -> Response:
        self.reset()
        return json_response(200, {"status": "reset"})

    def _control_clear_faults(self, _request: Request) -> Response:
        self.faults.configure(FaultConfig())
        return json_response(200, self.faults.config.to_json())

    def _control_set_faults(self, request: Request) -> Response:
        try:
            changes = json.loads(request.get_data() or b"{}")
            if not isinstance(changes, dict):
                msg = "expected a JSON object"
                raise TypeError(msg)  # noqa: TRY301 - one answer for every bad input
            config = self.set_faults(changes)
        except (ValueError, TypeError) as problem:
            message = str(problem)
            return error_response(400, str(uuid.uuid4()), [_error("invalid_fault_config", message)])
        return json_response(200, config.to_json())
