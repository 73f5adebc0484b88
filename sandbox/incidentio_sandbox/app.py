"""The sandbox as a WSGI application: incident.io's behaviour plus knobs to break it.

Order of events for each request, mirroring where real failures happen:
latency -> body-size limit -> injected fault -> routing -> auth -> rate limit -> role
-> JSON + OpenAPI validation -> the change itself -> after-the-fact faults.
Routing comes from `endpoints.py`, auth, rate limits and roles from `gate.py`, the change
from the endpoint's handler (`handlers/`); `/_sandbox/` routes are `control.py`'s.
"""

from __future__ import annotations

import collections
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from incidentio_sandbox import control
from incidentio_sandbox.endpoints import URL_MAP
from incidentio_sandbox.exchange import (
    Answer,
    Call,
    JSONObject,
    error_item,
    error_response,
    json_response,
)
from incidentio_sandbox.faults import Fault, FaultConfig, FaultInjector
from incidentio_sandbox.gate import Gate
from incidentio_sandbox.seed import Seed
from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource
from incidentio_sandbox.store import Store
from incidentio_sandbox.store.common import InvalidError, NotFoundError, now_rfc3339
from incidentio_sandbox.validation import request_errors

if TYPE_CHECKING:
    from incidentio_sandbox.config import SandboxConfig
    from incidentio_sandbox.seed.incidents import DashboardIncident

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]

# environ key holding a dict the server reads after the app returns; a dict, not a string,
# because WSGI helpers may copy the environ (shallowly).
CONNECTION_DIRECTIVE = "incidentio_sandbox.connection"
MALFORMED_BODY = b"<html><body><h1>upstream said something odd</h1>"
ECHO_PATH = "/_sandbox/echo"  # answers anything with what arrived; journaled, faultable
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _direct(environ: WSGIEnviron, action: Literal["reset", "close"]) -> None:
    """Ask the server to drop or close the connection once the app returns."""
    environ.setdefault(CONNECTION_DIRECTIVE, {})["action"] = action


def _directive(environ: WSGIEnviron) -> str | None:
    holder: dict[str, str] = environ.get(CONNECTION_DIRECTIVE, {})
    return holder.get("action")


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
        self.gate = Gate(config, self.store)

    # -- public helpers used by Sandbox and control endpoints -----------------

    def journal(self, since: int = 0, path: str | None = None) -> list[JSONObject]:
        """Copies of journal entries after sequence number ``since``, optionally for one path."""
        with self._journal_lock:
            chosen = [
                e for e in self._journal if e["seq"] > since and (path is None or e["path"] == path)
            ]
            return copy.deepcopy(chosen)

    def state(self) -> JSONObject:
        """A copy of everything the store holds (``GET /_sandbox/state``)."""
        return self.store.snapshot()

    def reset(self) -> None:
        """Back to a fresh start: state, journal, buckets, faults and seed as at start."""
        with self.store.lock:
            self.store.seed = self._initial_seed
            self.store.clear()
        with self._journal_lock:
            self._journal.clear()
            self._seq = 0
        self.gate.reset()
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
            self.store.put_seeded(seed)
            return self.store.seed

    def add_incident(self, made: DashboardIncident) -> JSONObject:
        """Put in an incident made in the dashboard (no idempotency key); its ``IncidentV2``."""
        with self.store.lock:
            return copy.deepcopy(self.store.incidents.put_dashboard(made))

    def set_faults(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Replace the named fault settings, keeping the rest."""
        config = self.faults.config.updated(dict(changes))
        self.faults.configure(config)
        return config

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        """Control endpoints bypass the journal and faults; everything else goes through both."""
        request = Request(environ)
        if request.path in control.CONTROL_PATHS:
            response = control.answer(self, request)
        else:
            response = self._traced(request, environ)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _traced(self, request: Request, environ: WSGIEnviron) -> Response:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
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
            return error_response(413, request_id, [error_item("payload_too_large", message)])

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
        except Answer as answer:
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
            return self.gate.too_many(
                request_id,
                "api_key_name",
                int(self.config.bucket_capacity),
                0,
                1.0,
                retry_after_header=fault.retry_after_header,
            )
        message = f"Injected fault {fault.name}"
        return error_response(fault.status, request_id, [error_item("injected_fault", message)])

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
                return error_response(
                    fault.status, request_id, [error_item("injected_fault", message)]
                )
        return response

    def _handle(self, request: Request, request_id: str, entry: JSONObject) -> Response:
        """Route, authenticate, validate and run; raises ``Answer`` for every refusal."""
        if request.path == ECHO_PATH or request.path.startswith(f"{ECHO_PATH}/"):
            with self._journal_lock:
                entry["endpoint"] = "echo"
            return self._echo(request, request_id, request.path.removeprefix(ECHO_PATH))
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException:
            message = f"No route for {request.method} {request.path}"
            raise Answer(
                error_response(404, request_id, [error_item("not_found", message)]),
            ) from None
        with self._journal_lock:
            entry["endpoint"] = endpoint.name

        actor, headers = self.gate.admit(request, request_id, endpoint, args)
        payload: JSONObject = {}
        if endpoint.takes_body:
            try:
                payload = json.loads(request.get_data(cache=True) or b"null")
            except ValueError:
                raise Answer(
                    error_response(
                        400,
                        request_id,
                        [error_item("invalid_json", "Request body is not valid JSON", "body")],
                        headers,
                    ),
                ) from None
        errors = request_errors(request)
        if errors:
            raise Answer(error_response(422, request_id, errors, headers))

        try:
            with self.store.lock:
                status, body = endpoint.handler(Call(self.store, payload, args, actor, request))
                body = copy.deepcopy(body)
        except NotFoundError as missing:
            raise Answer(
                error_response(
                    404,
                    request_id,
                    [error_item("not_found", str(missing), missing.field)],
                    headers,
                ),
            ) from None
        except InvalidError as invalid:
            items = [error_item(code, message, where) for code, message, where in invalid.errors]
            raise Answer(error_response(422, request_id, items, headers)) from None
        return json_response(status, body, headers)

    @staticmethod
    def _echo(request: Request, request_id: str, rest: str) -> Response:
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
                "path": "/" + rest.lstrip("/"),
                "query": _flat(request.args.items(multi=True), lambda _n, v: v),
                "headers": _flat(request.headers.items(), _redact_header),
                "json": parsed,
                "body_text": text,
            },
        )
