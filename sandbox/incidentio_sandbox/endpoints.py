"""Every incident.io endpoint the sandbox serves, each declared once.

An entry names the method and the spec's path template, the handler, the credential it
takes and, for API-key endpoints, the role the key needs. Routing, authentication, the
role check, the OpenAPI validation (every endpoint here is checked against the spec before
it runs) and the spec subset ``trim_spec`` cuts all come from this table. To serve another
endpoint, add one ``Endpoint`` and its handler in ``handlers/<resource>.py``, then run
``python -m incidentio_sandbox.trim_spec`` to refresh the shipped spec subset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from werkzeug.routing import Map, Rule

from incidentio_sandbox.exchange import Call, JSONObject
from incidentio_sandbox.handlers import account, alerts, catalog, configuration, incidents, oncall
from incidentio_sandbox.validation import load_spec

Handler = Callable[[Call], tuple[int, JSONObject]]
# Who may call: an API key (``Authorization: Bearer``), or the alert source's own token
# (bearer or ``?token=``); alert events are paced per source, pings not at all.
Credential = Literal["api_key", "alert_source", "heartbeat_source"]


@dataclass(frozen=True)
class Endpoint:
    """One method on one path of incident.io's API."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # the spec's template, e.g. ``/v2/incidents/{id}/actions/edit``
    handler: Handler
    # The role /v1/identity reports that the key needs (the spec names scopes per operation,
    # not roles). Keys have every role unless the seed says otherwise. None: any key.
    role: str | None = None
    credential: Credential = "api_key"
    # A limit of the endpoint's own, per key, beside the key's (the spec's description says
    # ``POST /v2/escalations`` "is rate-limited to 60 requests per minute").
    per_minute: int | None = None

    @property
    def name(self) -> str:
        """The handler's name, as the journal records it (``create_incident``)."""
        return self.handler.__name__

    @property
    def scopes(self) -> tuple[str, ...]:
        """The spec's ``x-rbac-scopes`` for the operation: what ``role`` stands for here."""
        operation = load_spec()["paths"][self.path][self.method.lower()]
        return tuple(operation.get("x-rbac-scopes", ()))

    @property
    def takes_body(self) -> bool:
        """Whether the spec gives the call a JSON body (a heartbeat ``POST`` has none)."""
        return "requestBody" in load_spec()["paths"][self.path][self.method.lower()]

    def rule(self) -> Rule:
        """The werkzeug rule: ``{id}`` becomes ``<id>``, so handlers read the spec's names."""
        return Rule(re.sub(r"\{(\w+)\}", r"<\1>", self.path), methods=[self.method], endpoint=self)


