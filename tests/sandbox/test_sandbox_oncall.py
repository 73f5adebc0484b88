"""On-call as the spec describes it: users, schedules with rotations and layers, escalation
paths, schedule overrides with the rules of a layer (no overlap; a neighbour covered is
deleted and its leftover time comes back with new ids; no reassignment), and escalations
made once per idempotency key and limited to 60 per minute."""

from __future__ import annotations

import json
import math
import time
import typing as t
from pathlib import Path

import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest
from sandbox_helpers import API_KEY, AUTH, check_body, check_response

from incidentio_sandbox import Sandbox, Seed

if t.TYPE_CHECKING:
    import requests

ANN, BOB, CAT, DAN = "01UANN", "01UBOB", "01UCAT", "01UDAN"
PRIMARY, ROTA, DAY, SHADOW = "01SPRIMARY", "01RWEEKLY", "01LDAY", "01LSHADOW"
NIGHTS = "01RNIGHTS"
PATH = "01EPAYMENTS"
SEED: dict[str, t.Any] = {
    "users": [
        {"id": ANN, "name": "Ann", "email": "ann@example.com"},
        {"id": BOB, "name": "Bob", "email": "bob@example.com", "slack_user_id": "UBOB"},
        {"id": CAT, "name": "Cat", "email": "cat@example.com"},
        {"id": DAN, "name": "Dan", "email": "dan@example.com", "is_active": False},
    ],
    "schedules": [
        {
            "id": PRIMARY,
            "name": "Primary",
            "timezone": "Europe/London",
            "rotations": [
                {
                    "id": ROTA,
                    "name": "Weekly",
                    "user_ids": [ANN, BOB],
                    "layers": [{"id": DAY, "name": "Day"}, {"id": SHADOW, "name": "Shadow"}],
                },
                {"id": NIGHTS, "name": "Nights", "user_ids": [CAT]},
            ],
        },
        {"id": "01SOTHER", "name": "Other"},
    ],
    "escalation_paths": [{"id": PATH, "name": "Payments urgent", "user_ids": [ANN, BOB]}],
}


@pytest.fixture
def oncall() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def _get(sb: Sandbox, http: requests.Session, path: str, **query: t.Any) -> requests.Response:
    reply = http.get(f"{sb.url}{path}", params=query, headers=AUTH)
    check_response(reply)
    return reply


def _send(
    sb: Sandbox, http: requests.Session, method: str, path: str, body: t.Any = None
) -> requests.Response:
    reply = http.request(method, f"{sb.url}{path}", json=body, headers=AUTH)
    check_response(reply)
    return reply


def _at(hour: int, day: int = 10) -> str:
    return f"2030-06-{day:02d}T{hour:02d}:00:00Z"


def _override(sb: Sandbox, http: requests.Session, start: int, end: int, **user: str) -> dict:
    body = {
        "schedule_id": PRIMARY,
        "rotation_id": ROTA,
        "layer_id": DAY,
        "start_at": _at(start),
        "end_at": _at(end),
        "user": user or {"email": "ann@example.com"},
    }
    reply = _send(sb, http, "POST", "/v2/schedule_overrides", body)
    assert reply.status_code == 201, reply.text
    return t.cast("dict", reply.json()["override"])


def _windows(sb: Sandbox, http: requests.Session, layer: str = DAY) -> list[tuple[str, str, str]]:
    reply = _get(sb, http, "/v2/schedule_overrides", schedule_id=PRIMARY, layer_id=layer)
    overrides = reply.json()["overrides"]
    return sorted((o["start_at"][11:16], o["end_at"][11:16], o["user"]["name"]) for o in overrides)


def test_schedules_carry_their_rotations_and_layers(
    oncall: Sandbox, http: requests.Session
) -> None:
    reply = _get(oncall, http, "/v2/schedules")
    schedules = {s["name"]: s for s in reply.json()["schedules"]}
    assert reply.json()["pagination_meta"]["total_record_count"] == 2
    rotations = schedules["Primary"]["config"]["rotations"]
    assert [(r["name"], [layer["name"] for layer in r["layers"]]) for r in rotations] == [
        ("Weekly", ["Day", "Shadow"]),
        ("Nights", ["Layer 1"]),  # a rotation seeded without layers has one
    ]
    assert [u["name"] for u in rotations[0]["users"]] == ["Ann", "Bob"]
    assert schedules["Primary"]["timezone"] == "Europe/London"
    one = _get(oncall, http, f"/v2/schedules/{PRIMARY}").json()["schedule"]
    assert one == schedules["Primary"]
    first = _get(oncall, http, "/v2/schedules", page_size=1).json()
    rest = _get(oncall, http, "/v2/schedules", after=first["pagination_meta"]["after"]).json()
    assert len(first["schedules"]) == len(rest["schedules"]) == 1
    assert _get(oncall, http, "/v2/schedules/01SNOPE").status_code == 404


