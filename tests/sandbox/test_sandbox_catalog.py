"""Catalog sync endpoints: paged listing, atomic bulk update, delete, types, reject lists."""

from __future__ import annotations

import typing as t

import pytest
from sandbox_helpers import API_KEY, AUTH, check_response

from incidentio_sandbox import Sandbox

if t.TYPE_CHECKING:
    import requests

ENTRIES = "/v3/catalog_entries"
BULK = "/v3/catalog_entries/actions/bulk_update"
SERVICE_TYPE = {
    "id": "01TSERVICE",
    "name": "Service",
    "attributes": [
        {"id": "01ATIER", "name": "tier", "type": "Number"},
        {"id": "01AOWNERS", "name": "owners", "type": 'CatalogEntry["01TTEAM"]', "array": True},
        {"id": "01ANOTES", "name": "notes", "type": "Text", "mode": "dashboard"},
    ],
}


def _upsert(sb: Sandbox, http: requests.Session, **body: t.Any) -> requests.Response:
    payload = {"catalog_type_id": "T", "attribute_values": {}, **body}
    reply = http.post(sb.url + ENTRIES, json=payload, headers=AUTH)
    check_response(reply)
    return reply


def _list(sb: Sandbox, http: requests.Session, **params: t.Any) -> requests.Response:
    reply = http.get(sb.url + ENTRIES, params={"catalog_type_id": "T", **params}, headers=AUTH)
    check_response(reply)
    return reply


def test_listing_pages_in_creation_order_with_a_cursor(
    sandbox: Sandbox, http: requests.Session
) -> None:
    created = [
        _upsert(sandbox, http, name=f"svc {i}", external_id=f"svc-{i}").json()["catalog_entry"][
            "id"
        ]
        for i in range(7)
    ]
    _upsert(sandbox, http, catalog_type_id="U", name="elsewhere")
    seen: list[str] = []
    metas = []
    after: str | None = None
    while True:
        params = {"page_size": 3, **({"after": after} if after else {})}
        body = _list(sandbox, http, **params).json()
        seen += [e["id"] for e in body["catalog_entries"]]
        metas.append(body["pagination_meta"])
        after = body["pagination_meta"].get("after")
        if after is None:
            break
    assert seen == created
    assert [len(m) for m in metas] == [3, 3, 2]  # no `after` on the last page
    assert metas[0] == {"page_size": 3, "total_record_count": 7, "after": created[2]}
    assert metas[-1] == {"page_size": 3, "total_record_count": 7}
    assert [e["query"] for e in sandbox.journal(path=ENTRIES) if e["method"] == "GET"][1] == {
        "catalog_type_id": "T",
        "page_size": "3",
        "after": created[2],
    }


def test_page_size_defaults_to_25_and_is_held_to_1_250(
    sandbox: Sandbox, http: requests.Session
) -> None:
    for i in range(30):
        _upsert(sandbox, http, name=f"e{i}", external_id=f"e{i}")
    default = _list(sandbox, http).json()
    assert len(default["catalog_entries"]) == 25
    assert default["pagination_meta"]["page_size"] == 25
    assert len(_list(sandbox, http, page_size=250).json()["catalog_entries"]) == 30
    for bad in ("251", "0", "lots"):
        reply = _list(sandbox, http, page_size=bad)
        assert reply.status_code == 422, bad
        assert reply.json()["errors"][0]["source"]["field"] == "page_size"
        assert sandbox.journal()[-1]["applied"] is False
    assert "greater than the maximum of 250" in _list(sandbox, http, page_size=251).text


