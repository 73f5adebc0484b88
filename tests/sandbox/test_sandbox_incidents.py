"""Incidents as incident.io lists them: IncidentV2's shape, paging, the documented filters,
creates that keep their custom fields and roles, edits of the fields given, and incidents
made in the dashboard (no idempotency key) put in through the seed or a control route."""

from __future__ import annotations

import json
import typing as t

import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest
from sandbox_helpers import API_KEY, AUTH, check_body, check_response

from incidentio_sandbox import Sandbox

if t.TYPE_CHECKING:
    import requests

KEY = "01FTICKETKEY"  # a text field holding a source row's key
TEAM = "01FTEAM"
PAYMENTS, SEARCH = "01OPAY", "01OSEARCH"
AREAS = "01FAREAS"
SERVICE = "01FSERVICE"
SERVICE_TYPE = "01TSERVICE"
LEAD = "01SANDBOXROLEINCIDENTLEAD0"
MINOR, MAJOR, CRITICAL = (
    "01SANDBOXSEVERITYMINOR0000",
    "01SANDBOXSEVERITYMAJOR0000",
    "01SANDBOXSEVERITYCRITICAL0",
)
CLOSED = "01SANDBOXSTATUSCLOSED00000"
SEED: dict[str, t.Any] = {
    "catalog_types": [{"id": SERVICE_TYPE, "name": "Service"}],
    "custom_fields": [
        {"id": KEY, "name": "Ticket key", "field_type": "text"},
        {
            "id": TEAM,
            "name": "Team",
            "field_type": "single_select",
            "options": [{"id": PAYMENTS, "value": "Payments"}, {"id": SEARCH, "value": "Search"}],
        },
        {
            "id": AREAS,
            "name": "Areas",
            "field_type": "multi_select",
            "options": [{"id": "01AWEB", "value": "Web"}, {"id": "01AAPI", "value": "API"}],
        },
        {
            "id": SERVICE,
            "name": "Service",
            "field_type": "single_select",
            "catalog_type_id": SERVICE_TYPE,
        },
    ],
    "users": [{"id": "01UANN", "name": "Ann", "email": "ann@example.com"}],
    "incidents": [
        {
            "id": "01DASHBOARDINCIDENT0000001",
            "name": "Declared by hand",
            "severity_id": MAJOR,
            "created_at": "2026-01-01T10:00:00Z",
            "custom_field_entries": [{"custom_field_id": KEY, "values": [{"value_text": "t-9"}]}],
        }
    ],
}


@pytest.fixture
def account() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def _text(value: str) -> dict[str, t.Any]:
    return {"custom_field_id": KEY, "values": [{"value_text": value}]}


def _create(sb: Sandbox, http: requests.Session, key: str, **body: t.Any) -> requests.Response:
    payload = {"idempotency_key": key, "visibility": "public", "name": key, **body}
    reply = http.post(f"{sb.url}/v2/incidents", json=payload, headers=AUTH)
    check_response(reply)
    return reply


def _list(sb: Sandbox, http: requests.Session, **query: t.Any) -> requests.Response:
    reply = http.get(f"{sb.url}/v2/incidents", params=query, headers=AUTH)
    if reply.ok:
        check_response(reply)
    return reply


def _names(reply: requests.Response) -> list[str]:
    return [i["name"] for i in reply.json()["incidents"]]