def test_users_are_paged_and_found_by_email(oncall: Sandbox, http: requests.Session) -> None:
    names: list[str] = []
    after: str | None = None
    while True:
        query = {"page_size": 2, **({"after": after} if after else {})}
        page = _get(oncall, http, "/v2/users", **query).json()
        names += [u["name"] for u in page["users"]]
        after = page["pagination_meta"].get("after")
        if after is None:
            break
    assert names == ["Ann", "Bob", "Cat"]  # Dan is inactive
    everyone = _get(oncall, http, "/v2/users", include_inactive="true").json()["users"]
    assert [u["name"] for u in everyone] == ["Ann", "Bob", "Cat", "Dan"]
    (bob,) = _get(oncall, http, "/v2/users", email="BOB@example.com").json()["users"]
    assert (bob["id"], bob["base_role"]["slug"], bob["is_active"]) == (BOB, "responder", True)
    assert _get(oncall, http, "/v2/users", slack_user_id="UBOB").json()["users"] == [bob]
    assert _get(oncall, http, "/v2/users", email="nobody@example.com").json()["users"] == []
    assert _get(oncall, http, f"/v2/users/{BOB}").json()["user"] == bob
    assert _get(oncall, http, "/v2/users/01UNOPE").status_code == 404


def test_escalation_paths(oncall: Sandbox, http: requests.Session) -> None:
    (path,) = _get(oncall, http, "/v2/escalation_paths").json()["escalation_paths"]
    assert (path["id"], path["name"], path["kind"]) == (PATH, "Payments urgent", "standalone")
    targets = path["path"][0]["level"]["targets"]
    assert [(x["type"], x["id"]) for x in targets] == [("user", ANN), ("user", BOB)]
    assert _get(oncall, http, f"/v2/escalation_paths/{PATH}").json()["escalation_path"] == path


def test_an_override_takes_its_user_by_email_or_id_and_lists_in_utc(
    oncall: Sandbox, http: requests.Session
) -> None:
    body = {
        "schedule_id": PRIMARY,
        "rotation_id": ROTA,
        "layer_id": DAY,
        "start_at": "2030-06-10T11:00:00+02:00",  # another offset: stored as the same instant
        "end_at": "2030-06-10T12:00:00+02:00",
        "user": {"email": "ANN@example.com"},
    }
    made = _send(oncall, http, "POST", "/v2/schedule_overrides", body).json()["override"]
    assert (made["start_at"], made["end_at"]) == (_at(9), _at(10))
    assert made["user"]["id"] == ANN
    by_id = _override(oncall, http, 10, 11, id=BOB)
    assert by_id["user"]["name"] == "Bob"
    listed = _get(oncall, http, "/v2/schedule_overrides", schedule_id=PRIMARY).json()
    assert [o["id"] for o in listed["overrides"]] == [made["id"], by_id["id"]]
    shown = _get(oncall, http, f"/v2/schedule_overrides/{made['id']}").json()["override"]
    assert shown == made
    paged = _get(oncall, http, "/v2/schedule_overrides", schedule_id=PRIMARY, page_size=1).json()
    assert paged["pagination_meta"]["after"] == made["id"]
    assert _windows(oncall, http, SHADOW) == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"schedule_id": "01SNOPE"}, 404, "schedule_id"),
        ({"rotation_id": "01RNOPE"}, 422, "rotation_id"),
        ({"layer_id": "01LNOPE"}, 422, "layer_id"),
        ({"layer_id": SHADOW, "rotation_id": NIGHTS}, 422, "layer_id"),
        ({"user": {"email": "nobody@example.com"}}, 422, "user"),
        ({"end_at": _at(8)}, 422, "end_at"),
        ({"start_at": "2030-06-10T09:00:00"}, 422, "start_at"),  # no offset
    ],
)
def test_an_override_the_account_cannot_place_is_refused(
    oncall: Sandbox, http: requests.Session, change: dict[str, t.Any], status: int, field: str
) -> None:
    body = {
        "schedule_id": PRIMARY,
        "rotation_id": ROTA,
        "layer_id": DAY,
        "start_at": _at(9),
        "end_at": _at(10),
        "user": {"id": ANN},
        **change,
    }
    reply = _send(oncall, http, "POST", "/v2/schedule_overrides", body)
    assert reply.status_code == status, reply.text
    assert reply.json()["errors"][0]["source"]["field"] == field
    assert oncall.state()["counts"]["schedule_overrides"] == 0