def test_a_cursor_survives_the_deletion_of_the_entry_it_names(
    sandbox: Sandbox, http: requests.Session
) -> None:
    ids = [_upsert(sandbox, http, name=f"e{i}").json()["catalog_entry"]["id"] for i in range(4)]
    first = _list(sandbox, http, page_size=2).json()
    assert http.delete(f"{sandbox.url}{ENTRIES}/{ids[1]}", headers=AUTH).status_code == 204
    rest = _list(sandbox, http, page_size=2, after=first["pagination_meta"]["after"]).json()
    assert [e["id"] for e in rest["catalog_entries"]] == ids[2:]
    assert rest["pagination_meta"]["total_record_count"] == 3


def test_entries_render_bindings_with_labels(sandbox: Sandbox, http: requests.Session) -> None:
    values = {
        "tier": {"value": {"literal": "1"}},
        "owners": {"array_value": [{"literal": "a"}, {"literal": "b"}]},
    }
    entry = _upsert(sandbox, http, name="x", attribute_values=values).json()["catalog_entry"]
    assert entry["attribute_values"] == {
        "tier": {"value": {"label": "1", "literal": "1"}},
        "owners": {"array_value": [{"label": "a", "literal": "a"}, {"label": "b", "literal": "b"}]},
    }
    # The state keeps what was sent, as before.
    assert sandbox.state()["catalog_entries"][0]["attribute_values"] == values


def test_delete_archives_one_entry(sandbox: Sandbox, http: requests.Session) -> None:
    entry_id = _upsert(sandbox, http, name="old", external_id="old").json()["catalog_entry"]["id"]
    gone = http.delete(f"{sandbox.url}{ENTRIES}/{entry_id}", headers=AUTH)
    assert gone.status_code == 204
    assert gone.content == b""
    check_response(gone)
    assert _list(sandbox, http).json()["catalog_entries"] == []
    shown = http.get(f"{sandbox.url}{ENTRIES}/{entry_id}", headers=AUTH)
    assert shown.status_code == 404
    again = http.delete(f"{sandbox.url}{ENTRIES}/{entry_id}", headers=AUTH)
    assert again.status_code == 404
    assert again.json()["errors"][0]["source"]["field"] == "id"
    check_response(again)
    state = sandbox.state()
    assert state["counts"]["catalog_entries_archived"] == 1
    assert state["archived_catalog_entries"][0]["archived_at"]
    # Its external id is free again: the same upsert makes a new entry.
    new = _upsert(sandbox, http, name="old", external_id="old").json()["catalog_entry"]
    assert new["id"] != entry_id
    assert [e["endpoint"] for e in sandbox.journal() if e["method"] == "DELETE"] == [
        "delete_catalog_entry",
        "delete_catalog_entry",
    ]


def test_bulk_update_limits_changes_to_update_attributes(
    sandbox: Sandbox, http: requests.Session
) -> None:
    values = {k: {"value": {"literal": f"old-{k}"}} for k in ("a", "b", "c")}
    entry = _upsert(sandbox, http, name="x", rank=5, attribute_values=values).json()
    entry_id = entry["catalog_entry"]["id"]
    bulk = {
        "catalog_type_id": "T",
        "update_attributes": ["a", "c"],
        "entries": [
            {
                "entry_id": entry_id,
                "attribute_values": {
                    "a": {"value": {"literal": "new-a"}},
                    "b": {"value": {"literal": "new-b"}},
                },
            },
        ],
    }
    reply = http.post(sandbox.url + BULK, json=bulk, headers=AUTH)
    assert reply.status_code == 204
    check_response(reply)
    (after,) = _list(sandbox, http).json()["catalog_entries"]
    literals = {k: v["value"]["literal"] for k, v in after["attribute_values"].items()}
    # a: named and sent; b: not named, kept; c: named, not sent, cleared.
    assert literals == {"a": "new-a", "b": "old-b"}
    assert after["name"] == "x"  # omitted name is kept
    assert after["rank"] == 0  # omitted rank is set to null (the spec), shown as 0


