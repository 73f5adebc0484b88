"""The sandbox's own routes under ``/_sandbox/``: introspection and knobs for tests.

Not journaled, not authenticated, never faulted. Each route is declared once in
``CONTROL_ROUTES``; the app tells control requests apart by that table. A route acts on the
app through ``Controlled``, the few things it offers them, so this module never imports the app.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from incidentio_sandbox.exchange import JSONObject, error_item, error_response, json_response
from incidentio_sandbox.faults import FaultConfig, FaultInjector
from incidentio_sandbox.seed import Seed
from incidentio_sandbox.seed.incidents import DashboardIncident

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response


class Controlled(Protocol):
    """What the control routes act on: the sandbox app, as far as they need it."""

    faults: FaultInjector

    def journal(self, since: int = 0, path: str | None = None) -> list[JSONObject]:
        """Journal entries after ``since``."""
        ...

    def state(self) -> JSONObject:
        """Everything the store holds."""
        ...

    def reset(self) -> None:
        """Back to a fresh start."""
        ...

    def set_faults(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Replace the named fault settings."""
        ...

    def current_seed(self) -> Seed:
        """What the account holds now."""
        ...

    def load_seed(self, seed: Seed) -> Seed:
        """Add to the account."""
        ...

    def add_incident(self, made: DashboardIncident) -> JSONObject:
        """Put in an incident made in the dashboard."""
        ...


ControlHandler = Callable[[Controlled, "Request"], "Response"]


def _refused(code: str, problem: Exception) -> Response:
    return error_response(400, str(uuid.uuid4()), [error_item(code, str(problem))])


def journal(app: Controlled, request: Request) -> Response:
    """``GET /_sandbox/journal?since=N&path=P``."""
    since = request.args.get("since", "0")
    entries = app.journal(
        since=int(since) if since.isdigit() else 0,
        path=request.args.get("path"),
    )
    return json_response(200, {"entries": entries})


def state(app: Controlled, _request: Request) -> Response:
    """``GET /_sandbox/state``: everything the store holds."""
    return json_response(200, app.state())


def reset(app: Controlled, _request: Request) -> Response:
    """``POST /_sandbox/reset``."""
    app.reset()
    return json_response(200, {"status": "reset"})


def show_faults(app: Controlled, _request: Request) -> Response:
    """``GET /_sandbox/faults``."""
    return json_response(200, app.faults.config.to_json())


def clear_faults(app: Controlled, _request: Request) -> Response:
    """``DELETE /_sandbox/faults``."""
    app.faults.configure(FaultConfig())
    return json_response(200, app.faults.config.to_json())


def set_faults(app: Controlled, request: Request) -> Response:
    """``POST /_sandbox/faults``: replace the named settings, keep the rest."""
    try:
        changes = json.loads(request.get_data() or b"{}")
        if not isinstance(changes, dict):
            msg = "expected a JSON object"
            raise TypeError(msg)  # noqa: TRY301 - one answer for every bad input
        config = app.set_faults(changes)
    except (ValueError, TypeError) as problem:
        return _refused("invalid_fault_config", problem)
    return json_response(200, config.to_json())


def show_seed(app: Controlled, _request: Request) -> Response:
    """``GET /_sandbox/seed``."""
    return json_response(200, app.current_seed().to_json())


def load_seed(app: Controlled, request: Request) -> Response:
    """``POST /_sandbox/seed``: add to the account."""
    try:
        seed = app.load_seed(Seed.from_json(json.loads(request.get_data() or b"{}")))
    except (ValueError, TypeError) as problem:
        return _refused("invalid_seed", problem)
    return json_response(200, seed.to_json())


def add_incident(app: Controlled, request: Request) -> Response:
    """``POST /_sandbox/incidents``: an incident made in the dashboard, as a seed's item."""
    try:
        made = DashboardIncident.from_json(json.loads(request.get_data() or b"{}"))
        incident = app.add_incident(made)
    except (ValueError, TypeError) as problem:  # a refusal of the account's (422) too
        return _refused("invalid_incident", problem)
    return json_response(201, {"incident": incident})


CONTROL_ROUTES: Mapping[tuple[str, str], ControlHandler] = {
    ("GET", "/_sandbox/journal"): journal,
    ("GET", "/_sandbox/state"): state,
    ("POST", "/_sandbox/reset"): reset,
    ("GET", "/_sandbox/faults"): show_faults,
    ("DELETE", "/_sandbox/faults"): clear_faults,
    ("POST", "/_sandbox/faults"): set_faults,
    ("GET", "/_sandbox/seed"): show_seed,
    ("POST", "/_sandbox/seed"): load_seed,
    ("POST", "/_sandbox/incidents"): add_incident,
}
CONTROL_PATHS = frozenset(path for _method, path in CONTROL_ROUTES)


def answer(app: Controlled, request: Request) -> Response:
    """Run the control route for ``request``; 404 for a method the path does not take."""
    handler = CONTROL_ROUTES.get((request.method, request.path))
    if handler is None:
        message = f"No route for {request.method} {request.path}"
        return error_response(404, str(uuid.uuid4()), [error_item("not_found", message)])
    return handler(app, request)
