"""The sandbox as a WSGI application: incident.io's behaviour plus knobs to break it.

Order of events for each request, mirroring where real failures happen:
latency -> body-size limit -> injected fault -> routing -> auth -> rate limit -> role
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

from incidentio_sandbox import views
from incidentio_sandbox.faults import Fault, FaultConfig, FaultInjector
from incidentio_sandbox.ratelimit import Decision, TokenBucket
from incidentio_sandbox.seed import AlertSource, HeartbeatSource, Seed
from incidentio_sandbox.store import InvalidError, NotFoundError, Store, now_rfc3339
from incidentio_sandbox.validation import deep_objects, error_item, request_errors

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
        "list_catalog_entries",
        "show_catalog_entry",
        "delete_catalog_entry",
        "list_catalog_types",
        "show_catalog_type",
        "list_alerts",
        "show_alert",
        "list_alert_sources",
        "show_alert_source",
        "heartbeat_ping",
        "identity",
        "list_custom_fields",
        "show_custom_field",
    },
)
# The role an API key needs per endpoint. The spec names scopes per operation, not roles;
# this maps them onto the roles /v1/identity reports. Keys have every role unless
# configured otherwise, so it bites only in tests that restrict a key on purpose.
REQUIRED_ROLES: Mapping[str, str] = {
    "list_incidents": "viewer",
    "show_incident": "viewer",
    "create_incident": "incident_creator",
    "edit_incident": "incident_editor",
    "create_incident_update": "incident_editor",
    "list_catalog_entries": "catalog_viewer",
    "show_catalog_entry": "catalog_viewer",
    "list_catalog_types": "catalog_viewer",
    "show_catalog_type": "catalog_viewer",
    "upsert_catalog_entry": "catalog_editor",
    "bulk_update_catalog_entries": "catalog_editor",
    "delete_catalog_entry": "catalog_editor",
    "list_alerts": "viewer",
    "show_alert": "viewer",
    "list_alert_sources": "viewer",
    "show_alert_source": "viewer",
    "list_custom_fields": "viewer",
    "show_custom_field": "viewer",
}
# Alert filters the sandbox evaluates, with their operators (the spec's descriptions);
# the spec's other filters answer 422 rather than being silently ignored.
ALERT_FILTERS: Mapping[str, frozenset[str]] = {
    "status": frozenset({"one_of", "not_in"}),
    "alert_source": frozenset({"one_of", "not_in"}),
    "deduplication_key": frozenset({"is"}),
}
DEFAULT_PAGE_SIZE = 25  # the spec's default for every list the sandbox pages
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

URL_MAP = Map(
    [
        Rule("/v2/alert_events/http/<config_id>", methods=["POST"], endpoint="alert_event"),
        Rule("/v2/alerts", methods=["GET"], endpoint="list_alerts"),
        Rule("/v2/alerts/<alert_id>", methods=["GET"], endpoint="show_alert"),
        Rule("/v2/alert_sources", methods=["GET"], endpoint="list_alert_sources"),
        Rule("/v2/alert_sources/<source_id>", methods=["GET"], endpoint="show_alert_source"),
        Rule("/v2/heartbeat/<config_id>/ping", methods=["GET", "POST"], endpoint="heartbeat_ping"),
        Rule("/v1/identity", methods=["GET"], endpoint="identity"),
        Rule("/v2/custom_fields", methods=["GET"], endpoint="list_custom_fields"),
        Rule("/v2/custom_fields/<field_id>", methods=["GET"], endpoint="show_custom_field"),
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
        Rule("/v3/catalog_entries/<entry_id>", methods=["GET"], endpoint="show_catalog_entry"),
        Rule("/v3/catalog_entries/<entry_id>", methods=["DELETE"], endpoint="delete_catalog_entry"),
        Rule("/v3/catalog_types", methods=["GET"], endpoint="list_catalog_types"),
        Rule("/v3/catalog_types/<type_id>", methods=["GET"], endpoint="show_catalog_type"),
        Rule("/_sandbox/echo", endpoint="echo", defaults={"rest": ""}),
        Rule("/_sandbox/echo/<path:rest>", endpoint="echo"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
CONTROL_PATHS = frozenset(
    {
        "/_sandbox/journal",
        "/_sandbox/state",
        "/_sandbox/reset",
        "/_sandbox/faults",
        "/_sandbox/seed",
    },
)


@dataclass
class SandboxConfig:
    """How the sandbox behaves; the CLI and ``Sandbox`` both build one of these."""

    api_keys: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: "api_key_name"})
    # HTTP alert sources, config id -> token (the alert source's id is its config id).
    alert_sources: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALERT_SOURCES))
    # Heartbeat alert sources, id -> token.
    heartbeat_sources: Mapping[str, str] = field(default_factory=dict)
    # Catalog types, other alert sources, custom fields, key roles, catalog reject lists.
    seed: Seed = field(default_factory=Seed)
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
    return error_item(code, message, field_name)


def _direct(environ: WSGIEnviron, action: Literal["reset", "close"]) -> None:
    """Ask the server to drop or close the connection once the app returns."""
    environ.setdefault(CONNECTION_DIRECTIVE, {})["action"] = action


def _directive(environ: WSGIEnviron) -> str | None:
    holder: dict[str, str] = environ.get(CONNECTION_DIRECTIVE, {})
    return holder.get("action")


def _page_size(request: Request) -> int:
    """The requested page size; validation has already held it to the spec's bounds."""
    text = request.args.get("page_size", "")
    return int(text) if text.isdigit() else DEFAULT_PAGE_SIZE


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
        base = Seed(
            alert_sources=tuple(
                AlertSource(id=i, token=token) for i, token in config.alert_sources.items()
            ),
            heartbeat_sources=tuple(
                HeartbeatSource(id=i, token=token) for i, token in config.heartbeat_sources.items()
            ),
        )
        self._initial_seed = base.merged(config.seed)
        self._check_seed(self._initial_seed)
        self.store = Store(self._initial_seed)
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
        """Back to a fresh start: state, journal, buckets, faults and seed as at start."""
        with self.store.lock:
            self.store.clear()
            self.store.seed = self._initial_seed
        with self._journal_lock:
            self._journal.clear()
            self._seq = 0
        with self._buckets_lock:
            self._buckets.clear()
        self.faults.configure(FaultConfig(**copy.deepcopy(self._initial_faults)))

    def _check_seed(self, seed: Seed) -> None:
        unknown = set(seed.api_key_roles) - set(self.config.api_keys)
        if unknown:
            msg = f"roles given for keys the sandbox does not accept: {sorted(unknown)}"
            raise ValueError(msg)

    def current_seed(self) -> Seed:
        """What the account holds now: the configured seed plus anything loaded since."""
        with self.store.lock:
            return self.store.seed

    def load_seed(self, seed: Seed) -> Seed:
        """Add ``seed``'s items to the account (same id or key: replaced); returns the whole."""
        self._check_seed(seed)
        with self.store.lock:
            self.store.seed = self.store.seed.merged(seed)
            return self.store.seed

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

    def _source(
        self, request_id: str, config_id: str, kind: type[AlertSource | HeartbeatSource]
    ) -> AlertSource | HeartbeatSource:
        """The source an event or ping names; 404 if there is none of that kind."""
        with self.store.lock:
            source = self.store.seed.source(config_id)
        usable = isinstance(source, kind) and (
            not isinstance(source, AlertSource) or source.accepts_http_events
        )
        if source is None or not usable:
            what = "heartbeat source" if kind is HeartbeatSource else "HTTP alert source config"
            message = f"No {what} with id {config_id!r}"
            raise _Answer(
                error_response(
                    404,
                    request_id,
                    [_error("not_found", message, "alert_source_config_id")],
                ),
            )
        return source

    def _authenticate(
        self, request: Request, request_id: str, endpoint: str, args: Mapping[str, str]
    ) -> tuple[JSONObject, dict[str, str]]:
        """Who is calling, and the rate-limit headers their answer must carry."""
        token = _bearer(request)
        if endpoint in {"alert_event", "heartbeat_ping"}:
            config_id = args["config_id"]
            kind = AlertSource if endpoint == "alert_event" else HeartbeatSource
            source = self._source(request_id, config_id, kind)
            token = token or request.args.get("token")
            self._check_token(request_id, token, valid=token == source.token)
            actor: JSONObject = {"alert": {"id": config_id, "title": "alert source"}}
            if endpoint == "heartbeat_ping":
                # incident.io documents no rate limit for pings.
                return actor, {}
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
        headers: dict[str, str] = {}
        if self.config.rate_limit:
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
        if token is not None and "api_key" in actor:
            self._check_role(request_id, endpoint, token, headers)
        return actor, headers

    def _check_role(
        self, request_id: str, endpoint: str, token: str, headers: Mapping[str, str]
    ) -> None:
        """403 when the key lacks the role the endpoint needs (see ``REQUIRED_ROLES``)."""
        role = REQUIRED_ROLES.get(endpoint)
        with self.store.lock:
            roles = self.store.seed.roles(token)
        if role is None or role in roles:
            return
        message = f"This API key does not have the {role!r} role needed here"
        raise _Answer(error_response(403, request_id, [_error("missing_role", message)], headers))

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
        if request.method == "POST" and endpoint != "heartbeat_ping":  # pings carry no body
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
        except InvalidError as invalid:
            items = [_error(code, message, where) for code, message, where in invalid.errors]
            raise _Answer(error_response(422, request_id, items, headers)) from None
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
        return 201, {"catalog_entry": views.catalog_entry(entry)}

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
        kind = self.store.catalog_type(type_id)
        page_size = _page_size(request)
        entries, total, after = self.store.list_catalog_entries(
            type_id, request.args.get("identifier"), request.args.get("after"), page_size
        )
        meta: JSONObject = {"page_size": page_size, "total_record_count": total}
        if after is not None:
            meta["after"] = after
        count = self.store.count_entries(type_id)
        return 200, {
            "catalog_entries": [views.catalog_entry(e) for e in entries],
            "catalog_type": views.catalog_type(kind, self.store.seed_stamp, count),
            "pagination_meta": meta,
        }

    def _ep_show_catalog_entry(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        entry = self.store.get_catalog_entry(args["entry_id"])
        kind = self.store.catalog_type(entry["catalog_type_id"])
        count = self.store.count_entries(kind.id)
        return 200, {
            "catalog_entry": views.catalog_entry(entry),
            "catalog_type": views.catalog_type(kind, self.store.seed_stamp, count),
        }

    def _ep_delete_catalog_entry(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        self.store.archive_catalog_entry(args["entry_id"])
        return 204, {}

    def _ep_list_catalog_types(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        stamp = self.store.seed_stamp
        return 200, {
            "catalog_types": [
                views.catalog_type(kind, stamp, self.store.count_entries(kind.id))
                for kind in self.store.catalog_types()
            ],
        }

    def _ep_show_catalog_type(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        kind = self.store.catalog_type(args["type_id"], field="id")
        count = self.store.count_entries(kind.id)
        return 200, {"catalog_type": views.catalog_type(kind, self.store.seed_stamp, count)}

    def _ep_list_alerts(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        filters = deep_objects(request.args)
        request_id = request.environ[REQUEST_ID_KEY]
        problems = [
            _error(
                "invalid_value",
                f"The sandbox does not evaluate the {name!r} filter"
                if name not in ALERT_FILTERS
                else f"{name} accepts the operators {sorted(ALERT_FILTERS[name])}",
                f"{name}[{operator}]",
            )
            for name, operators in filters.items()
            for operator in operators
            if operator not in ALERT_FILTERS.get(name, frozenset())
        ]
        if problems:
            raise _Answer(error_response(422, request_id, problems))

        def wanted(alert: JSONObject) -> bool:
            fields = {
                "status": alert["status"],
                "alert_source": alert["alert_source_config_id"],
                "deduplication_key": alert["deduplication_key"],
            }
            for name, operators in filters.items():
                for operator, values in operators.items():
                    inside = fields[name] in values
                    if inside == (operator == "not_in"):
                        return False
            return True

        page_size = _page_size(request)
        alerts, after = self.store.list_alerts(wanted, request.args.get("after"), page_size)
        meta: JSONObject = {"page_size": page_size}
        if after is not None:
            meta["after"] = after
        return 200, {"alerts": [views.alert(a) for a in alerts], "pagination_meta": meta}

    def _ep_show_alert(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        return 200, {"alert": views.alert(self.store.get_alert(args["alert_id"]))}

    def _ep_list_alert_sources(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        seed = self.store.seed
        base = request.host_url.rstrip("/")
        sources: list[AlertSource | HeartbeatSource] = [
            *seed.alert_sources,
            *seed.heartbeat_sources,
        ]
        return 200, {"alert_sources": [views.alert_source(s, base) for s in sources]}

    def _ep_show_alert_source(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        source = self.store.seed.source(args["source_id"])
        if source is None:
            message = f"No alert source found with id {args['source_id']!r}"
            raise NotFoundError(message, "id")
        base = request.host_url.rstrip("/")
        return 200, {"alert_source": views.alert_source(source, base)}

    def _ep_heartbeat_ping(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        self.store.record_heartbeat_ping(args["config_id"], request.method)
        return 204, {}

    def _ep_identity(
        self, _payload: JSONObject, _args: Mapping[str, str], actor: JSONObject, request: Request
    ) -> tuple[int, JSONObject]:
        token = _bearer(request) or ""
        roles = self.store.seed.roles(token)
        return 200, {"identity": views.identity(actor["api_key"]["name"], roles)}

    def _ep_list_custom_fields(
        self, _payload: JSONObject, _args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        stamp = self.store.seed_stamp
        fields = [views.custom_field(f, stamp) for f in self.store.seed.custom_fields]
        return 200, {"custom_fields": fields}

    def _ep_show_custom_field(
        self, _payload: JSONObject, args: Mapping[str, str], _actor: JSONObject, _r: Request
    ) -> tuple[int, JSONObject]:
        found = next((f for f in self.store.seed.custom_fields if f.id == args["field_id"]), None)
        if found is None:
            message = f"No custom field found with id {args['field_id']!r}"
            raise NotFoundError(message, "id")
        return 200, {"custom_field": views.custom_field(found, self.store.seed_stamp)}

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
            ("GET", "/_sandbox/seed"): lambda _r: json_response(200, self.current_seed().to_json()),
            ("POST", "/_sandbox/seed"): self._control_seed,
        }
        handler = handlers.get((request.method, request.path))
        if handler is None:
            message = f"No route for {request.method} {request.path}"
            return error_response(404, str(uuid.uuid4()), [_error("not_found", message)])
        return handler(request)

    def _control_seed(self, request: Request) -> Response:
        try:
            seed = self.load_seed(Seed.from_json(json.loads(request.get_data() or b"{}")))
        except (ValueError, TypeError) as problem:
            message = str(problem)
            return error_response(400, str(uuid.uuid4()), [_error("invalid_seed", message)])
        return json_response(200, seed.to_json())

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