def test_bulk_update_is_all_or_nothing_on_a_refused_entry(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, reject_catalog_external_ids={"poison"}) as sb:
        ids = [_upsert(sb, http, name=f"e{i}").json()["catalog_entry"]["id"] for i in range(4)]
        before = sb.state()["catalog_entries"]
        bulk = {
            "catalog_type_id": "T",
            "entries": [
                {"entry_id": ids[0], "name": "changed", "attribute_values": {}},
                {"entry_id": ids[1], "name": "changed", "attribute_values": {}},
                {"entry_id": ids[2], "external_id": "poison", "attribute_values": {}},
                {"entry_id": ids[3], "name": "changed", "attribute_values": {}},
            ],
        }
        reply = http.post(sb.url + BULK, json=bulk, headers=AUTH)
        assert reply.status_code == 422, reply.text
        check_response(reply)
        (error,) = reply.json()["errors"]
        assert error["source"] == {
            "field": "entries[2].external_id",
            "pointer": "/entries/2/external_id",
        }
        assert sb.state()["catalog_entries"] == before
        assert sb.journal()[-1]["applied"] is False
        # Without the poisoned entry the same batch goes through.
        del bulk["entries"][2]
        assert http.post(sb.url + BULK, json=bulk, headers=AUTH).status_code == 204
        assert [e["name"] for e in sb.state()["catalog_entries"]] == [
            "changed",
            "changed",
            "e2",
            "changed",
        ]


def test_reject_names_refuses_upserts_and_stored_names_in_a_batch(
    http: requests.Session,
) -> None:
    with Sandbox(api_key=API_KEY, reject_catalog_names={"Bad"}) as sb:
        refused = _upsert(sb, http, name="Bad", external_id="b")
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["source"]["field"] == "name"
        assert sb.state()["counts"]["catalog_entries"] == 0
        entry_id = _upsert(sb, http, name="Good").json()["catalog_entry"]["id"]
        rename = {
            "catalog_type_id": "T",
            "entries": [{"entry_id": entry_id, "name": "Bad", "attribute_values": {}}],
        }
        reply = http.post(sb.url + BULK, json=rename, headers=AUTH)
        assert reply.status_code == 422
        assert reply.json()["errors"][0]["source"]["field"] == "entries[0].name"


def test_bulk_update_holds_to_1_250_entries(sandbox: Sandbox, http: requests.Session) -> None:
    entry_id = _upsert(sandbox, http, name="x").json()["catalog_entry"]["id"]
    item = {"entry_id": entry_id, "attribute_values": {}}
    full = http.post(
        sandbox.url + BULK, json={"catalog_type_id": "T", "entries": [item] * 250}, headers=AUTH
    )
    assert full.status_code == 204
    over = http.post(
        sandbox.url + BULK, json={"catalog_type_id": "T", "entries": [item] * 251}, headers=AUTH
    )
    assert over.status_code == 422
    assert over.json()["errors"][0]["source"]["field"] == "entries"


def test_catalog_types_are_optional_seed_data(sandbox: Sandbox, http: requests.Session) -> None:
    # Nothing configured: any type id is accepted, and shown with an empty schema.
    _upsert(sandbox, http, name="x", catalog_type_id="ANY")
    shown = http.get(f"{sandbox.url}/v3/catalog_types/ANY", headers=AUTH)
    check_response(shown)
    assert shown.json()["catalog_type"]["schema"] == {"attributes": [], "version": 1}
    listed = http.get(f"{sandbox.url}/v3/catalog_types", headers=AUTH)
    check_response(listed)
    assert [k["id"] for k in listed.json()["catalog_types"]] == ["ANY"]


