"""The lists that turn names into ids (severities, statuses, types, roles, select options),
served from the seed in incident.io's shapes, and option creation."""

from __future__ import annotations

import typing as t

import pytest
from sandbox_helpers import API_KEY, AUTH, check_response

from incidentio_sandbox import Sandbox, Seed

if t.TYPE_CHECKING:
    import requests

TEAM = {
    "id": "01FTEAM",
    "name": "Team",
    "field_type": "single_select",
    "options": [{"id": "01OPAY", "value": "Payments"}, {"id": "01OSEARCH", "value": "Search"}],
}
NOTES = {"id": "01FNOTES", "name": "Notes", "field_type": "text"}


@pytest.mark.parametrize(
    ("path", "key", "names"),
    [
        ("/v1/severities", "severities", ["Minor", "Major", "Critical"]),
        ("/v1/incident_types", "incident_types", ["Default"]),
        ("/v2/incident_roles", "incident_roles", ["Incident Lead", "Reporter", "Comms Lead"]),
    ],
)
def test_a_new_account_has_incident_ios_defaults(
    sandbox: Sandbox, http: requests.Session, path: str, key: str, names: list[str]
) -> None:
    reply = http.get(f"{sandbox.url}{path}", headers=AUTH)
    check_response(reply)
    assert [item["name"] for item in reply.json()[key]] == names


def test_a_seed_replaces_a_list_and_its_kind_fields_are_served(http: requests.Session) -> None:
    seed = Seed.from_json(
        {
            "incident_statuses": [
                {"id": "01STRIAGE", "name": "Triage", "category": "triage"},
                {"id": "01SFIX", "name": "Fixing", "category": "live", "rank": 3},
            ]
        }
    )
    with Sandbox(api_key=API_KEY, seed=seed) as sb:
        reply = http.get(f"{sb.url}/v1/incident_statuses", headers=AUTH)
        check_response(reply)
        statuses = reply.json()["incident_statuses"]
        assert [(s["name"], s["category"], s["rank"]) for s in statuses] == [
            ("Triage", "triage", 1),
            ("Fixing", "live", 3),
        ]
        # The seed's shape survives a round trip (GET /_sandbox/seed).
        assert (
            Seed.from_json(sb.current_seed().to_json()).incident_statuses == seed.incident_statuses
        )


def test_a_bad_kind_field_is_refused_by_the_spec_check(http: requests.Session) -> None:
    seed = Seed.from_json({"incident_roles": [{"id": "01R", "name": "Lead", "role_type": "boss"}]})
    with Sandbox(api_key=API_KEY, seed=seed) as sb:
        reply = http.get(f"{sb.url}/v2/incident_roles", headers=AUTH)
        with pytest.raises(Exception, match="boss"):
            check_response(reply)


def test_options_page_with_after_and_creation_adds_one(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, seed=Seed.from_json({"custom_fields": [TEAM, NOTES]})) as sb:
        url = f"{sb.url}/v1/custom_field_options"
        first = http.get(url, params={"custom_field_id": "01FTEAM", "page_size": 1}, headers=AUTH)
        check_response(first)
        body = first.json()
        assert [o["value"] for o in body["custom_field_options"]] == ["Payments"]
        after = body["pagination_meta"]["after"]
        rest = http.get(
            url, params={"custom_field_id": "01FTEAM", "after": after}, headers=AUTH
        ).json()
        assert [o["value"] for o in rest["custom_field_options"]] == ["Search"]
        assert "after" not in rest["pagination_meta"]

        created = http.post(
            url, json={"custom_field_id": "01FTEAM", "value": "Billing"}, headers=AUTH
        )
        assert created.status_code == 201
        check_response(created)
        option = created.json()["custom_field_option"]
        assert option["value"] == "Billing"
        everything = http.get(url, params={"custom_field_id": "01FTEAM"}, headers=AUTH).json()
        assert "Billing" in [o["value"] for o in everything["custom_field_options"]]
        assert sb.state()["created_options"] == [{**option}]

        again = http.post(
            url, json={"custom_field_id": "01FTEAM", "value": "Billing"}, headers=AUTH
        )
        assert again.status_code == 422
        assert again.json()["errors"][0]["source"]["field"] == "value"
        not_select = http.post(
            url, json={"custom_field_id": "01FNOTES", "value": "x"}, headers=AUTH
        )
        assert not_select.status_code == 422
        missing = http.get(url, params={"custom_field_id": "01FNONE"}, headers=AUTH)
        assert missing.status_code == 404
        no_field = http.get(url, headers=AUTH)
        assert no_field.status_code == 422  # custom_field_id is required by the spec


def test_creating_an_option_needs_manage_settings(http: requests.Session) -> None:
    seed = Seed.from_json({"custom_fields": [TEAM], "api_key_roles": {"reader": ["viewer"]}})
    with Sandbox(api_key={"reader": "Reader"}, seed=seed) as sb:
        reader = {"Authorization": "Bearer reader"}
        url = f"{sb.url}/v1/custom_field_options"
        assert http.get(url, params={"custom_field_id": "01FTEAM"}, headers=reader).ok
        refused = http.post(url, json={"custom_field_id": "01FTEAM", "value": "X"}, headers=reader)
        assert refused.status_code == 403
        assert "manage_settings" in refused.json()["errors"][0]["message"]


def test_options_only_on_select_fields_in_the_seed() -> None:
    with pytest.raises(ValueError, match="only selects have options"):
        Seed.from_json({"custom_fields": [{**NOTES, "options": [{"id": "1", "value": "a"}]}]})