def test_an_override_over_a_neighbour_deletes_it_and_its_rest_comes_back_with_new_ids(
    oncall: Sandbox, http: requests.Session
) -> None:
    first = _override(oncall, http, 8, 18)  # Ann, 08-18
    touching = _override(oncall, http, 18, 20, id=CAT)  # ends where the next starts: no overlap
    same = _override(oncall, http, 8, 18)  # the same window again: the first is covered whole
    assert _get(oncall, http, f"/v2/schedule_overrides/{first['id']}").status_code == 404
    lunch = _override(oncall, http, 12, 14, id=BOB)  # splits `same` in two
    assert _windows(oncall, http) == [
        ("08:00", "12:00", "Ann"),
        ("12:00", "14:00", "Bob"),
        ("14:00", "18:00", "Ann"),
        ("18:00", "20:00", "Cat"),
    ]
    ids = {o["id"] for o in oncall.state()["schedule_overrides"]}
    assert same["id"] not in ids  # its two parts carry new ids
    assert len(ids - {lunch["id"], touching["id"]}) == 2
    # Another layer is another timeline.
    shadow = {
        "schedule_id": PRIMARY,
        "rotation_id": ROTA,
        "layer_id": SHADOW,
        "start_at": _at(12),
        "end_at": _at(14),
        "user": {"id": BOB},
    }
    assert _send(oncall, http, "POST", "/v2/schedule_overrides", shadow).status_code == 201
    assert _windows(oncall, http, SHADOW) == [("12:00", "14:00", "Bob")]
    assert len(_windows(oncall, http)) == 4


def test_widening_an_override_takes_its_neighbours_time_and_keeps_its_user(
    oncall: Sandbox, http: requests.Session
) -> None:
    morning = _override(oncall, http, 8, 12)
    lunch = _override(oncall, http, 12, 14, id=BOB)
    evening = _override(oncall, http, 14, 18)
    wider = {
        "rotation_id": ROTA,
        "layer_id": DAY,
        "start_at": _at(11),
        "end_at": _at(15),
        "user": {"email": "bob@example.com"},
    }
    reply = _send(oncall, http, "PUT", f"/v2/schedule_overrides/{lunch['id']}", wider)
    assert reply.status_code == 200, reply.text
    assert reply.json()["override"]["id"] == lunch["id"]
    assert _windows(oncall, http) == [
        ("08:00", "11:00", "Ann"),
        ("11:00", "15:00", "Bob"),
        ("15:00", "18:00", "Ann"),
    ]
    for gone in (morning, evening):  # an id held from before the write no longer resolves
        assert _get(oncall, http, f"/v2/schedule_overrides/{gone['id']}").status_code == 404
    reassigned = _send(
        oncall,
        http,
        "PUT",
        f"/v2/schedule_overrides/{lunch['id']}",
        {**wider, "user": {"id": ANN}},
    )
    assert reassigned.status_code == 422
    assert reassigned.json()["errors"][0]["source"]["field"] == "user"
    assert "cannot be reassigned" in reassigned.json()["errors"][0]["message"]


def test_a_delete_succeeds_again_and_the_override_is_gone(
    oncall: Sandbox, http: requests.Session
) -> None:
    made = _override(oncall, http, 8, 9)
    for _ in range(2):
        reply = _send(oncall, http, "DELETE", f"/v2/schedule_overrides/{made['id']}")
        assert reply.status_code == 204
    assert _get(oncall, http, f"/v2/schedule_overrides/{made['id']}").status_code == 404
    assert _windows(oncall, http) == []
    assert _send(oncall, http, "DELETE", "/v2/schedule_overrides/01NEVER").status_code == 404
    assert oncall.state()["counts"]["schedule_overrides_deleted"] == 1


def _escalate(sb: Sandbox, http: requests.Session, key: str, **body: t.Any) -> requests.Response:
    return _send(
        sb, http, "POST", "/v2/escalations", {"idempotency_key": key, "title": "DQ", **body}
    )