def test_a_create_keeps_its_fields_and_roles_in_incident_v2s_shape(
    account: Sandbox, http: requests.Session
) -> None:
    entry_id = "01ENTRYPAY"
    with account.app.store.lock:
        account.app.store.catalog.entries[entry_id] = {
            "id": entry_id,
            "catalog_type_id": SERVICE_TYPE,
            "name": "Payments API",
            "aliases": ["pay"],
            "external_id": "svc-pay",
        }
    incident = _create(
        account,
        http,
        "ticket-1",
        severity_id=CRITICAL,
        custom_field_entries=[
            _text("t-1"),
            {"custom_field_id": TEAM, "values": [{"value_option_id": PAYMENTS}]},
            {
                "custom_field_id": AREAS,
                "values": [{"value_option_id": "01AWEB"}, {"value_option_id": "01AAPI"}],
            },
            {"custom_field_id": SERVICE, "values": [{"value_catalog_entry_id": entry_id}]},
        ],
        incident_role_assignments=[
            {"incident_role_id": LEAD, "assignee": {"email": "ANN@example.com"}}
        ],
    ).json()["incident"]

    assert incident["reference"] == "INC-2"  # the seeded dashboard incident is INC-1
    assert incident["severity"]["name"] == "Critical"
    assert incident["incident_status"]["category"] == "live"
    assert incident["incident_type"]["name"] == "Default"  # the account's default type
    assert incident["mode"] == "standard"
    entries = {e["custom_field"]["name"]: e for e in incident["custom_field_entries"]}
    assert entries["Ticket key"]["values"] == [{"value_text": "t-1"}]
    assert entries["Team"]["values"][0]["value_option"]["value"] == "Payments"
    assert [o["value"] for o in entries["Team"]["custom_field"]["options"]] == [
        "Payments",
        "Search",
    ]
    assert [v["value_option"]["id"] for v in entries["Areas"]["values"]] == ["01AWEB", "01AAPI"]
    assert entries["Service"]["values"] == [
        {
            "value_catalog_entry": {
                "id": entry_id,
                "name": "Payments API",
                "aliases": ["pay"],
                "external_id": "svc-pay",
            }
        }
    ]
    (lead,) = incident["incident_role_assignments"]
    assert lead["role"]["name"] == "Incident Lead"
    assert lead["assignee"] == {
        "id": "01UANN",
        "name": "Ann",
        "email": "ann@example.com",
        "role": "responder",
    }
    shown = http.get(f"{account.url}/v2/incidents/{incident['id']}", headers=AUTH)
    check_response(shown)
    assert shown.json()["incident"] == incident


def test_a_repeated_idempotency_key_answers_the_first_incident_unchanged(
    account: Sandbox, http: requests.Session
) -> None:
    first = _create(account, http, "k", summary="before", severity_id=MINOR).json()["incident"]
    again = _create(account, http, "k", summary="after", severity_id=CRITICAL).json()["incident"]
    assert again == first
    assert account.state()["counts"]["incidents"] == 2  # the dashboard's one, and this


def test_the_account_refuses_values_its_fields_do_not_take(
    account: Sandbox, http: requests.Session
) -> None:
    cases = [
        ({"custom_field_id": TEAM, "values": [{"value_option_id": "01NOPE"}]}, "value_option_id"),
        ({"custom_field_id": KEY, "values": [{"value_option_id": PAYMENTS}]}, "value_option_id"),
        (
            {
                "custom_field_id": TEAM,
                "values": [{"value_option_id": PAYMENTS}, {"value_option_id": SEARCH}],
            },
            "values",
        ),
    ]
    for entry, field in cases:
        body = {"idempotency_key": "bad", "visibility": "public", "custom_field_entries": [entry]}
        reply = http.post(f"{account.url}/v2/incidents", json=body, headers=AUTH)
        check_response(reply)
        assert reply.status_code == 422
        (error,) = reply.json()["errors"]
        assert error["source"]["field"].startswith("custom_field_entries[0].")
        assert error["source"]["field"].endswith(field)
    assert account.state()["counts"]["incidents"] == 1


def test_show_takes_the_number_of_the_reference(account: Sandbox, http: requests.Session) -> None:
    _create(account, http, "a")
    reply = http.get(f"{account.url}/v2/incidents/2", headers=AUTH)
    check_response(reply)
    assert reply.json()["incident"]["reference"] == "INC-2"
    missing = http.get(f"{account.url}/v2/incidents/99", headers=AUTH)
    check_response(missing)
    assert missing.status_code == 404


