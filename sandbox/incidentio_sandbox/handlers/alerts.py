"""Alert events, alerts, alert sources and heartbeat pings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentio_sandbox import views
from incidentio_sandbox.store.common import InvalidError, NotFoundError
from incidentio_sandbox.validation import deep_objects

if TYPE_CHECKING:
    from collections.abc import Mapping

    from incidentio_sandbox.exchange import Call, JSONObject
    from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource

# Alert filters the sandbox evaluates, with their operators (the spec's descriptions);
# the spec's other filters answer 422 rather than being silently ignored.
ALERT_FILTERS: Mapping[str, frozenset[str]] = {
    "status": frozenset({"one_of", "not_in"}),
    "alert_source": frozenset({"one_of", "not_in"}),
    "deduplication_key": frozenset({"is"}),
}


def alert_event(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/alert_events/http/{alert_source_config_id}``."""
    alert = call.store.alerts.record_event(call.args["alert_source_config_id"], call.payload)
    return 202, {
        "deduplication_key": alert["deduplication_key"],
        "message": "Event accepted for processing",
        "status": "success",
    }


def list_alerts(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/alerts`` with the filters of ``ALERT_FILTERS``."""
    filters = deep_objects(call.request.args)
    problems = [
        (
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
        raise InvalidError(problems)

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

    page_size = call.page_size()
    alerts, after = call.store.alerts.list(wanted, call.request.args.get("after"), page_size)
    meta: JSONObject = {"page_size": page_size}
    if after is not None:
        meta["after"] = after
    return 200, {"alerts": [views.alert(a) for a in alerts], "pagination_meta": meta}


def show_alert(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/alerts/{id}``."""
    return 200, {"alert": views.alert(call.store.alerts.get(call.args["id"]))}


def list_alert_sources(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/alert_sources``: HTTP and heartbeat sources alike."""
    seed = call.store.seed
    base = call.request.host_url.rstrip("/")
    sources: list[AlertSource | HeartbeatSource] = [*seed.alert_sources, *seed.heartbeat_sources]
    return 200, {"alert_sources": [views.alert_source(s, base) for s in sources]}


def show_alert_source(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/alert_sources/{id}``."""
    source = call.store.seed.source(call.args["id"])
    if source is None:
        message = f"No alert source found with id {call.args['id']!r}"
        raise NotFoundError(message, "id")
    base = call.request.host_url.rstrip("/")
    return 200, {"alert_source": views.alert_source(source, base)}


def heartbeat_ping(call: Call) -> tuple[int, JSONObject]:
    """``GET`` or ``POST /v2/heartbeat/{alert_source_config_id}/ping``."""
    call.store.alerts.record_ping(call.args["alert_source_config_id"], call.request.method)
    return 204, {}
