"""Alert lifecycle endpoints: alerts listed from the events received, sources, heartbeats."""

from __future__ import annotations

import typing as t

import pytest
from sandbox_helpers import API_KEY, AUTH, SOURCE, SOURCE_AUTH, SOURCE_TOKEN, check_response

from incidentio_sandbox import Sandbox

if t.TYPE_CHECKING:
    import requests

OTHER = "01OTHERSOURCE0000000000000"
HEARTBEAT = "01HEARTBEAT000000000000000"
DATADOG = "01DATADOG00000000000000000"
SEED = {"alert_sources": [{"id": DATADOG, "name": "Datadog", "source_type": "datadog"}]}


@pytest.fixture
def sb() -> t.Iterator[Sandbox]:
    with Sandbox(
        api_key=API_KEY,
        alert_sources={SOURCE: SOURCE_TOKEN, OTHER: "other-token"},
        heartbeat_sources={HEARTBEAT: "hb-token"},
        seed=SEED,
    ) as sandbox:
        yield sandbox


def _event(sb: Sandbox, http: requests.Session, source: str, **body: t.Any) -> None:
    token = SOURCE_TOKEN if source == SOURCE else "other-token"
    reply = http.post(
        f"{sb.url}/v2/alert_events/http/{source}",
        json={"title": f"alert {body.get('deduplication_key')}", "status": "firing", **body},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 202, reply.text


def _alerts(sb: Sandbox, http: requests.Session, params: t.Any) -> requests.Response:
    reply = http.get(f"{sb.url}/v2/alerts", params=params, headers=AUTH)
    check_response(reply)
    return reply


def _keys(reply: requests.Response) -> list[str]:
    return [a["deduplication_key"] for a in reply.json()["alerts"]]


def test_alerts_follow_the_events_received(sb: Sandbox, http: requests.Session) -> None:
    _event(sb, http, SOURCE, deduplication_key="cpu", description="CPU high", source_url="u")
    _event(sb, http, SOURCE, deduplication_key="disk")
    _event(sb, http, OTHER, deduplication_key="cpu")
    _event(sb, http, SOURCE, deduplication_key="disk", status="resolved")

    everything = _alerts(sb, http, {}).json()
    assert everything["pagination_meta"] == {"page_size": 25}
    cpu, disk, other = everything["alerts"]
    assert cpu["alert_source_id"] == SOURCE  # the alert source's id is its config id
    assert other["alert_source_id"] == OTHER
    assert cpu["status"] == "firing"
    assert "resolved_at" not in cpu  # optional in the spec, never null
    assert cpu["description"] == "CPU high"
    assert cpu["source_url"] == "u"
    assert disk["status"] == "resolved"
    assert disk["resolved_at"]
    stored = {
        (a["alert_source_config_id"], a["deduplication_key"]): a for a in sb.state()["alerts"]
    }
    assert cpu["id"] == stored[(SOURCE, "cpu")]["id"]
    assert other["id"] == stored[(OTHER, "cpu")]["id"]

    cases: list[tuple[dict[str, t.Any], list[str]]] = [
        ({"status[one_of]": "firing"}, ["cpu", "cpu"]),
        ({"status[not_in]": "firing"}, ["disk"]),
        ({"alert_source[one_of]": SOURCE}, ["cpu", "disk"]),
        ({"alert_source[not_in]": SOURCE}, ["cpu"]),
        ({"deduplication_key[is]": "cpu", "alert_source[one_of]": OTHER}, ["cpu"]),
        ({"status[one_of]": ["firing", "resolved"], "deduplication_key[is]": "disk"}, ["disk"]),
        ({"deduplication_key[is]": "nothing"}, []),
    ]
    for params, expected in cases:
        assert _keys(_alerts(sb, http, params)) == expected, params

    shown = http.get(f"{sb.url}/v2/alerts/{disk['id']}", headers=AUTH)
    check_response(shown)
    assert shown.json()["alert"] == disk
    missing = http.get(f"{sb.url}/v2/alerts/NOPE", headers=AUTH)
    assert missing.status_code == 404
    check_response(missing)


def test_alerts_page_with_page_size_1_to_50(sb: Sandbox, http: requests.Session) -> None:
    for i in range(5):
        _event(sb, http, SOURCE, deduplication_key=f"k{i}")
    keys: list[str] = []
    after = None
    pages = 0
    while True:
        reply = _alerts(sb, http, {"page_size": 2, **({"after": after} if after else {})})
        keys += _keys(reply)
        pages += 1
        after = reply.json()["pagination_meta"].get("after")
        if after is None:
            break
    assert keys == [f"k{i}" for i in range(5)]
    assert pages == 3
    assert len(_keys(_alerts(sb, http, {"page_size": 50}))) == 5
    for bad in ("51", "0"):
        refused = _alerts(sb, http, {"page_size": bad})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["source"]["field"] == "page_size"


def test_alert_filters_are_judged(sb: Sandbox, http: requests.Session) -> None:
    cases = [
        ({"status": "firing"}, "status"),  # not a deep object
        ({"status[is]": "firing"}, "status[is]"),  # an operator status does not take
        ({"tags[one_of]": "noisy"}, "tags[one_of]"),  # a spec filter the sandbox cannot judge
        # The spec's schema: attributes[<attribute id>][<operator>]; one level is not enough.
        ({"attributes[one_of]": "x"}, "attributes[one_of]"),
    ]
    for params, field in cases:
        reply = _alerts(sb, http, params)
        assert reply.status_code == 422, params
        assert field in [e["source"]["field"] for e in reply.json()["errors"]], reply.text
    schema_error = _alerts(sb, http, {"attributes[one_of]": "x"}).json()["errors"][0]
    assert "is not of type 'object'" in schema_error["message"]
    assert sb.journal()[-1]["applied"] is False


def test_alert_sources_are_the_configured_sources(sb: Sandbox, http: requests.Session) -> None:
    listed = http.get(f"{sb.url}/v2/alert_sources", headers=AUTH)
    check_response(listed)
    sources = {s["id"]: s for s in listed.json()["alert_sources"]}
    assert set(sources) == {SOURCE, OTHER, DATADOG, HEARTBEAT}
    http_source = sources[SOURCE]
    assert http_source["source_type"] == "http"
    assert http_source["alert_events_url"] == f"{sb.url}/v2/alert_events/http/{SOURCE}"
    assert http_source["secret_token"] == SOURCE_TOKEN
    assert sources[DATADOG]["source_type"] == "datadog"
    assert sources[DATADOG]["name"] == "Datadog"
    assert "alert_events_url" not in sources[DATADOG]
    heartbeat = sources[HEARTBEAT]
    assert heartbeat["source_type"] == "heartbeat"
    assert heartbeat["heartbeat_options"]["ping_url"] == f"{sb.url}/v2/heartbeat/{HEARTBEAT}/ping"

    shown = http.get(f"{sb.url}/v2/alert_sources/{DATADOG}", headers=AUTH)
    check_response(shown)
    assert shown.json()["alert_source"] == sources[DATADOG]
    missing = http.get(f"{sb.url}/v2/alert_sources/NOPE", headers=AUTH)
    assert missing.status_code == 404
    check_response(missing)


def test_only_http_sources_take_events(sb: Sandbox, http: requests.Session) -> None:
    event = {"title": "t", "status": "firing"}
    for source, token in ((DATADOG, "anything"), (HEARTBEAT, "hb-token")):
        reply = http.post(
            f"{sb.url}/v2/alert_events/http/{source}",
            json=event,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 404
        assert reply.json()["errors"][0]["source"]["field"] == "alert_source_config_id"
    assert sb.state()["counts"]["alert_events"] == 0


def test_heartbeat_pings(http: requests.Session) -> None:
    with Sandbox(
        api_key=API_KEY,
        heartbeat_sources={HEARTBEAT: "hb-token"},
        rate_limit=True,
        alert_bucket_capacity=1,
        alert_refill_per_second=0.001,
        seed=SEED,
    ) as sb:
        url = f"{sb.url}/v2/heartbeat/{HEARTBEAT}/ping"
        answers = [
            http.post(url, headers={"Authorization": "Bearer hb-token"}),
            http.get(url, params={"token": "hb-token"}),
            http.post(url, params={"token": "hb-token"}),  # no rate limit on pings
        ]
        for reply in answers:
            assert reply.status_code == 204
            assert reply.content == b""
            check_response(reply)
        for headers, params, status in (
            ({}, {}, 401),
            ({"Authorization": "Bearer wrong"}, {}, 401),
            ({}, {"token": "wrong"}, 401),
            ({"Authorization": f"Bearer {API_KEY}"}, {}, 401),  # an API key is not the token
        ):
            refused = http.post(url, headers=headers, params=params)
            assert refused.status_code == status
            assert refused.json()["type"] == "authentication_error"
            check_response(refused)
        for other in ("NOPE", DATADOG, "01SANDBOXALERTSOURCE000000"):
            missing = http.post(
                f"{sb.url}/v2/heartbeat/{other}/ping", headers={"Authorization": "Bearer hb-token"}
            )
            assert missing.status_code == 404, other
            check_response(missing)
        state = sb.state()
        assert state["counts"]["heartbeat_pings"] == 3
        assert [p["method"] for p in state["heartbeat_pings"]] == ["POST", "GET", "POST"]
        assert {p["heartbeat_source_id"] for p in state["heartbeat_pings"]} == {HEARTBEAT}
        journal = sb.journal(path=f"/v2/heartbeat/{HEARTBEAT}/ping")
        assert journal[1]["query"] == {"token": "***"}
        assert journal[0]["headers"]["Authorization"] == "Bearer ***"
        assert [e["endpoint"] for e in journal[:3]] == ["heartbeat_ping"] * 3


def test_source_auth_answers_check_against_the_spec(sb: Sandbox, http: requests.Session) -> None:
    reply = http.post(
        f"{sb.url}/v2/alert_events/http/{SOURCE}",
        json={"title": "t", "status": "firing"},
        headers=SOURCE_AUTH,
    )
    assert reply.status_code == 202
    check_response(reply)