def test_an_edit_changes_the_fields_given_and_the_custom_fields_it_names(
    account: Sandbox, http: requests.Session
) -> None:
    incident = _create(
        account,
        http,
        "e",
        summary="kept",
        severity_id=MINOR,
        custom_field_entries=[
            _text("t-1"),
            {"custom_field_id": TEAM, "values": [{"value_option_id": PAYMENTS}]},
        ],
        incident_role_assignments=[{"incident_role_id": LEAD, "assignee": {"id": "01UANN"}}],
    ).json()["incident"]
    edit = {
        "incident": {
            "name": "renamed",
            "severity_id": MAJOR,
            "custom_field_entries": [
                {"custom_field_id": TEAM, "values": [{"value_option_id": SEARCH}]}
            ],
        },
        "notify_incident_channel": False,
    }
    reply = http.post(
        f"{account.url}/v2/incidents/{incident['id']}/actions/edit", json=edit, headers=AUTH
    )
    check_response(reply)
    edited = reply.json()["incident"]
    assert (edited["name"], edited["summary"], edited["severity"]["name"]) == (
        "renamed",
        "kept",
        "Major",
    )
    values = {e["custom_field"]["id"]: e["values"] for e in edited["custom_field_entries"]}
    assert values[KEY] == [{"value_text": "t-1"}]  # not named: kept
    assert values[TEAM][0]["value_option"]["id"] == SEARCH
    assert edited["incident_role_assignments"] == incident["incident_role_assignments"]
    assert edited["updated_at"] > incident["updated_at"]
    assert edited["created_at"] == incident["created_at"]


def test_pages_follow_after_newest_first_with_the_total(
    account: Sandbox, http: requests.Session
) -> None:
    for number in range(5):
        _create(account, http, f"p{number}")
    seen: list[str] = []
    after: str | None = None
    while True:
        reply = _list(account, http, page_size=2, **({"after": after} if after else {}))
        meta = reply.json()["pagination_meta"]
        assert meta["total_record_count"] == 6
        assert meta["page_size"] == 2
        seen += _names(reply)
        after = meta.get("after")
        if after is None:
            break
    assert seen == ["p4", "p3", "p2", "p1", "p0", "Declared by hand"]
    oldest = _list(account, http, sort_by="created_at_oldest_first", page_size=250)
    assert _names(oldest) == seen[::-1]


def test_a_page_over_250_is_refused_as_the_description_says(
    account: Sandbox, http: requests.Session
) -> None:
    reply = _list(account, http, page_size=251)
    check_response(reply)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["source"]["field"] == "page_size"
    assert _list(account, http, page_size=250).status_code == 200


def test_test_and_tutorial_incidents_are_listed_only_when_asked(
    account: Sandbox, http: requests.Session
) -> None:
    _create(account, http, "real")
    _create(account, http, "drill", mode="test")
    _create(account, http, "retro", mode="retrospective")
    assert sorted(_names(_list(account, http))) == ["Declared by hand", "real", "retro"]
    assert _names(_list(account, http, **{"mode[one_of]": "test"})) == ["drill"]


def test_the_documented_filters(account: Sandbox, http: requests.Session) -> None:
    _create(
        account,
        http,
        "pay-critical",
        severity_id=CRITICAL,
        custom_field_entries=[{"custom_field_id": TEAM, "values": [{"value_option_id": PAYMENTS}]}],
        incident_role_assignments=[{"incident_role_id": LEAD, "assignee": {"id": "01UANN"}}],
    )
    _create(
        account,
        http,
        "search-minor",
        severity_id=MINOR,
        incident_status_id=CLOSED,
        custom_field_entries=[{"custom_field_id": TEAM, "values": [{"value_option_id": SEARCH}]}],
    )

    def names(**query: t.Any) -> list[str]:
        reply = _list(account, http, **query)
        assert reply.status_code == 200, reply.text
        return sorted(_names(reply))

    assert names(**{"status[one_of]": CLOSED}) == ["search-minor"]
    assert names(**{"status_category[not_in]": "closed"}) == ["Declared by hand", "pay-critical"]
    assert names(**{"severity[gte]": MAJOR}) == ["Declared by hand", "pay-critical"]
    assert names(**{"severity[lte]": MAJOR}) == ["Declared by hand", "search-minor"]
    assert names(**{"severity[one_of]": MINOR}) == ["search-minor"]
    assert names(**{f"custom_field[{TEAM}][one_of]": PAYMENTS}) == ["pay-critical"]
    assert names(**{f"custom_field[{TEAM}][not_in]": PAYMENTS}) == [
        "Declared by hand",
        "search-minor",
    ]
    assert names(**{f"incident_role[{LEAD}][is_set]": "true"}) == ["pay-critical"]
    assert names(**{f"incident_role[{LEAD}][is_set]": "false"}) == [
        "Declared by hand",
        "search-minor",
    ]
    default_type = "01SANDBOXINCIDENTTYPEDEFLT"
    assert len(names(**{"incident_type[one_of]": default_type})) == 3
    assert names(**{"created_at[lte]": "2026-01-01"}) == ["Declared by hand"]
    assert names(**{"created_at[date_range]": "2025-12-31~2026-01-01"}) == ["Declared by hand"]
    assert names(**{"updated_at[gte]": "2026-01-02"}) == ["pay-critical", "search-minor"]
    # Combined: all (the default) and any.
    both = {"severity[one_of]": MINOR, f"custom_field[{TEAM}][one_of]": PAYMENTS}
    assert names(**both) == []
    assert names(**both, filter_mode="any") == ["pay-critical", "search-minor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        # The spec documents no operator for a text field: a client must not filter on one.
        ({f"custom_field[{KEY}][one_of]": "t-9"}, "custom_field"),
        ({f"custom_field[{SERVICE}][one_of]": "01ENTRY"}, "custom_field"),
        ({"status[is]": CLOSED}, "status"),
        ({"priority[one_of]": "P1"}, "priority"),
        ({"created_at[gte]": "yesterday"}, "created_at"),
        # The parameter's example says "active"; the API's category is "live".
        ({"status_category[one_of]": "active"}, "status_category"),
    ],
)
def test_filters_the_spec_does_not_document_are_refused(
    account: Sandbox, http: requests.Session, query: dict[str, str], field: str
) -> None:
    reply = _list(account, http, **query)
    check_response(reply)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["source"]["field"] == field