def _reads(path: str, listing: Handler, show: Handler, role: str) -> tuple[Endpoint, Endpoint]:
    """A resource's list at ``path`` and one of it at ``path/{id}``: two reads, one role."""
    return (
        Endpoint("GET", path, listing, role=role),
        Endpoint("GET", f"{path}/{{id}}", show, role=role),
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    # alerts
    Endpoint(
        "POST",
        "/v2/alert_events/http/{alert_source_config_id}",
        alerts.alert_event,
        credential="alert_source",
    ),
    *_reads("/v2/alerts", alerts.list_alerts, alerts.show_alert, "viewer"),
    *_reads("/v2/alert_sources", alerts.list_alert_sources, alerts.show_alert_source, "viewer"),
    *(
        Endpoint(
            method,
            "/v2/heartbeat/{alert_source_config_id}/ping",
            alerts.heartbeat_ping,
            credential="heartbeat_source",
        )
        for method in ("GET", "POST")
    ),
    # incidents
    *_reads("/v2/incidents", incidents.list_incidents, incidents.show_incident, "viewer"),
    Endpoint("POST", "/v2/incidents", incidents.create_incident, role="incident_creator"),
    Endpoint(
        "POST",
        "/v2/incidents/{id}/actions/edit",
        incidents.edit_incident,
        role="incident_editor",
    ),
    Endpoint(
        "POST", "/v2/incident_updates", incidents.create_incident_update, role="incident_editor"
    ),
    Endpoint(
        "POST",
        "/v2/incident_timeline_items",
        incidents.create_incident_timeline_item,
        role="incident_editor",
    ),
    # the account
    *_reads("/v2/custom_fields", account.list_custom_fields, account.show_custom_field, "viewer"),
    Endpoint("GET", "/v1/identity", account.identity),
    # catalog
    *_reads(
        "/v3/catalog_entries",
        catalog.list_catalog_entries,
        catalog.show_catalog_entry,
        "catalog_viewer",
    ),
    Endpoint("POST", "/v3/catalog_entries", catalog.upsert_catalog_entry, role="catalog_editor"),
    Endpoint(
        "DELETE", "/v3/catalog_entries/{id}", catalog.delete_catalog_entry, role="catalog_editor"
    ),
    Endpoint(
        "POST",
        "/v3/catalog_entries/actions/bulk_update",
        catalog.bulk_update_catalog_entries,
        role="catalog_editor",
    ),
    *_reads(
        "/v3/catalog_types", catalog.list_catalog_types, catalog.show_catalog_type, "catalog_viewer"
    ),
    Endpoint("POST", "/v3/catalog_types", catalog.create_catalog_type, role="catalog_editor"),
    Endpoint(
        "POST",
        "/v3/catalog_types/{id}/actions/update_schema",
        catalog.update_catalog_type_schema,
        role="catalog_editor",
    ),
    # the lists that turn names into ids, and new select options
    Endpoint("GET", "/v1/severities", configuration.list_severities, role="viewer"),
    Endpoint("GET", "/v1/incident_statuses", configuration.list_incident_statuses, role="viewer"),
    Endpoint("GET", "/v1/incident_types", configuration.list_incident_types, role="viewer"),
    Endpoint("GET", "/v2/incident_roles", configuration.list_incident_roles, role="viewer"),
    Endpoint(
        "GET", "/v1/custom_field_options", configuration.list_custom_field_options, role="viewer"
    ),
    Endpoint(
        "POST",
        "/v1/custom_field_options",
        configuration.create_custom_field_option,
        role="manage_settings",
    ),
    # on-call: roles by the spec's scopes (schedules.view, schedule_overrides.*, users.view,
    # escalation_paths.view, escalations.create / .view)
    *_reads("/v2/users", oncall.list_users, oncall.show_user, "viewer"),
    *_reads("/v2/schedules", oncall.list_schedules, oncall.show_schedule, "schedules_reader"),
    *_reads(
        "/v2/schedule_overrides",
        oncall.list_schedule_overrides,
        oncall.show_schedule_override,
        "schedules_reader",
    ),
    Endpoint(
        "POST",
        "/v2/schedule_overrides",
        oncall.create_schedule_override,
        role="schedule_overrides_editor",
    ),
    Endpoint(
        "PUT",
        "/v2/schedule_overrides/{id}",
        oncall.update_schedule_override,
        role="schedule_overrides_editor",
    ),
    Endpoint(
        "DELETE",
        "/v2/schedule_overrides/{id}",
        oncall.delete_schedule_override,
        role="schedule_overrides_editor",
    ),
    *_reads(
        "/v2/escalation_paths",
        oncall.list_escalation_paths,
        oncall.show_escalation_path,
        "on_call_viewer",
    ),
    Endpoint(
        "POST",
        "/v2/escalations",
        oncall.create_escalation,
        role="escalation_creator",
        per_minute=60,
    ),
    *_reads("/v2/escalations", oncall.list_escalations, oncall.show_escalation, "on_call_viewer"),
)

URL_MAP = Map(
    [endpoint.rule() for endpoint in ENDPOINTS],
    strict_slashes=False,
    merge_slashes=False,
)


def served() -> Mapping[str, tuple[str, ...]]:
    """Spec path -> the methods served on it (lower case, as the spec keys them)."""
    out: dict[str, tuple[str, ...]] = {}
    for endpoint in ENDPOINTS:
        out[endpoint.path] = (*out.get(endpoint.path, ()), endpoint.method.lower())
    return out