def test_escalations_page_a_path_or_users_once_per_key(
    oncall: Sandbox, http: requests.Session
) -> None:
    incident = _send(
        oncall,
        http,
        "POST",
        "/v2/incidents",
        {"idempotency_key": "i", "visibility": "public", "name": "Orders late"},
    ).json()["incident"]
    by_path = _escalate(oncall, http, "dq-1", escalation_path_id=PATH, incident_id=incident["id"])
    assert by_path.status_code == 201, by_path.text
    escalation = by_path.json()["escalation"]
    notified = next(e for e in escalation["events"] if e["event"] == "notified_users")
    assert [u["name"] for u in notified["users"]] == ["Ann", "Bob"]
    assert escalation["escalation_path_id"] == PATH
    assert escalation["related_incidents"][0]["reference"] == incident["reference"]
    assert escalation["related_incidents"][0]["status_category"] == "active"
    again = _escalate(oncall, http, "dq-1", user_ids=[CAT], title="changed")
    assert again.json()["escalation"] == escalation  # the first, unchanged: nobody paged twice
    by_users = _escalate(oncall, http, "dq-2", user_ids=[CAT]).json()["escalation"]
    assert "escalation_path_id" not in by_users
    assert oncall.state()["counts"]["escalations"] == 2
    shown = _get(oncall, http, f"/v2/escalations/{escalation['id']}").json()["escalation"]
    assert shown == escalation
    found = _get(oncall, http, "/v2/escalations", **{"idempotency_key[is]": "dq-2"}).json()
    assert [e["id"] for e in found["escalations"]] == [by_users["id"]]
    on_path = _get(oncall, http, "/v2/escalations", **{"escalation_path[one_of]": PATH}).json()
    assert [e["id"] for e in on_path["escalations"]] == [escalation["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"escalation_path_id": PATH, "user_ids": [ANN]}, 422, "escalation_path_id"),
        ({}, 422, "escalation_path_id"),
        ({"escalation_path_id": "01ENOPE"}, 404, "escalation_path_id"),
        ({"user_ids": [ANN, "01UNOPE"]}, 422, "user_ids[1]"),
        ({"user_ids": [ANN], "incident_id": "01INOPE"}, 404, "incident_id"),
    ],
)
def test_an_escalation_names_a_path_or_users_of_the_account(
    oncall: Sandbox, http: requests.Session, body: dict[str, t.Any], status: int, field: str
) -> None:
    reply = _escalate(oncall, http, "bad", **body)
    assert reply.status_code == status, reply.text
    assert reply.json()["errors"][0]["source"]["field"] == field
    assert oncall.state()["counts"]["escalations"] == 0


def test_escalations_are_limited_to_60_a_minute_per_key(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, seed=SEED, rate_limit=True) as sb:
        started = time.monotonic()
        accepted = 0
        while (reply := _escalate(sb, http, f"k{accepted}", user_ids=[ANN])).status_code == 201:
            accepted += 1
            assert accepted <= 120, "no 429 came"
        elapsed = time.monotonic() - started
        # A burst of 60, then one a second (60 a minute) while the burst was being sent.
        assert 60 <= accepted <= 60 + math.ceil(elapsed) + 1
        assert reply.status_code == 429
        assert int(reply.headers["Retry-After"]) >= 1
        assert reply.json()["rate_limit"]["limit"] == 60
        assert reply.json()["rate_limit"]["name"] == "create_escalation"
        # The key's own budget (1200) is apart from the endpoint's, and the headers say so.
        assert reply.headers["X-RateLimit-Limit"].startswith("1200")
        assert _get(sb, http, "/v2/users").status_code == 200
        assert sb.state()["counts"]["escalations"] == accepted


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", f"/v2/schedules/{PRIMARY}", "schedules.view"),
        ("POST", "/v2/schedule_overrides", "schedule_overrides.create"),
        ("POST", "/v2/escalations", "escalations.create"),
        ("GET", "/v2/escalation_paths", "escalation_paths.view"),
    ],
)
def test_a_key_without_the_on_call_roles_is_refused_naming_the_scope(
    http: requests.Session, method: str, path: str, scope: str
) -> None:
    seed = {**SEED, "api_key_roles": {API_KEY: ["viewer"]}}
    with Sandbox(api_key=API_KEY, seed=seed) as sb:
        reply = http.request(method, f"{sb.url}{path}", json={}, headers=AUTH)
        check_response(reply)
        assert reply.status_code == 403
        assert scope in reply.json()["errors"][0]["message"]
        assert _get(sb, http, "/v2/users").status_code == 200  # users.view: a viewer's


def test_the_demo_seed_has_schedules_users_and_a_path() -> None:
    path = Path(__file__).parents[2] / "examples" / "sandbox-seed.json"
    seed = Seed.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert len(seed.schedules) >= 2
    assert {u.id for u in seed.users} >= {
        u for s in seed.schedules for r in s.rotations for u in r.user_ids
    }
    assert seed.escalation_paths
    assert Seed.from_json(seed.to_json()) == seed


def test_the_shape_check_is_live_for_overrides(oncall: Sandbox, http: requests.Session) -> None:
    made = _override(oncall, http, 8, 9)
    request = MockRequest(oncall.url, "get", f"/v2/schedule_overrides/{made['id']}")
    check_body(request, 200, json.dumps({"override": made}).encode(), "application/json")
    for wrong in (
        {k: v for k, v in made.items() if k != "layer_id"},
        {**made, "user": {"email": "ann@example.com"}},  # the request's shape, not UserV2
    ):
        with pytest.raises(OpenAPIError):
            check_body(request, 200, json.dumps({"override": wrong}).encode(), "application/json")