def test_configured_catalog_types_shape_and_police_entries(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, seed={"catalog_types": [SERVICE_TYPE]}) as sb:
        listed = http.get(f"{sb.url}/v3/catalog_types", headers=AUTH)
        check_response(listed)
        (kind,) = listed.json()["catalog_types"]
        assert kind["id"] == "01TSERVICE"
        assert kind["name"] == "Service"
        assert kind["type_name"] == 'Custom["Service"]'
        assert kind["schema"]["attributes"] == [
            {"id": "01ATIER", "name": "tier", "type": "Number", "array": False, "mode": ""},
            {
                "id": "01AOWNERS",
                "name": "owners",
                "type": 'CatalogEntry["01TTEAM"]',
                "array": True,
                "mode": "",
            },
            {
                "id": "01ANOTES",
                "name": "notes",
                "type": "Text",
                "array": False,
                "mode": "dashboard",
            },
        ]
        assert http.get(f"{sb.url}/v3/catalog_types/01TSERVICE", headers=AUTH).status_code == 200
        unknown = http.get(f"{sb.url}/v3/catalog_types/NOPE", headers=AUTH)
        assert unknown.status_code == 404
        check_response(unknown)

        good = {
            "catalog_type_id": "01TSERVICE",
            "name": "payments",
            "attribute_values": {
                "01ATIER": {"value": {"literal": "1"}},
                "01AOWNERS": {"array_value": [{"literal": "team-a"}]},
            },
        }
        assert http.post(sb.url + ENTRIES, json=good, headers=AUTH).status_code == 201
        cases = [
            ({**good, "catalog_type_id": "NOPE"}, 404, "catalog_type_id"),
            (
                {**good, "attribute_values": {"01AGHOST": {"value": {"literal": "x"}}}},
                422,
                "attribute_values.01AGHOST",
            ),
            (
                {**good, "attribute_values": {"01AOWNERS": {"value": {"literal": "x"}}}},
                422,
                "attribute_values.01AOWNERS.value",
            ),
            (
                {**good, "attribute_values": {"01ATIER": {"array_value": [{"literal": "1"}]}}},
                422,
                "attribute_values.01ATIER.array_value",
            ),
        ]
        for body, status, field in cases:
            reply = http.post(sb.url + ENTRIES, json=body, headers=AUTH)
            assert reply.status_code == status, body
            assert reply.json()["errors"][0]["source"]["field"] == field
            check_response(reply)
        listing = http.get(
            sb.url + ENTRIES, params={"catalog_type_id": "01TSERVICE"}, headers=AUTH
        ).json()
        assert listing["catalog_type"]["estimated_count"] == 1
        assert len(listing["catalog_entries"]) == 1
        missing_type = http.get(sb.url + ENTRIES, params={"catalog_type_id": "NOPE"}, headers=AUTH)
        assert missing_type.status_code == 404


def test_identifier_matches_names_only_where_the_type_says_so(http: requests.Session) -> None:
    types = [
        {"id": "BYNAME", "name": "Team", "use_name_as_identifier": True},
        {"id": "PLAIN", "name": "Plain"},
    ]
    with Sandbox(api_key=API_KEY, seed={"catalog_types": types}) as sb:
        for type_id in ("BYNAME", "PLAIN"):
            entry = {
                "catalog_type_id": type_id,
                "name": "Payments",
                "aliases": ["pay"],
                "attribute_values": {},
            }
            assert http.post(sb.url + ENTRIES, json=entry, headers=AUTH).status_code == 201
        found = {
            (type_id, identifier): len(
                http.get(
                    sb.url + ENTRIES,
                    params={"catalog_type_id": type_id, "identifier": identifier},
                    headers=AUTH,
                ).json()["catalog_entries"]
            )
            for type_id in ("BYNAME", "PLAIN")
            for identifier in ("Payments", "pay")
        }
        assert found == {
            ("BYNAME", "Payments"): 1,
            ("BYNAME", "pay"): 1,
            ("PLAIN", "Payments"): 0,
            ("PLAIN", "pay"): 1,
        }