def test_dashboard_incidents_come_from_the_seed_and_a_control_route(
    account: Sandbox, http: requests.Session
) -> None:
    (seeded,) = _list(account, http).json()["incidents"]
    assert seeded["id"] == "01DASHBOARDINCIDENT0000001"
    assert seeded["created_at"] == "2026-01-01T10:00:00Z"
    assert seeded["creator"]["user"]["name"] == "Dashboard user"
    # A second incident holding the same key, as a responder might declare by hand.
    made = http.post(
        f"{account.url}/_sandbox/incidents",
        json={"name": "Duplicate by hand", "custom_field_entries": [_text("t-9")]},
    )
    assert made.status_code == 201, made.text
    shown = http.get(f"{account.url}/v2/incidents/{made.json()['incident']['id']}", headers=AUTH)
    check_response(shown)
    holding = [
        i["reference"]
        for i in _list(account, http).json()["incidents"]
        for e in i["custom_field_entries"]
        if e["custom_field"]["id"] == KEY and e["values"] == [{"value_text": "t-9"}]
    ]
    assert sorted(holding) == ["INC-1", "INC-2"]
    # The control route refuses what the create body would not take, naming it.
    bad = http.post(f"{account.url}/_sandbox/incidents", json={"idempotency_key": "x"})
    assert bad.status_code == 400
    assert "idempotency_key" in bad.json()["errors"][0]["message"]
    # A reset brings back the seeded incident (with its id), and forgets the rest.
    account.reset()
    assert [i["id"] for i in _list(account, http).json()["incidents"]] == [seeded["id"]]
    # Loading a seed with an incident puts it in at once.
    account.load_seed({"incidents": [{"name": "Loaded later"}]})
    assert "Loaded later" in _names(_list(account, http))


def test_the_shape_check_is_live_for_listed_incidents(
    account: Sandbox, http: requests.Session
) -> None:
    # The values a create sends are not the values IncidentV2 lists: the check tells them apart.
    _create(
        account,
        http,
        "live",
        custom_field_entries=[{"custom_field_id": TEAM, "values": [{"value_option_id": PAYMENTS}]}],
    )
    reply = _list(account, http)
    request = MockRequest(account.url, "get", "/v2/incidents")
    body = reply.json()
    check_body(request, 200, json.dumps(body).encode(), "application/json")
    listed = body["incidents"][0]
    wrong = [
        {
            **listed,
            "custom_field_entries": [
                {**e, "values": [{"value_option_id": PAYMENTS}]}
                for e in listed["custom_field_entries"]
            ],
        },
        {k: v for k, v in listed.items() if k != "reference"},
        {**listed, "incident_status": {**listed["incident_status"], "category": "active"}},
    ]
    for incident in wrong:
        with pytest.raises(OpenAPIError):
            check_body(
                request,
                200,
                json.dumps({**body, "incidents": [incident]}).encode(),
                "application/json",
            )