NEW_API_KEY_CALLS = [
    ("GET", f"{ENTRIES}?catalog_type_id=T"),
    ("GET", f"{ENTRIES}/01MISSING"),
    ("DELETE", f"{ENTRIES}/01MISSING"),
    ("GET", "/v3/catalog_types"),
    ("GET", "/v3/catalog_types/T"),
    ("GET", "/v2/alerts"),
    ("GET", "/v2/alerts/01MISSING"),
    ("GET", "/v2/alert_sources"),
    ("GET", "/v2/alert_sources/01MISSING"),
    ("GET", "/v1/identity"),
    ("GET", "/v2/custom_fields"),
    ("GET", "/v2/custom_fields/01MISSING"),
]


@pytest.mark.parametrize(("method", "path"), NEW_API_KEY_CALLS)
def test_new_endpoints_need_the_api_key(
    sandbox: Sandbox, http: requests.Session, method: str, path: str
) -> None:
    for headers, code in (
        ({}, "missing_authorization_material"),
        ({"Authorization": "Bearer wrong"}, "invalid_authorization_material"),
    ):
        reply = http.request(method, sandbox.url + path, headers=headers)
        assert reply.status_code == 401
        body = reply.json()
        assert body["type"] == "authentication_error"
        assert body["status"] == 401
        assert body["request_id"]
        assert body["errors"][0]["code"] == code
        check_response(reply)
    assert sandbox.journal()[-1]["path"] == path.split("?", maxsplit=1)[0]
    assert sandbox.journal()[-1]["status"] == 401


def test_new_endpoints_spend_the_api_key_bucket(http: requests.Session) -> None:
    with Sandbox(
        api_key=API_KEY,
        rate_limit=True,
        bucket_capacity=len(NEW_API_KEY_CALLS),
        refill_per_second=0.001,  # no refill while the test runs
    ) as sb:
        for method, path in NEW_API_KEY_CALLS:
            reply = http.request(method, sb.url + path, headers=AUTH)
            assert reply.status_code != 429, path
            assert "X-RateLimit-Remaining" in reply.headers, path
        assert int(reply.headers["X-RateLimit-Remaining"]) == 0
        limited = http.get(f"{sb.url}/v1/identity", headers=AUTH)
        assert limited.status_code == 429
        assert limited.json()["rate_limit"]["remaining"] == 0
        check_response(limited)


TYPES = "/v3/catalog_types"


def _schema_path(type_id: str) -> str:
    return f"{TYPES}/{type_id}/actions/update_schema"


def test_a_created_type_has_no_schema_until_update_schema_gives_one(
    sandbox: Sandbox, http: requests.Session
) -> None:
    made = http.post(
        sandbox.url + TYPES,
        json={
            "name": "Service",
            "description": "from a pipeline",
            "annotations": {"target-incidentio/stream": "services"},
        },
        headers=AUTH,
    )
    assert made.status_code == 201
    check_response(made)
    kind = made.json()["catalog_type"]
    assert kind["type_name"] == 'Custom["Service"]'
    assert kind["annotations"] == {"target-incidentio/stream": "services"}
    assert kind["schema"] == {"attributes": [], "version": 1}
    path = _schema_path(kind["id"])
    first = http.post(
        sandbox.url + path,
        json={
            "version": 1,
            "attributes": [
                {"name": "tier", "type": "Number", "array": False},
                {"name": "tags", "type": "String", "array": True},
            ],
        },
        headers=AUTH,
    )
    assert first.status_code == 200
    check_response(first)
    schema = first.json()["catalog_type"]["schema"]
    assert schema["version"] == 2
    tier, tags = schema["attributes"]
    assert (tier["name"], tier["type"], tier["array"]) == ("tier", "Number", False)
    assert (tags["name"], tags["type"], tags["array"]) == ("tags", "String", True)
    # The list replaces the schema: tier kept by its id, tags left out, so it goes.
    entry = {
        "catalog_type_id": kind["id"],
        "name": "payments",
        "attribute_values": {
            tier["id"]: {"value": {"literal": "1"}},
            tags["id"]: {"array_value": [{"literal": "pci"}]},
        },
    }
    assert http.post(sandbox.url + ENTRIES, json=entry, headers=AUTH).status_code == 201
    second = http.post(
        sandbox.url + path,
        json={
            "version": 2,
            "attributes": [
                {"id": tier["id"], "name": "tier", "type": "Number", "array": False},
                {"name": "live", "type": "Bool", "array": False},
            ],
        },
        headers=AUTH,
    )
    check_response(second)
    kept, live = second.json()["catalog_type"]["schema"]["attributes"]
    assert kept["id"] == tier["id"]
    assert live["name"] == "live"
    assert live["id"] not in (tier["id"], tags["id"])
    (stored,) = sandbox.state()["catalog_entries"]
    assert set(stored["attribute_values"]) == {tier["id"]}
    listed = http.get(sandbox.url + TYPES, headers=AUTH)
    check_response(listed)
    assert [k["schema"]["version"] for k in listed.json()["catalog_types"]] == [3]


def test_update_schema_checks_the_version_ids_types_and_names(
    sandbox: Sandbox, http: requests.Session
) -> None:
    made = http.post(
        sandbox.url + TYPES, json={"name": "Team", "description": "teams"}, headers=AUTH
    )
    type_id = made.json()["catalog_type"]["id"]
    attribute = {"name": "lead", "type": "String", "array": False}
    cases = [
        ({"version": 7, "attributes": [attribute]}, "version"),
        ({"version": 1, "attributes": [{**attribute, "id": "01GHOST"}]}, "attributes[0].id"),
        (
            {"version": 1, "attributes": [{**attribute, "type": 'Custom["Nope"]'}]},
            "attributes[0].type",
        ),
        ({"version": 1, "attributes": [attribute, attribute]}, "attributes[1].name"),
    ]
    for body, field in cases:
        reply = http.post(sandbox.url + _schema_path(type_id), json=body, headers=AUTH)
        assert reply.status_code == 422, body
        assert reply.json()["errors"][0]["source"]["field"] == field
        check_response(reply)
    # A reference to another type by its type_name is a type.
    reference = {"name": "parent", "type": 'Custom["Team"]', "array": False}
    ok = http.post(
        sandbox.url + _schema_path(type_id),
        json={"version": 1, "attributes": [reference]},
        headers=AUTH,
    )
    assert ok.status_code == 200
    unknown = http.post(
        sandbox.url + _schema_path("01NOPE"), json={"version": 1, "attributes": []}, headers=AUTH
    )
    assert unknown.status_code == 404
    check_response(unknown)
    # The spec holds the body: an attribute without `array` is a 422 before the handler.
    bare = http.post(
        sandbox.url + _schema_path(type_id),
        json={"version": 2, "attributes": [{"name": "x", "type": "String"}]},
        headers=AUTH,
    )
    assert bare.status_code == 422
    twice = http.post(
        sandbox.url + TYPES,
        json={"name": "Team again", "description": "", "type_name": 'Custom["Team"]'},
        headers=AUTH,
    )
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["source"]["field"] == "type_name"


def test_creating_types_needs_the_catalog_editor_role(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, seed={"api_key_roles": {API_KEY: ["catalog_viewer"]}}) as sb:
        reply = http.post(sb.url + TYPES, json={"name": "S", "description": ""}, headers=AUTH)
        assert reply.status_code == 403
        check_response(reply)


def test_a_name_given_twice_gets_a_type_name_of_its_own(
    sandbox: Sandbox, http: requests.Session
) -> None:
    made = [
        http.post(sandbox.url + TYPES, json={"name": "Service", "description": ""}, headers=AUTH)
        for _ in range(2)
    ]
    for reply in made:
        check_response(reply)
    names = [reply.json()["catalog_type"]["type_name"] for reply in made]
    assert names == ['Custom["Service"]', 'Custom["Service2"]']
